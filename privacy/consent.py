"""Recording consent: what a person granted when connecting an account."""

from __future__ import annotations

import re
from typing import Any

from django.utils import timezone

from audit.writer import client_ip
from integrations.models import Connection, Credential
from privacy.models import Consent

# What an app password lets us do: CalDAV has no scopes, the password opens the calendars.
APP_PASSWORD = "calendars (app password)"
MAX_SCOPES = 50


def granted_scopes(connection: Connection) -> list[str]:
    """The scopes the service says it granted (the token response's `scope`), else what we
    asked for (a service that does not echo them grants what was asked or nothing)."""
    credential = Credential.objects.filter(connection=connection).first()
    if credential is not None and credential.app_password:
        return [APP_PASSWORD]
    stored = credential.scopes if credential is not None else ""
    scopes = re.split(r"[\s,]+", stored.strip()) if stored.strip() else []
    if not scopes:
        scopes = list(connection.service.provider.scopes)
    return sorted({scope[:200] for scope in scopes})[:MAX_SCOPES]


def record_consent(connection: Connection, *, request: Any = None) -> Consent | None:
    """A new consent when the connection has none yet or its scopes changed; None otherwise."""
    scopes = granted_scopes(connection)
    latest = Consent.objects.filter(connection=connection).order_by("-granted_at", "-id").first()
    if latest is not None and latest.scopes == scopes:
        return None
    return Consent.objects.create(
        user_id=connection.user_id,
        connection=connection,
        service_key=connection.service.key,
        scopes=scopes,
        granted_at=timezone.now(),
        ip_address=client_ip(request) if request is not None else None,
    )
