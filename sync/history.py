"""Sync history in a person's words: each job's result and summary, what to do about its error,
the field-by-field changes of its journal, and the last 30 days per connection, counted by the
database (one query for every connection's chart)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from integrations.models import Connection
from sync.models import JournalEntry, SyncJob

Status = SyncJob.Status

CHART_DAYS = 30
JOURNAL_SHOWN = 200
VALUE_SHOWN = 120  # characters of one field's value on the job's page

# The history's result filter: each choice, its words, and the jobs it keeps.
RESULTS: dict[str, tuple[str, Q]] = {
    "succeeded": ("Succeeded", Q(status=Status.SUCCEEDED, dry_run=False)),
    "failed": ("Failed", Q(status=Status.FAILED)),
    "cancelled": ("Cancelled", Q(status=Status.CANCELLED)),
    "active": (
        "Not finished",
        Q(status__in=[Status.QUEUED, Status.RUNNING, Status.PAUSED, Status.NEEDS_CONFIRMATION]),
    ),
    "preview": ("Preview", Q(status=Status.SUCCEEDED, dry_run=True)),
}

RESULT_WORDS = {
    Status.QUEUED: "Waiting to start",
    Status.RUNNING: "Running",
    Status.PAUSED: "Paused",
    Status.NEEDS_CONFIRMATION: "Waiting for your confirmation",
    Status.CANCELLED: "Cancelled",
    Status.SUCCEEDED: "Succeeded",
    Status.FAILED: "Failed",
}

LOCAL_CHANGES = ("local_created", "local_updated", "local_deleted")
REMOTE_CHANGES = ("remote_created", "remote_updated", "remote_deleted")


@dataclasses.dataclass(frozen=True)
class Filters:
    """The history's filters as the query string gave them, unknown values dropped."""

    connection: Connection | None = None
    result: str = ""

    def apply(self, jobs: QuerySet[SyncJob]) -> QuerySet[SyncJob]:
        if self.connection is not None:
            jobs = jobs.filter(connection=self.connection)
        if self.result:
            jobs = jobs.filter(RESULTS[self.result][1])
        return jobs

    def query(self) -> str:
        """The filters as a query string, for the page links."""
        parts = []
        if self.connection is not None:
            parts.append(f"connection={self.connection.pk}")
        if self.result:
            parts.append(f"result={self.result}")
        return "&".join(parts)


def read_filters(params: Mapping[str, str], connections: Iterable[Connection]) -> Filters:
    """The filters from `params`; a connection the person does not own, or a result we do not
    know, is ignored (the page then shows everything) rather than refused."""
    by_id = {str(connection.pk): connection for connection in connections}
    result = params.get("result", "")
    return Filters(
        connection=by_id.get(params.get("connection", "")),
        result=result if result in RESULTS else "",
    )


def result_key(job: SyncJob) -> str:
    if job.dry_run and job.status == Status.SUCCEEDED:
        return "preview"
    return job.status


def result_words(job: SyncJob) -> str:
    if result_key(job) == "preview":
        return "Preview (nothing changed)"
    return RESULT_WORDS.get(job.status, job.get_status_display())


def duration(job: SyncJob) -> dt.timedelta | None:
    if job.started_at and job.finished_at:
        return job.finished_at - job.started_at
    return None


def duration_words(span: dt.timedelta | None) -> str:
    if span is None:
        return ""
    seconds = max(int(span.total_seconds()), 0)
    if seconds < 1:
        return "under 1 s"
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def counted(number: int, noun: str, plural: str = "") -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def item_noun(job: SyncJob) -> str:
    return "task" if job.connection.service.kind == "tasks" else "event"


def summary(job: SyncJob) -> str:
    """One line of what the job did, e.g. "Imported 12 events, sent 3 changes to Fastmail,
    1 conflict"; for a preview, what it would do."""
    if job.dry_run and isinstance(job.report.get("preview"), dict):
        return _preview_summary(job, job.report["preview"])
    if not job.is_finished and not job.processed:
        return ""
    parts = _change_parts(
        job,
        imported=job.local_created,
        updated=job.local_updated,
        deleted=job.local_deleted,
        sent=sum(getattr(job, name) for name in REMOTE_CHANGES),
        conflicts=job.conflicts,
    )
    if job.errors:
        parts.append(counted(job.errors, "item") + " not synced (errors)")
    if not parts:
        return "Nothing to change" if job.status == Status.SUCCEEDED else "Nothing changed"
    return _sentence(parts)


def _preview_summary(job: SyncJob, preview: dict[str, Any]) -> str:
    local, remote = preview.get("local") or {}, preview.get("remote") or {}
    parts = _change_parts(
        job,
        imported=int(local.get("create") or 0),
        updated=int(local.get("update") or 0),
        deleted=int(local.get("delete") or 0),
        sent=sum(int(remote.get(op) or 0) for op in ("create", "update", "delete")),
        conflicts=int((preview.get("both") or {}).get("conflict") or 0),
    )
    if not parts:
        return "Would change nothing"
    return "Would: " + ", ".join(parts)


