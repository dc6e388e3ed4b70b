"""The parts of a person's export: one JSON file each, from a function giving the person's rows.

Declared, not discovered: this module registers DayFlow's own parts; another app adds its own
in its AppConfig.ready, e.g. ``parts.register("invoices.json", lambda user:
Invoice.objects.filter(user=user))``. Whatever a part lists, a field whose name looks
secret (tokens, secrets, passwords, digests, signatures) is never written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

Rows = Callable[[Any], QuerySet]

# Field names that may hold a secret: left out of every part, whichever model it reads.
SECRET_NAME = re.compile(r"token|secret|password|passwd|digest|signature|salt|^key$|credential")


@dataclass(frozen=True)
class Part:
    filename: str
    rows: Rows
    fields: tuple[str, ...] | None = None  # None: every concrete field that is not secret

    def records(self, user: Any) -> Iterator[dict[str, Any]]:
        queryset = self.rows(user)
        names = [
            field.attname
            for field in queryset.model._meta.concrete_fields
            if (self.fields is None or field.name in self.fields)
            and not SECRET_NAME.search(field.name)
        ]
        yield from queryset.order_by("pk").values(*names).iterator(chunk_size=500)


PARTS: dict[str, Part] = {}
FILENAME = re.compile(r"^[a-z0-9_]{1,50}\.json$")


def register(filename: str, rows: Rows, fields: tuple[str, ...] | None = None) -> None:
    """Add (or replace) a part of every export."""
    if not FILENAME.match(filename):
        raise ValueError(f"an export part's file name must match {FILENAME.pattern}: {filename!r}")
    PARTS[filename] = Part(filename, rows, fields)


def register_defaults() -> None:
    from django.contrib.auth import get_user_model

    from audit.models import AuditEvent
    from dayflow.models import ApiToken, Calendar, Event, Profile, Task, TaskList
    from integrations.models import Connection
    from notifications.models import EmailPreference, Notification
    from privacy.models import Consent, ExportRequest
    from security.models import SecurityAlert
    from sync.models import Conflict, ItemLink, JournalEntry, SyncJob, SyncLink

    user_fields = ("id", "username", "first_name", "last_name", "email", "date_joined")
    register("profile.json", lambda u: get_user_model().objects.filter(pk=u.pk), user_fields)
    register("profile_settings.json", lambda u: Profile.objects.filter(user=u))
    register("email_preferences.json", lambda u: EmailPreference.objects.filter(user=u))
    register("connections.json", lambda u: Connection.objects.for_user(u))
    register("consents.json", lambda u: Consent.objects.for_user(u))
    register("tasks.json", lambda u: Task.all_objects.for_user(u))
    register("events.json", lambda u: Event.all_objects.for_user(u))
    register("lists.json", lambda u: TaskList.objects.for_user(u))
    register("calendars.json", lambda u: Calendar.objects.for_user(u))
    register("sync_links.json", lambda u: SyncLink.objects.for_user(u))
    register("links.json", lambda u: ItemLink.objects.filter(connection__user=u))
    register("journal.json", lambda u: JournalEntry.objects.filter(connection__user=u))
    register("conflicts.json", lambda u: Conflict.objects.for_user(u))
    register("jobs.json", lambda u: SyncJob.objects.for_user(u))
    register("audit_events.json", lambda u: AuditEvent.objects.filter(_audit_of(u)))
    register("notifications.json", lambda u: Notification.objects.for_user(u))
    register("security_alerts.json", lambda u: SecurityAlert.objects.filter(user=u))
    token_fields = ("id", "name", "created", "expiry", "last_used_at")
    register("api_tokens.json", lambda u: ApiToken.objects.for_user(u), token_fields)
    export_fields = ("id", "status", "created_at", "finished_at", "expires_at")
    register("exports.json", lambda u: ExportRequest.objects.for_user(u), export_fields)


def _audit_of(user: Any) -> Q:
    """What the person did, and what was done to their connections (by the system too)."""
    from integrations.models import Connection

    connections = Connection.objects.for_user(user).values("pk")
    return Q(actor=user) | Q(connection_id__in=connections)
