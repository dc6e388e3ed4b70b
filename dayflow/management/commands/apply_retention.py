"""`manage.py apply_retention [--policy NAME] [--dry-run]`: run the retention policies now (the
same tasks the beat runs daily) and print the rows each removed; `--dry-run` prints how many
rows each would remove, and removes nothing."""

from collections.abc import Callable

from django.core.management.base import BaseCommand

from dayflow import retention
from security import compliance
from security.tasks import delete_old_alerts

RUNS: dict[str, Callable[[], int]] = {
    retention.INBOX: retention.retain_inbox,
    retention.JOURNAL: retention.retain_journal,
    retention.JOBS: retention.retain_jobs,
    retention.AUDIT: retention.retain_audit,
    compliance.ALERTS: delete_old_alerts,
}


class Command(BaseCommand):
    help = "Run the retention policies now (all, or one with --policy)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--policy", choices=compliance.POLICIES, help="only this policy")
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be removed, remove nothing"
        )

    def handle(self, *args, **options) -> None:
        chosen = [options["policy"]] if options["policy"] else list(compliance.POLICIES)
        if options["dry_run"]:
            for status in compliance.retention_status():
                if status.policy in chosen:
                    self.stdout.write(
                        f"{status.policy} ({status.days} days): {status.past_limit} rows past "
                        "the limit (dry run: nothing removed)"
                    )
            return
        for policy in chosen:
            removed = RUNS[policy]()
            days = compliance.policy_days(policy)
            self.stdout.write(f"{policy} ({days} days): {removed} rows removed")