def _change_parts(
    job: SyncJob, *, imported: int, updated: int, deleted: int, sent: int, conflicts: int
) -> list[str]:
    noun = item_noun(job)
    parts = []
    if imported:
        parts.append(f"import {counted(imported, noun)}")
    if updated:
        parts.append(f"update {counted(updated, noun)} in DayFlow")
    if deleted:
        parts.append(f"delete {counted(deleted, noun)} in DayFlow")
    if sent:
        parts.append(f"send {counted(sent, 'change')} to {job.connection.service}")
    if conflicts:
        parts.append(counted(conflicts, "conflict"))
    return parts


def _sentence(parts: list[str]) -> str:
    past = {"import": "Imported", "update": "updated", "delete": "deleted", "send": "sent"}
    worded = []
    for part in parts:
        verb, _, rest = part.partition(" ")
        if verb in past:
            worded.append(f"{past[verb]} {rest}")
        else:
            worded.append(part)
    line = ", ".join(worded)
    return line[0].upper() + line[1:]


def counter_rows(job: SyncJob) -> list[tuple[str, int]]:
    """The job's counters in a person's words, the service named."""
    service = str(job.connection.service)
    labels = {
        "processed": "Items looked at",
        "local_created": "Added in DayFlow",
        "local_updated": "Changed in DayFlow",
        "local_deleted": "Deleted in DayFlow",
        "remote_created": f"Added in {service}",
        "remote_updated": f"Changed in {service}",
        "remote_deleted": f"Deleted in {service}",
        "conflicts": "Conflicts",
        "errors": "Errors",
        "api_calls": f"Requests to {service}",
    }
    return [(labels[name], value) for name, value in job.counters().items()]


# --- the error, and what to do next -----------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Advice:
    words: str
    # What the page offers next: "reconnect", "settings", "resume", "sync" or "" (wait).
    action: str = ""


def advice(job: SyncJob) -> Advice | None:
    """What the job's error means for the person, and what to do about it."""
    error = job.error.strip()
    status = job.connection.status
    if status == Connection.Status.NEEDS_REAUTH and job.status == Status.FAILED:
        return Advice(f"{job.connection.service} no longer accepts DayFlow's access.", "reconnect")
    if not error:
        return None
    if error.startswith("rate limited"):
        return Advice(f"{job.connection.service} asked us to slow down. It will retry by itself.")
    if error.startswith("transient"):
        return Advice(f"{job.connection.service} did not answer. It will retry by itself.")
    if "superseded" in error:
        return Advice("A newer sync took over its work: nothing to do.")
    if error.startswith("gave up after"):
        return Advice(
            f"{job.connection.service} kept failing, so it stopped retrying. Try again later.",
            "sync",
        )
    if error == "worker lost":
        return Advice("It stopped unexpectedly (the worker went away). Sync again.", "sync")
    if error.startswith("connection is"):
        if status == Connection.Status.PAUSED:
            return Advice("The connection is paused, so it did not run.", "resume")
        return Advice(f"It did not run: the {error}.")
    if status == Connection.Status.ERROR:
        return Advice(
            f"{job.connection.service} refused what we sent. Check the connection's settings.",
            "settings",
        )
    return Advice("Something went wrong. If it happens again, check the connection's settings.")


# --- the journal ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= VALUE_SHOWN else text[: VALUE_SHOWN - 1] + "…"


def field_changes(before: Any, after: Any) -> list[Change]:
    """The fields an entry changed, each with its value before and after (bounded); keys
    starting with "_" are the engine's bookkeeping (a move's container id), not shown."""
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    names = sorted(
        (name for name in set(before) | set(after) if not name.startswith("_")),
        key=lambda name: (name != "title", name),
    )
    return [
        Change(
            name.replace("_", " ").capitalize(), _shown(before.get(name)), _shown(after.get(name))
        )
        for name in names
        if before.get(name) != after.get(name)
    ]


def entry_title(entry: JournalEntry) -> str:
    for fields in (entry.after, entry.before):
        if isinstance(fields, dict) and fields.get("title"):
            return _shown(fields["title"])
    return f"{entry.get_item_type_display()} {entry.local_id or entry.remote_id}"


def entry_words(entry: JournalEntry, service: str) -> str:
    where = "DayFlow" if entry.side == JournalEntry.Side.LOCAL else service
    verbs = {
        "create": "Added in",
        "update": "Changed in",
        "delete": "Deleted from",
        "move": "Moved in",
    }
    return f"{verbs.get(entry.op, entry.op)} {where}"


