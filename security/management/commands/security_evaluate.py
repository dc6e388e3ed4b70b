"""`manage.py security_evaluate`: run the monitoring rules now, as the beat does: the rules over
the audit events written since the last run, then the hourly usage check. Staff are emailed
each new alert, as from the beat."""

from django.core.management.base import BaseCommand

from security import tasks


class Command(BaseCommand):
    help = "Run the security monitoring rules now and report the alerts they opened."

    def handle(self, *args, **options) -> None:
        from_events = tasks.evaluate()
        from_usage = tasks.check_usage()
        self.stdout.write(
            f"security rules: {from_events} alert(s) opened from the audit events, "
            f"{from_usage} from the usage check"
        )
