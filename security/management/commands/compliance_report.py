"""`manage.py compliance_report [--format text|csv] [--output FILE]`: the staff compliance
report (`security.compliance`) as text or CSV, on stdout or into a file."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from security import compliance


class Command(BaseCommand):
    help = (
        "Report users, connections per service, open security alerts, retention status and the "
        "last audit verification."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--format", choices=("text", "csv"), default="text")
        parser.add_argument("--output", metavar="FILE", help="write here instead of stdout")

    def handle(self, *args, **options) -> None:
        report = compliance.build()
        text = (
            compliance.as_csv(report) if options["format"] == "csv" else compliance.as_text(report)
        )
        if not options["output"]:
            self.stdout.write(text, ending="")
            return
        path = Path(options["output"])
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror}") from exc
        self.stdout.write(f"compliance report written to {path}")
