"""First-run setup for the run command: the shared cache table and a demo account."""

import secrets

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
            self.stdout.write(f"Demo account: {DEMO_USERNAME} (password printed on first run)")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(DEMO_USERNAME, "demo@example.com", password)
        self.stdout.write(self.style.SUCCESS(f"Demo account created: {DEMO_USERNAME} / {password}"))
        self.stdout.write(f"Open {settings.PUBLIC_URL}/accounts/login/ to log in.")
