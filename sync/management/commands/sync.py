"""`python manage.py sync <connection id> [--full] [--dry-run] [--inline]`"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from integrations.actions import ActionRefused
from integrations.models import Connection
from sync import engine, services
from sync.models import SyncJob


class Command(BaseCommand):
    help = "Queue (or with --inline, run here and now) a sync of one connection."
    # The system checks import every URLconf, view and template tag library (about half of
    # this command's CPU) and find nothing a sync depends on: `manage.py check`, `migrate`,
    # the web server and the deploy's checks run them.
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("connection", type=int, help="the connection's id")
        parser.add_argument("--full", action="store_true", help="a full listing, not incremental")
        parser.add_argument("--dry-run", action="store_true", help="report only, change nothing")
        parser.add_argument("--inline", action="store_true", help="run in this process")

    def handle(self, *args, connection: int, full: bool, dry_run: bool, inline: bool, **options):
        kind = SyncJob.Kind.FULL if full else SyncJob.Kind.INCREMENTAL
        found = Connection.objects.filter(pk=connection).first()
        if found is None:
            raise CommandError(f"connection {connection} does not exist")
        try:
            job = services.sync_now(
                found, trigger=SyncJob.Trigger.COMMAND, preview=dry_run, kind=kind
            )
        except ActionRefused as refused:
            raise CommandError(f"connection {connection} must not sync now: {refused}") from None
        if not inline:
            self.stdout.write(f"queued sync job {job.pk} ({job.kind})")
            return
        outcome = engine.run_job(job.pk)
        job.refresh_from_db()
        self.stdout.write(f"sync job {job.pk}: {outcome.status}")
        self.stdout.write(json.dumps({**job.counters(), **job.report}, sort_keys=True))
        if job.status == SyncJob.Status.FAILED:
            raise CommandError(job.error)
