"""`manage.py export_user_data <username> [--now]`: queue an export of a person's data (as
"Download your data" does), or with `--now` build it here and print its file's path."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from privacy import tasks
from privacy.export import ExportInProgress, request_export
from privacy.management.commands._people import person
from privacy.models import ExportRequest


class Command(BaseCommand):
    help = "Export everything DayFlow holds about a person, as a zip of JSON files."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--now", action="store_true", help="build it here, not in a worker")

    def handle(self, *args, **options) -> None:
        user = person(options["username"])
        try:
            # Built inside the transaction, the task queued on commit finds it done and stops.
            with transaction.atomic():
                export = request_export(user)
                if options["now"]:
                    tasks.build_export(export.pk)
        except ExportInProgress as exc:
            raise CommandError(str(exc)) from exc
        export.refresh_from_db()
        if not options["now"]:
            self.stdout.write(f"export {export.pk} queued: a worker builds it")
            return
        if export.status != ExportRequest.Status.READY:
            raise CommandError(f"export {export.pk} failed (see the log)")
        self.stdout.write(export.file_path)
