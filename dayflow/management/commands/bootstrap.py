"""First-run setup for the run command: the shared cache table and a demo account."""

import secrets
import sys
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_USERNAME = "demo"


class Command(BaseCommand):
    help = (
        "Create the cache table and, on first run, a demo account (its password is printed once)."
    )

    def handle(self, *args, **options) -> None:
        call_command("createcachetable", verbosity=0)
        User = get_user_model()
        if User.objects.filter(username=DEMO_USERNAME).exists():
            self.stdout.write(
                f"Demo account: {DEMO_USERNAME} (its password was printed on first run)"
            )
            command = f"{python_command()} manage.py changepassword {DEMO_USERNAME}"
            self.stdout.write(f"To set a new password: {command}")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(DEMO_USERNAME, "demo@example.com", password)
        self.stdout.write(self.style.SUCCESS(f"Demo account created: {DEMO_USERNAME} / {password}"))


def python_command() -> str:
    """This interpreter as the user would type it from the project folder (`.venv/bin/python`)."""
    executable = Path(sys.executable)
    if executable.is_relative_to(settings.BASE_DIR):
        return str(executable.relative_to(settings.BASE_DIR))
    return str(executable)
