"""`manage.py sandbox_caldav <folder>`: give every DayFlow user an account at the sandbox's
CalDAV server (integrations/sandbox/caldav_accounts.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from integrations.sandbox.caldav_accounts import seed


class Command(BaseCommand):
    help = "Give every DayFlow user an account with a calendar at the sandbox CalDAV server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="Radicale's filesystem_folder")

    def handle(self, *args: Any, **options: Any) -> None:
        today = dt.datetime.now(dt.UTC).date()
        for username in get_user_model().objects.values_list("username", flat=True):
            if seed(options["folder"], username, today):
                self.stdout.write(f"sandbox CalDAV account: {username}")
