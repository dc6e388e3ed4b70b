"""A person's activity: their audit trail, the sync journal of their connections, the conflicts
raised and the security alerts about their account, as ONE timeline, newest first.

Each source is one query of at most a page (plus one) of rows before the cursor; the rows are
merged in Python and cut to a page. A page therefore costs the same number of queries however
long the lists are, and the cursor (the last row's instant, source and id) pages through them
without an OFFSET. Secrets never reach the page: audit details are scrubbed when written
(`audit.writer`), and this module shows only scalar values of them, scrubbed once more."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from audit.models import AuditEvent
from audit.writer import scrub
from integrations.models import Connection
from notifications.models import Kind as NoticeKind
from notifications.models import Notification
from sync.history import Change, counted, entry_title, entry_words, field_changes
from sync.models import Conflict, JournalEntry, SyncJob

PAGE_SIZE = 50
DETAIL_SHOWN = 6  # scalar details of an audit event shown on its line
VALUE_SHOWN = 120

KINDS: dict[str, str] = {
    "connection": "Connections",
    "sync": "Syncs",
    "change": "Items changed",
    "conflict": "Conflicts",
    "undo": "Undo",
    "reconnect": "Reconnect needed",
    "security": "Security",
}

# The audit actions the timeline shows: (kind, words). Others (logins, token refreshes, the
# status bookkeeping of `connection.updated`) are the admin's business, not a person's story.
ACTIONS: dict[str, tuple[str, str]] = {
    "connection.created": ("connection", "Connected"),
    "connection.connect_failed": ("connection", "Connecting failed"),
    "connection.connect_refused": ("connection", "Connecting was refused"),
    "connection.settings_changed": ("connection", "Settings changed"),
    "sync.link.settings_changed": ("connection", "Settings of a container changed"),
    "connection.paused": ("connection", "Paused"),
    "connection.resumed": ("connection", "Resumed"),
    "connection.disconnected": ("connection", "Disconnected"),
    "connection.deleted": ("connection", "Removed"),
    "connection.needs_reauth": ("reconnect", "Needs reconnecting"),
    "sync.job.succeeded": ("sync", "Synced"),
    "sync.job.failed": ("sync", "Sync failed"),
    "sync.job.cancelled": ("sync", "Sync cancelled"),
    "sync.job.needs_confirmation": ("sync", "Sync waits for you to confirm deletions"),
    "sync.job.sent_again": ("sync", "Sent again"),
    "sync.deletion.confirmed": ("sync", "Deletion confirmed"),
    "sync.deletion.restored": ("sync", "Deleted item restored"),
    "sync.conflict.resolved": ("conflict", "Conflict resolved"),
    "sync.job.undone": ("undo", "Sync undone"),
    "api_token.revoked": ("security", "API token revoked"),
}
COUNTER_WORDS = {
    "local_created": "added in DayFlow",
    "local_updated": "changed in DayFlow",
    "local_deleted": "deleted in DayFlow",
    "remote_created": "added at the service",
    "remote_updated": "changed at the service",
    "remote_deleted": "deleted at the service",
    "conflicts": "conflicts",
    "errors": "errors",
}
# Keys of audit details the line already says in words, or that mean nothing to a person.
HIDDEN_DETAILS = {"counters", "fields", "service", "kind", "status"}

SYNCED = "sync.job.succeeded"

# The sources, ranked so rows of one instant keep one order across pages.
AUDIT, JOURNAL, CONFLICT, NOTICE = 4, 3, 2, 1


class BadCursor(ValueError):
    """The `before` cursor is not one this module wrote."""


@dataclasses.dataclass(frozen=True)
class Cursor:
    at: dt.datetime
    source: int
    pk: int

    def __str__(self) -> str:
        return f"{self.at.isoformat()}~{self.source}~{self.pk}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        parts = text.split("~")
        if len(text) > 80 or len(parts) != 3:
            raise BadCursor(text)
        try:
            at = dt.datetime.fromisoformat(parts[0])
            source, pk = int(parts[1]), int(parts[2])
        except ValueError as error:
            raise BadCursor(text) from error
        if at.tzinfo is None or source not in (AUDIT, JOURNAL, CONFLICT, NOTICE) or pk < 0:
            raise BadCursor(text)
        if pk > 2**63 - 1:
            raise BadCursor(text)
        return cls(at, source, pk)


@dataclasses.dataclass(frozen=True)
class Filters:
    connection: Connection | None = None
    kind: str = ""
    since: dt.datetime | None = None  # inclusive
    until: dt.datetime | None = None  # exclusive


@dataclasses.dataclass
class Entry:
    at: dt.datetime
    source: int
    pk: int
    kind: str
    title: str
    connection: str = ""
    words: str = ""
    success: bool = True
    link: str = ""
    changes: list[Change] = dataclasses.field(default_factory=list)
    details: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    job_id: int | None = None
    action: str = ""  # the audit event's, for an audit row
    can_undo: bool = False

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.at, self.source, self.pk)

    @property
    def kind_words(self) -> str:
        return KINDS[self.kind]


@dataclasses.dataclass
class Page:
    entries: list[Entry]
    next_cursor: Cursor | None


def timeline(user: Any, filters: Filters, before: Cursor | None = None) -> Page:
    """One page of the person's timeline, newest first."""
    size = PAGE_SIZE + 1
    rows: list[Entry] = []
    if _wanted(filters, "connection", "sync", "conflict", "undo", "reconnect", "security"):
        rows += audit_entries(_window(audit_events(user, filters), AUDIT, before)[:size])
    if _wanted(filters, "change"):
        rows += journal_entries(_window(journal(user, filters), JOURNAL, before)[:size])
    if _wanted(filters, "conflict"):
        rows += conflict_entries(_window(conflicts(user, filters), CONFLICT, before)[:size])
    if _wanted(filters, "security"):
        rows += notice_entries(_window(notices(user, filters), NOTICE, before)[:size])
    rows.sort(key=lambda entry: (entry.at, entry.source, entry.pk), reverse=True)
    shown = rows[:PAGE_SIZE]
    mark_undoable(user, shown)
    return Page(shown, shown[-1].cursor if len(rows) > PAGE_SIZE else None)


