"""Scheduled syncs: each connection's `next_sync_at`, and the one beat entry that dispatches them.

A connection that is scheduled (`Connection.is_scheduled`) holds when its next scheduled sync is
due; every other connection holds null. Beat has one static entry, "sync-dispatch-due"
(settings' CELERY_BEAT_SCHEDULE, every 30 s), whose task `sync.dispatch_due` claims the due
connections in batches, sends each one's `sync.scheduled` (which asks `services.request_sync`,
coalescing as every trigger does) and moves its `next_sync_at` one interval on, with a spread
of up to JITTER of the interval, so connections made together drift apart instead of firing in
the same tick. A tick reads and writes only the due rows (a range scan of a partial index).

The times are decided by pure functions (`interval_of`, `jitter`, `following`, `first_due`,
`after_sync`, `is_due`), each with a table test; the rest reads and writes rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection as db
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from dayflow.celery import app as celery_app
from integrations.models import MAX_SYNC_INTERVAL, Connection, sync_interval_problem
from integrations.tokens import set_status
from sync.models import SyncJob

logger = logging.getLogger(__name__)

TASK = "sync.scheduled"
DISPATCH_TASK = "sync.dispatch_due"
# The share of its interval by which a connection's step is lengthened, per connection.
JITTER = 0.1
BATCH = 1000  # connections claimed, sent and moved on per transaction
MAX_BATCHES = 100  # per tick (100,000 connections); the rest stay due for the next tick
# Knuth's multiplicative hash spreads consecutive ids over [0, 1).
_GOLDEN = 2654435761
_SPAN = 2**32


# --- the decisions (pure) -----------------------------------------------------------------------
def interval_of(minutes: object, minimum: int) -> dt.timedelta | None:
    """A connection's step: its interval, at least `minimum` minutes (a row older than the
    minimum is clamped); None for an interval no schedule can hold (over a week, not a number)."""
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes > MAX_SYNC_INTERVAL:
        return None
    return dt.timedelta(minutes=max(minutes, minimum))


def spread(connection_id: int) -> float:
    """The connection's own fraction in [0, 1): the same every time, different per id."""
    return (connection_id * _GOLDEN) % _SPAN / _SPAN


def jitter(connection_id: int, interval: dt.timedelta) -> dt.timedelta:
    """How much longer than its interval the connection's step is: up to JITTER of it."""
    return dt.timedelta(seconds=round(interval.total_seconds() * JITTER * spread(connection_id)))


def following(
    due: dt.datetime, now: dt.datetime, interval: dt.timedelta, connection_id: int
) -> dt.datetime:
    """When a connection dispatched `now`, due at `due`, is due next: one jittered step after
    it was due (a tick late keeps its place), or after now when it is a whole step late (beat
    was down): it never comes due again in the same tick."""
    step = interval + jitter(connection_id, interval)
    nxt = due + step
    return nxt if nxt > now else now + step


def first_due(
    now: dt.datetime, last_sync: dt.datetime | None, interval: dt.timedelta, connection_id: int
) -> dt.datetime:
    """When a connection that just became scheduled (created, resumed, set up) or got a new
    interval is due: one jittered step after its last sync (now, if it never synced), and at
    once if that is past."""
    return max(now, (last_sync or now) + interval + jitter(connection_id, interval))


def after_sync(finished: dt.datetime, interval: dt.timedelta, connection_id: int) -> dt.datetime:
    """A sync just finished (whatever started it): the next scheduled one is a step later."""
    return finished + interval + jitter(connection_id, interval)


def is_due(next_sync_at: dt.datetime | None, now: dt.datetime) -> bool:
    return next_sync_at is not None and next_sync_at <= now


def spread_over_interval(
    now: dt.datetime, last_sync: dt.datetime | None, interval: dt.timedelta, connection_id: int
) -> dt.datetime:
    """For connections that gain a schedule all at once (the migration from per-connection beat
    rows): a step after the last sync when that is still ahead, else at the connection's own
    point of the coming interval, so a backlog is not one burst."""
    if last_sync is not None and last_sync + interval > now:
        return last_sync + interval
    return now + dt.timedelta(seconds=round(interval.total_seconds() * spread(connection_id)))


# --- keeping a connection's next_sync_at in step ------------------------------------------------
def reschedule(
    connection: Connection, *, interval_changed: bool = False, now: dt.datetime | None = None
) -> dt.datetime | None:
    """Bring the connection's `next_sync_at` in step with its settings and status, in one
    UPDATE at most: null when it is not scheduled; set when it has none yet (created, resumed,
    set up) or its interval changed; otherwise left alone, so a save of other settings does
    not restart the wait. Returns the value now stored (as far as this call knows)."""
    rows = Connection.objects.filter(pk=connection.pk)
    if not connection.is_scheduled:
        rows.exclude(next_sync_at=None).update(next_sync_at=None)
        connection.next_sync_at = None
        return None
    interval = interval_of(connection.sync_interval, settings.DAYFLOW_MIN_SYNC_INTERVAL)
    if interval is None:
        _refuse(connection)
        return None
    now = now or timezone.now()
    due = first_due(now, connection.last_sync_at, interval, connection.pk)
    if not interval_changed:
        rows = rows.filter(next_sync_at=None)
    if rows.update(next_sync_at=due):
        connection.next_sync_at = due
    return connection.next_sync_at