def journal_rows(job: SyncJob) -> tuple[list[dict[str, Any]], int]:
    """The first JOURNAL_SHOWN entries of the job's journal in words, and how many more."""
    entries = list(job.journal.order_by("id")[: JOURNAL_SHOWN + 1])
    more = 0
    if len(entries) > JOURNAL_SHOWN:
        more = job.journal.count() - JOURNAL_SHOWN
        entries = entries[:JOURNAL_SHOWN]
    service = str(job.connection.service)
    rows = [
        {
            "entry": entry,
            "title": entry_title(entry),
            "words": entry_words(entry, service),
            "anchor": f"{entry.item_type}-{entry.local_id}" if entry.local_id else "",
            "changes": field_changes(entry.before, entry.after),
        }
        for entry in entries
    ]
    return rows, more


def undo_state(job: SyncJob) -> dict[str, Any]:
    """How much of the job's journal undo has reverted, and when (`repair.undo_job` stamps
    `reverted_at` on each entry it reverts)."""
    return job.journal.aggregate(
        entries=Count("id"),
        reverted=Count("id", filter=Q(reverted_at__isnull=False)),
        undone_at=Max("reverted_at"),
    )


# --- the last 30 days -------------------------------------------------------------------------
@dataclasses.dataclass
class Day:
    day: dt.date
    jobs: int = 0
    changed: int = 0
    failures: int = 0
    duration: dt.timedelta | None = None

    @property
    def duration_words(self) -> str:
        return duration_words(self.duration)


@dataclasses.dataclass
class Chart:
    connection: Connection
    days: list[Day]

    @property
    def total_changed(self) -> int:
        return sum(day.changed for day in self.days)

    @property
    def total_failures(self) -> int:
        return sum(day.failures for day in self.days)

    @property
    def total_jobs(self) -> int:
        return sum(day.jobs for day in self.days)

    @property
    def active_days(self) -> list[Day]:
        return [day for day in self.days if day.jobs]


def chart_days(today: dt.date) -> list[dt.date]:
    return [today - dt.timedelta(days=back) for back in range(CHART_DAYS - 1, -1, -1)]


def charts(jobs: QuerySet[SyncJob], connections: Iterable[Connection]) -> list[Chart]:
    """Per connection with syncs in the last 30 days (today included, in the current time
    zone): items changed, jobs, failures and the average duration per day. Previews are left
    out: they change nothing. One query for all connections."""
    zone = timezone.get_current_timezone()
    days = chart_days(timezone.localdate())
    since = dt.datetime.combine(days[0], dt.time.min, tzinfo=zone)
    changed = sum((F(name) for name in (*LOCAL_CHANGES, *REMOTE_CHANGES)), start=0)
    took = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    rows = (
        jobs.filter(dry_run=False, created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("connection_id", "day")
        .annotate(
            jobs=Count("id"),
            changed=Sum(changed),
            failures=Count("id", filter=Q(status=Status.FAILED)),
            duration=Avg(took, filter=Q(started_at__isnull=False, finished_at__isnull=False)),
        )
        .order_by()
    )
    found: dict[tuple[int, dt.date], dict[str, Any]] = {
        (row["connection_id"], row["day"]): row for row in rows
    }
    result = []
    for connection in connections:
        filled = [_day(day, found.get((connection.pk, day))) for day in days]
        if any(day.jobs for day in filled):
            result.append(Chart(connection, filled))
    return result


def _day(day: dt.date, row: dict[str, Any] | None) -> Day:
    if row is None:
        return Day(day)
    return Day(day, row["jobs"], row["changed"] or 0, row["failures"], row["duration"])


# --- drawing ----------------------------------------------------------------------------------
BAR_WIDTH, BAR_GAP, STRIP_HEIGHT = 10, 2, 40


@dataclasses.dataclass(frozen=True)
class Bar:
    x: int
    y: float
    height: float


def bars(values: list[float]) -> list[Bar]:
    """One bar per day, scaled so the largest fills the strip; days at zero draw nothing."""
    top = max(values, default=0) or 1
    drawn = []
    for index, value in enumerate(values):
        if value:
            height = max(STRIP_HEIGHT * value / top, 1.5)
            drawn.append(Bar(index * (BAR_WIDTH + BAR_GAP), STRIP_HEIGHT - height, height))
    return drawn


def strips(chart: Chart) -> list[dict[str, Any]]:
    """The chart's three strips (items changed, average duration, failures), ready to draw."""
    seconds = [day.duration.total_seconds() if day.duration else 0 for day in chart.days]
    most = max(seconds, default=0)
    return [
        {
            "name": "Items changed",
            "kind": "changed",
            "bars": bars([day.changed for day in chart.days]),
            "note": f"{chart.total_changed} in all",
        },
        {
            "name": "Time per sync",
            "kind": "duration",
            "bars": bars(seconds),
            "note": f"longest {duration_words(dt.timedelta(seconds=most))}" if any(seconds) else "",
        },
        {
            "name": "Failures",
            "kind": "failures",
            "bars": bars([day.failures for day in chart.days]),
            "note": counted(chart.total_failures, "failed sync"),
        },
    ]


CHART_WIDTH = CHART_DAYS * (BAR_WIDTH + BAR_GAP) - BAR_GAP