def _wanted(filters: Filters, *kinds: str) -> bool:
    return not filters.kind or filters.kind in kinds


def _window(rows: QuerySet, source: int, before: Cursor | None) -> QuerySet:
    """The rows strictly after `before` in the timeline's order (at, source, id) descending."""
    rows = rows.order_by("-created_at", "-id")
    if before is None:
        return rows
    if source > before.source:
        return rows.filter(created_at__lt=before.at)
    if source < before.source:
        return rows.filter(created_at__lte=before.at)
    return rows.filter(Q(created_at__lt=before.at) | Q(created_at=before.at, id__lt=before.pk))


def _in_range(rows: QuerySet, filters: Filters) -> QuerySet:
    if filters.since is not None:
        rows = rows.filter(created_at__gte=filters.since)
    if filters.until is not None:
        rows = rows.filter(created_at__lt=filters.until)
    return rows


# --- the sources ------------------------------------------------------------------------------
def audit_events(user: Any, filters: Filters) -> QuerySet[AuditEvent]:
    owned = Connection.objects.for_user(user).values("pk")
    actions = [
        action for action, (kind, _) in ACTIONS.items() if kind == filters.kind or not filters.kind
    ]
    # The person's own acts, and what the system did to their connections (sync jobs).
    events = AuditEvent.objects.filter(
        Q(actor=user) | Q(actor__isnull=True, connection_id__in=owned), action__in=actions
    )
    if filters.connection is not None:
        events = events.filter(connection_id=filters.connection.pk)
    return _in_range(events, filters)


def journal(user: Any, filters: Filters) -> QuerySet[JournalEntry]:
    entries = JournalEntry.objects.filter(connection__user=user).select_related(
        "connection__service"
    )
    if filters.connection is not None:
        entries = entries.filter(connection=filters.connection)
    return _in_range(entries, filters)


def conflicts(user: Any, filters: Filters) -> QuerySet[Conflict]:
    rows = Conflict.objects.for_user(user).select_related("link__connection__service")
    if filters.connection is not None:
        rows = rows.filter(link__connection=filters.connection)
    return _in_range(rows, filters)


def notices(user: Any, filters: Filters) -> QuerySet[Notification]:
    # Only the security alerts: the other notices repeat what the audit trail already says.
    rows = Notification.objects.for_user(user).filter(kind=NoticeKind.SECURITY)
    if filters.connection is not None:
        rows = rows.filter(connection=filters.connection)
    return _in_range(rows, filters)