def unschedule(connection_id: int) -> None:
    Connection.objects.filter(pk=connection_id).exclude(next_sync_at=None).update(next_sync_at=None)


def sync_finished(
    connection_id: int, now: dt.datetime | None = None, *, minutes: int | None = None
) -> None:
    """A sync of the connection finished: its next scheduled one is a step from now, in one
    UPDATE when the caller knows the interval (`minutes`). A connection that is not scheduled
    (null) stays so."""
    rows = Connection.objects.filter(pk=connection_id, next_sync_at__isnull=False)
    if minutes is None:
        minutes = rows.values_list("sync_interval", flat=True).first()
    interval = interval_of(minutes, settings.DAYFLOW_MIN_SYNC_INTERVAL)
    if interval is not None:
        rows.update(next_sync_at=after_sync(now or timezone.now(), interval, connection_id))


def _refuse(connection: Connection) -> None:
    problem = sync_interval_problem(connection.sync_interval)
    logger.error(
        "sync: connection %s not scheduled: sync interval %r %s",
        connection.pk,
        connection.sync_interval,
        problem,
    )
    unschedule(connection.pk)
    connection.next_sync_at = None
    error = f"Not synced on a schedule: the sync interval {problem}."
    set_status(connection, Connection.Status.ERROR, last_error=error)


# --- the dispatcher -----------------------------------------------------------------------------
@dataclass
class Tick:
    sent: int = 0  # connections whose scheduled sync was sent
    busy: int = 0  # due, but a job of theirs is queued or running: moved on, not sent
    refused: int = 0  # an interval no schedule holds: unscheduled, connection in error
    batches: int = 0


def _send(connection_id: int, interval: dt.timedelta) -> None:
    # By name, as sync.jobs sends its jobs: nothing here imports the tasks. A message still
    # waiting after a whole interval is moot: the next dispatch sends another.
    signature = celery_app.signature(TASK, args=(connection_id,), expires=interval.total_seconds())
    signature.apply_async()


def dispatch_due(
    now: dt.datetime | None = None,
    *,
    batch: int = BATCH,
    max_batches: int = MAX_BATCHES,
    send: Callable[[int, dt.timedelta], None] = _send,
) -> Tick:
    """Queue the scheduled sync of every connection due at `now`, a batch per transaction.

    Each batch locks the due rows it takes (on PostgreSQL `SKIP LOCKED`: two dispatchers, or
    one racing a settings save, never wait for each other nor take the same connection), reads
    only their id, interval, due time and whether a job of theirs is queued or running, moves
    them on in one UPDATE and sends their syncs once the batch commits. Due rows are taken
    oldest first, so a backlog larger than `max_batches` is worked off over the next ticks.
    """
    now = now or timezone.now()
    tick = Tick()
    minimum = settings.DAYFLOW_MIN_SYNC_INTERVAL
    busy_job = SyncJob.objects.filter(
        connection_id=OuterRef("pk"),
        status__in=(SyncJob.Status.QUEUED, SyncJob.Status.RUNNING),
        dry_run=False,
    )
    while tick.batches < max_batches:
        with transaction.atomic():
            due = Connection.objects.filter(next_sync_at__lte=now).order_by("next_sync_at")
            if db.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True, of=("self",))
            rows = list(
                due.annotate(busy=Exists(busy_job)).values_list(
                    "pk", "sync_interval", "next_sync_at", "busy"
                )[:batch]
            )
            if not rows:
                break
            tick.batches += 1
            moves: dict[int, dt.datetime] = {}
            refused: list[int] = []
            to_send: list[tuple[int, dt.timedelta]] = []
            for pk, minutes, due_at, busy in rows:
                interval = interval_of(minutes, minimum)
                if interval is None:
                    refused.append(pk)
                    continue
                moves[pk] = following(due_at, now, interval, pk)
                if busy:
                    tick.busy += 1
                else:
                    to_send.append((pk, interval))
            _move(moves)
            tick.sent += len(to_send)
            transaction.on_commit(lambda batch=to_send: _send_all(batch, send))
        for pk in refused:  # rows written before the bound existed: rare, one by one
            tick.refused += 1
            connection = Connection.objects.select_related("service").filter(pk=pk).first()
            if connection is not None:
                _refuse(connection)
        if len(rows) < batch:
            break
    return tick


def _send_all(batch: Iterable[tuple[int, dt.timedelta]], send) -> None:
    for pk, interval in batch:
        try:
            send(pk, interval)
        except Exception:  # the broker failed: this one syncs at its next turn
            logger.exception("sync: could not send the scheduled sync of connection %s", pk)


def _move(moves: dict[int, dt.datetime]) -> None:
    """Set each connection's next_sync_at in one statement."""
    if not moves:
        return
    if db.vendor == "postgresql":
        table = Connection._meta.db_table
        with db.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{table}" AS c SET "next_sync_at" = m.due '  # noqa: S608 (our table)
                "FROM unnest(%s::bigint[], %s::timestamptz[]) AS m(id, due) WHERE c.id = m.id",
                [list(moves), list(moves.values())],
            )
        return
    rows = [Connection(pk=pk, next_sync_at=due) for pk, due in moves.items()]
    Connection.objects.bulk_update(rows, ["next_sync_at"])
