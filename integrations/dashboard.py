"""The integrations dashboard: one card per connection, in a person's words.

`cards(connections)` reads everything the cards show in a fixed number of queries, whatever
the number of connections and jobs: the connections with their open conflicts and their last
and current jobs' ids annotated (and their `next_sync_at`), then those jobs, the links counted
by type and the live webhook subscriptions, one query each. The words are pure functions
of those values (`status_words`, `next_sync_words`, `progress`), each with a table test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections.abc import Iterable

from django.db.models import Count, F, IntegerField, Min, OuterRef, QuerySet, Subquery, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from integrations.models import Connection
from sync import decisions, history
from sync.deletion_policy import WAITING
from sync.models import Conflict, ItemLink, ItemType, SyncJob, SyncLink
from webhooks.subscriptions import active_subscriptions, delivery_mode

Status = Connection.Status
Phase = SyncJob.Phase

# How often a card asks for itself while one of its connection's jobs is queued or running.
POLL_SECONDS = 2
ERROR_SHOWN = 200  # characters of a connection's last error on its card
# A card's "changes arrive" figure: the median over the newest syncs a change started, per way.
LAG_JOBS = 20
LAG_TRIGGERS = (SyncJob.Trigger.LOCAL, SyncJob.Trigger.WEBHOOK)


@dataclasses.dataclass(frozen=True)
class Progress:
    """A running job as its card shows it: the phase in words, and a bar when the number of
    items is known (`value` of `maximum`); without one the bar is indeterminate."""

    words: str
    value: int | None = None
    maximum: int | None = None
    counts: str = ""


@dataclasses.dataclass(frozen=True)
class Card:
    connection: Connection
    status: str  # the status in words, with the reason when it is not syncing
    status_key: str  # the badge's class
    mode: str  # "push" or "polling"
    next_sync: str
    open_conflicts: int
    pending_deletions: int  # deletions waiting for the person (the "ask" policy)
    items: list[tuple[str, int]]  # ("tasks", 12) in sync
    last_job: SyncJob | None
    last: dict[str, str]  # its result, summary, when and how long, in words
    active_job: SyncJob | None
    progress: Progress | None
    lag: list[str] = dataclasses.field(default_factory=list)  # how soon changes arrive, per way
    # A first sync's preview (its own, or a container's ticked since) waits for the person's
    # word (`sync.services.awaits_first_confirmation`): no sync runs on its own until then.
    first_preview: SyncJob | None = None

    @property
    def polling(self) -> bool:
        """Whether the card asks for itself again: only while a job is queued or running."""
        return self.active_job is not None


# --- the words (pure) -----------------------------------------------------------------------
def setup_needed(connection: Connection) -> str:
    """What the connection needs before it can sync ("choose a Notion database"), or "".
    `Connection.setup_needed` comes with the connection set-up pages; until then, nothing."""
    value = getattr(connection, "setup_needed", "")
    return str(value() if callable(value) else value or "")


def status_words(status: str, last_error: str = "", setup: str = "") -> tuple[str, str]:
    """The badge's class and the status in words, with why it does not sync."""
    if status == Status.CONNECTED:
        if setup:
            return "setup", f"Needs setup: {setup}"
        if last_error:
            return "warning", f"Connected; the last sync had a problem: {_error(last_error)}"
        return "connected", "Connected"
    if status == Status.ERROR:
        return "error", f"Error: {_error(last_error) or 'it stopped syncing'}"
    words = {
        Status.PAUSED: "Paused",
        Status.NEEDS_REAUTH: "Needs reconnecting",
        Status.DISCONNECTED: "Disconnected",
    }
    return status, words.get(status, status)