# --- rows in words ----------------------------------------------------------------------------
def audit_entries(events: Iterable[AuditEvent]) -> list[Entry]:
    entries = []
    for event in events:
        kind, title = ACTIONS[event.action]
        details = event.details if isinstance(event.details, dict) else {}
        job_id = _job_id(event.resource) if event.action.startswith("sync.job.") else None
        entries.append(
            Entry(
                at=event.created_at,
                source=AUDIT,
                pk=event.pk,
                kind=kind,
                title=title,
                connection=event.connection_label,
                words=counter_words(details.get("counters"), quiet=event.action != SYNCED),
                success=event.success,
                link=_audit_link(kind, job_id),
                details=shown_details(details),
                job_id=job_id,
                action=event.action,
            )
        )
    return entries


def journal_entries(rows: Iterable[JournalEntry]) -> list[Entry]:
    return [
        Entry(
            at=entry.created_at,
            source=JOURNAL,
            pk=entry.pk,
            kind="change",
            title=f"{entry_title(entry)}: {entry_words(entry, str(entry.connection.service))}",
            connection=str(entry.connection),
            changes=field_changes(entry.before, entry.after),
            link=reverse("sync:job", args=[entry.job_id]) if entry.job_id else "",
            job_id=entry.job_id,
        )
        for entry in rows
    ]


def conflict_entries(rows: Iterable[Conflict]) -> list[Entry]:
    entries = []
    for conflict in rows:
        sides = [side for side in (conflict.local, conflict.remote) if isinstance(side, dict)]
        item = next((str(side["title"]) for side in sides if side.get("title")), "An item")
        fields = ", ".join(str(name).replace("_", " ") for name in (conflict.fields or []))
        entries.append(
            Entry(
                at=conflict.created_at,
                source=CONFLICT,
                pk=conflict.pk,
                kind="conflict",
                title=f"Conflict raised: {_short(item)}",
                connection=str(conflict.link.connection),
                words=f"Changed on both sides: {_short(fields)}" if fields else "",
                link=reverse("sync:conflict", args=[conflict.pk]),
            )
        )
    return entries


def notice_entries(rows: Iterable[Notification]) -> list[Entry]:
    return [
        Entry(
            at=notice.created_at,
            source=NOTICE,
            pk=notice.pk,
            kind="security",
            title=notice.title,
            words=notice.body,
            success=False,
            link=notice.link,
        )
        for notice in rows
    ]


def counter_words(counters: Any, *, quiet: bool = False) -> str:
    """A job's counters in words: "2 added in DayFlow, 1 changed at the service"; `quiet`: say
    nothing when nothing changed (a failed sync did not "find nothing to change")."""
    if not isinstance(counters, dict):
        return ""
    parts = [
        f"{value} {words}"
        for name, words in COUNTER_WORDS.items()
        if isinstance(value := counters.get(name), int) and value > 0
    ]
    if not parts and not quiet and isinstance(counters.get("processed"), int):
        return f"{counted(counters['processed'], 'item')} looked at, nothing to change"
    return ", ".join(parts)


def shown_details(details: dict[str, Any]) -> list[tuple[str, str]]:
    """The scalar details of an audit event, scrubbed again (defence in depth) and bounded."""
    clean = scrub(details)
    shown = []
    for key, value in clean.items():
        if key in HIDDEN_DETAILS or value in (None, "", [], {}) or isinstance(value, dict | list):
            continue
        shown.append((key.replace("_", " ").capitalize(), _short(str(value))))
    return shown[:DETAIL_SHOWN]


def _audit_link(kind: str, job_id: int | None) -> str:
    if job_id:
        return reverse("sync:job", args=[job_id])
    return reverse("integrations:index") if kind == "reconnect" else ""


def _short(text: str) -> str:
    return text if len(text) <= VALUE_SHOWN else text[: VALUE_SHOWN - 1] + "…"


def _job_id(resource: str) -> int | None:
    number = resource.rpartition(" ")[2]
    return int(number) if number.isdigit() and len(number) < 19 else None


def mark_undoable(user: Any, entries: list[Entry]) -> None:
    """Offer undo on the line of each successful sync that allows it and is not undone yet
    (`sync.views.job_detail`'s rule): one query for the page."""
    synced = [entry for entry in entries if entry.action == SYNCED and entry.job_id]
    if not synced:
        return
    jobs = (
        SyncJob.objects.for_user(user)
        .filter(pk__in={entry.job_id for entry in synced})
        .annotate(
            entries=Count("journal"),
            reverted=Count("journal", filter=Q(journal__reverted_at__isnull=False)),
        )
    )
    undoable = {
        job.pk for job in jobs if "undo" in job.allowed_actions and job.entries and not job.reverted
    }
    for entry in synced:
        entry.can_undo = entry.job_id in undoable
