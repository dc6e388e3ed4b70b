"""`manage.py verify_audit`: check the audit chain from its newest checkpoint, record the result
(AuditVerification), report the first broken link and exit non-zero when there is one."""

from django.core.management.base import BaseCommand, CommandError

from audit.chain import verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain and report the first broken link."

    def handle(self, *args, **options) -> None:
        verdict = verify()
        start = (
            f"from the checkpoint after event {verdict.since_checkpoint}"
            if verdict.since_checkpoint is not None
            else "from the first event"
        )
        summary = (
            f"{verdict.rows_checked} events checked {start}; {verdict.anonymized} anonymized "
            "(their links checked, their content not)"
        )
        if not verdict.ok:
            raise CommandError(
                f"audit chain broken at event {verdict.first_bad_id}: {verdict.problem}. {summary}"
            )
        self.stdout.write(f"audit chain intact: {summary}")