def _error(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= ERROR_SHOWN else line[: ERROR_SHOWN - 1] + "…"


def next_sync_words(
    *,
    status: str,
    auto_sync: bool,
    manual: bool,
    setup: str,
    mode: str,
    due: dt.datetime | None,
    now: dt.datetime,
) -> str:
    """The next scheduled sync (`due`: the connection's next_sync_at) in words, honest about
    when there is none. Beat's dispatcher looks every 30 s, so "due now" is within a tick."""
    if status == Status.PAUSED:
        return "None while paused"
    if status != Status.CONNECTED:
        return "None until it is reconnected" if status != Status.ERROR else "None until fixed"
    if setup:
        return "None until it is set up"
    if manual or not auto_sync:
        return "Only when you ask (Sync now)"
    push = mode == "push"
    if due is None:
        return "On change (push)" if push else "Not scheduled yet"
    when = "due now" if due <= now else f"about {_clock(due, now)} ({_in(due - now)})"
    return f"On change (push), and a check {when}" if push else f"Next sync {when}"


def _clock(when: dt.datetime, now: dt.datetime) -> str:
    local, today = timezone.localtime(when), timezone.localtime(now)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    return local.strftime("%-d %b, %H:%M")


def _in(span: dt.timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return "in under a minute"
    if minutes < 60:
        return f"in {minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"in {hours} h {minutes} min" if minutes else f"in {hours} h"
    return f"in {hours // 24} days"


def progress(job: SyncJob, service: str) -> Progress:
    """A queued or running job's phase in words, its bar, and its counts so far."""
    if job.status == SyncJob.Status.QUEUED:
        return Progress("Waiting to start")
    phase = job.phase
    if phase in (Phase.QUEUED, Phase.PULLING):
        return Progress(f"Pulling changes from {service}")
    if phase == Phase.DECIDING:
        return Progress("Deciding what to change")
    planned = max(job.planned, job.processed)
    counts = f"{job.processed} of {history.counted(planned, 'item')} done"
    so_far = history.summary(job) if job.processed else ""
    if so_far:
        counts = f"{counts}: {so_far[0].lower()}{so_far[1:]}"
    if phase == Phase.WRITING_REMOTE:
        return Progress(f"Writing to {service}", job.processed, planned, counts)
    if phase == Phase.WRITING_LOCAL:
        return Progress("Writing to DayFlow", job.processed, planned, counts)
    return Progress("Finishing", planned, planned, counts)


def ago(when: dt.datetime, now: dt.datetime) -> str:
    """How long ago, in words: "just now", "5 min ago", "3 h ago", then the day."""
    minutes = int((now - when).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 24 * 60:
        return f"{minutes // 60} h ago"
    return f"on {_clock(when, now)}"


def last_words(job: SyncJob | None, now: dt.datetime) -> dict[str, str]:
    if job is None:
        return {}
    return {
        "when": ago(job.finished_at or job.created_at, now),
        "result": history.result_words(job),
        "result_key": history.result_key(job),
        "summary": history.summary(job),
        "took": history.duration_words(history.duration(job)),
    }


def item_words(counts: dict[str, int]) -> list[tuple[str, int]]:
    nouns = {ItemType.TASK: ("task", "tasks"), ItemType.EVENT: ("event", "events")}
    return [
        (nouns[kind][0] if counts[kind] == 1 else nouns[kind][1], counts[kind])
        for kind in (ItemType.TASK, ItemType.EVENT)
        if counts.get(kind)
    ]


def lag_words(service: str, spans: dict[str, list[float]]) -> list[str]:
    """How soon changes arrived lately, each way: the median, over the newest syncs a change
    started (a DayFlow edit; the service's webhook), of the seconds from the job's creation (the
    change committed, or its webhook processed) to its end."""
    ways = {
        SyncJob.Trigger.LOCAL: f"DayFlow → {service}",
        SyncJob.Trigger.WEBHOOK: f"{service} → DayFlow",
    }
    return [
        f"{ways[trigger]}: about {_seconds(statistics.median(spans[trigger]))}"
        for trigger in LAG_TRIGGERS
        if spans.get(trigger)
    ]


def _seconds(value: float) -> str:
    if value < 10:
        return f"{value:.1f} s"
    if value < 120:
        return f"{value:.0f} s"
    return f"{value / 60:.0f} min"


# --- the reads (a fixed number of queries) --------------------------------------------------
def _latest_job(statuses: Iterable[str], order: tuple[str, ...]) -> Subquery:
    return Subquery(
        SyncJob.objects.filter(connection=OuterRef("pk"), status__in=list(statuses))
        .order_by(*order)
        .values("pk")[:1],
        output_field=IntegerField(),
    )


def annotated(connections: QuerySet[Connection]) -> QuerySet[Connection]:
    """The connections with what their cards need from the database, in one query."""
    open_conflicts = (
        Conflict.objects.filter(link__connection=OuterRef("pk"), status=Conflict.Status.OPEN)
        .order_by()
        .values("link__connection")
        .annotate(n=Count("pk"))
        .values("n")
    )
    pending_deletions = (
        ItemLink.objects.filter(connection=OuterRef("pk"), deletion_pending__in=WAITING)
        .order_by()
        .values("connection")
        .annotate(n=Count("pk"))
        .values("n")
    )
    # The oldest container no real sync went through yet (a new one waits for its preview).
    new_container = (
        SyncLink.objects.filter(connection=OuterRef("pk"), first_synced_at=None)
        .order_by()
        .values("connection")
        .annotate(at=Min("created_at"))
        .values("at")
    )
    finished = [s for s in SyncJob.Status.values if s not in SyncJob.ACTIVE]
    return connections.select_related("service", "credential").annotate(
        open_conflicts=Coalesce(Subquery(open_conflicts, output_field=IntegerField()), 0),
        pending_deletions=Coalesce(Subquery(pending_deletions, output_field=IntegerField()), 0),
        new_container_at=Subquery(new_container),
        last_job_id=_latest_job(finished, ("-created_at", "-pk")),
        # A running job before the one queued behind it.
        active_job_id=_latest_job(SyncJob.ACTIVE, ("-status", "created_at", "pk")),
    )


def cards(connections: QuerySet[Connection], now: dt.datetime | None = None) -> list[Card]:
    """One card per connection, in five queries whatever their number and their jobs'."""
    now = now or timezone.now()
    rows = list(annotated(connections))
    if not rows:
        return []
    ids = [row.pk for row in rows]
    job_ids = {pk for row in rows for pk in (row.last_job_id, row.active_job_id) if pk}
    jobs = {job.pk: job for job in SyncJob.objects.filter(pk__in=job_ids)}
    counts: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    in_sync = (
        ItemLink.objects.filter(connection__in=ids, undone_at__isnull=True, deletion_pending="")
        .exclude(remote_id="")
        .values_list("connection_id", "item_type")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for connection_id, item_type, n in in_sync:
        counts[connection_id][item_type] = n
    subscriptions = active_subscriptions(rows)
    spans = lag_spans(ids)
    return [
        dataclasses.replace(
            _card(row, jobs, counts[row.pk], subscriptions, now),
            lag=lag_words(str(row.service), spans.get(row.pk, {})),
        )
        for row in rows
    ]


def lag_spans(ids: list[int]) -> dict[int, dict[str, list[float]]]:
    """Per connection and trigger, the seconds the newest LAG_JOBS change-started syncs took
    from their creation to their end, in one query (a window ranks each connection's jobs)."""
    newest_first = Window(
        RowNumber(),
        partition_by=[F("connection_id"), F("trigger")],
        order_by=[F("finished_at").desc(), F("pk").desc()],
    )
    rows = (
        SyncJob.objects.filter(
            connection__in=ids,
            trigger__in=LAG_TRIGGERS,
            status=SyncJob.Status.SUCCEEDED,
            dry_run=False,
            finished_at__isnull=False,
        )
        .annotate(rank=newest_first)
        .filter(rank__lte=LAG_JOBS)
        .values_list("connection_id", "trigger", "created_at", "finished_at")
    )
    spans: dict[int, dict[str, list[float]]] = {}
    for connection_id, trigger, created, finished in rows:
        took = max(0.0, (finished - created).total_seconds())
        spans.setdefault(connection_id, {}).setdefault(trigger, []).append(took)
    return spans


def _card(
    connection: Connection,
    jobs: dict[int, SyncJob],
    counts: dict[str, int],
    subscriptions: list,
    now: dt.datetime,
) -> Card:
    last_job = jobs.get(connection.last_job_id)
    active_job = jobs.get(connection.active_job_id)
    for job in (last_job, active_job):
        if job is not None:
            job.connection = connection  # its words name the service: no query for it
    setup = setup_needed(connection)
    key, words = status_words(connection.status, connection.last_error, setup)
    mode = delivery_mode(connection, subscriptions)
    return Card(
        connection=connection,
        status=words,
        status_key=key,
        mode=mode,
        next_sync=next_sync_words(
            status=connection.status,
            auto_sync=connection.auto_sync,
            manual=connection.sync_direction == Connection.SyncDirection.MANUAL,
            setup=setup,
            mode=mode,
            due=connection.next_sync_at,
            now=now,
        ),
        open_conflicts=connection.open_conflicts,
        pending_deletions=connection.pending_deletions,
        items=item_words(counts),
        last_job=last_job,
        last=last_words(last_job, now),
        active_job=active_job,
        progress=progress(active_job, str(connection.service)) if active_job else None,
        first_preview=last_job if awaits_confirmation(connection, last_job, active_job) else None,
    )


def awaits_confirmation(
    connection: Connection, last_job: SyncJob | None, active_job: SyncJob | None
) -> bool:
    """`sync.services.awaits_first_confirmation` from what the card has read already."""
    if last_job is None or not last_job.dry_run or not (active_job is None or active_job.dry_run):
        return False
    new_at = connection.new_container_at  # annotated
    return decisions.awaits_first_confirmation(
        latest_is_preview=True,
        synced_before=connection.last_sync_at is not None,
        new_containers=new_at is not None and new_at <= last_job.created_at,
    )


def card(connections: QuerySet[Connection], pk: int) -> Card | None:
    """The card of one connection (its partial, polled while a job runs)."""
    found = cards(connections.filter(pk=pk))
    return found[0] if found else None
