"""Register DayFlow at every emulated service (idempotent)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from integrations.sandbox import clients


class Command(BaseCommand):
    help = "Register DayFlow's OAuth client and app webhooks at each sandbox service."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--linear-webhook-secret",
            default=settings.WEBHOOKS_LINEAR_APP_SECRET,
            help="the signing secret of Linear's app webhook (LINEAR_WEBHOOK_SECRET)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        registered = clients.register(settings.PUBLIC_URL, options["linear_webhook_secret"])
        for client in registered:
            self.stdout.write(f"{client.service}: client_id={client.client_id}")
