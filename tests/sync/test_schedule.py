"""Scheduled syncs: the due and jitter decisions as tables, and the dispatcher beat runs every
30 s (`sync.dispatch_due`): due connections are sent, others not, a connection with a job
queued or running is moved on without a second job, batches, and SKIP LOCKED on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
from django.db import connection as db
from django.db import transaction

from integrations.models import Connection
from sync import tasks
from sync.models import SyncJob
from sync.schedule import (
    JITTER,
    after_sync,
    dispatch_due,
    first_due,
    following,
    interval_of,
    is_due,
    jitter,
    spread,
    spread_over_interval,
)

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
Q = dt.timedelta(minutes=15)


def at(minutes: float) -> dt.datetime:
    return NOW + dt.timedelta(minutes=minutes)


# --- the decisions ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("minutes", "minimum", "interval"),
    [
        (15, 5, Q),
        (5, 5, 5 * MIN),
        (1, 5, 5 * MIN),  # a row older than the minimum: clamped
        (10080, 5, 10080 * MIN),  # a week, the longest
        (10081, 5, None),  # beyond: not a schedule
        (2**62, 5, None),
        (None, 5, None),
        ("15", 5, None),
        (True, 5, None),
    ],
)  # fmt: skip
def test_interval_of(minutes, minimum, interval):
    assert interval_of(minutes, minimum) == interval


@pytest.mark.parametrize(
    ("next_sync_at", "due"),
    [(None, False), (at(-1), True), (NOW, True), (at(0.01), False), (at(60), False)],
)
def test_is_due(next_sync_at, due):
    assert is_due(next_sync_at, NOW) is due


@pytest.mark.parametrize("connection_id", [1, 2, 3, 1000, 99_999, 2**31 - 1])
@pytest.mark.parametrize("interval", [5 * MIN, Q, 24 * 60 * MIN, 10080 * MIN])
def test_jitter_is_the_connections_own_share_of_at_most_a_tenth(connection_id, interval):
    extra = jitter(connection_id, interval)
    assert dt.timedelta(0) <= extra <= interval * JITTER
    assert extra == jitter(connection_id, interval)  # the same every time


def test_jitter_spreads_consecutive_ids_over_the_whole_tenth():
    shares = [spread(pk) for pk in range(1, 10_001)]
    assert min(shares) < 0.01
    assert max(shares) > 0.99
    # ten equal bins hold about a tenth each
    bins = [0] * 10
    for share in shares:
        bins[int(share * 10)] += 1
    assert all(900 <= n <= 1100 for n in bins), bins


def j(pk: int, interval: dt.timedelta = Q) -> dt.timedelta:
    return jitter(pk, interval)


@pytest.mark.parametrize(
    ("due", "now", "expected"),
    [
        # on time or a tick late: one jittered step after it was due, keeping its place
        (NOW, NOW, NOW + Q + j(7)),
        (at(-0.5), NOW, at(-0.5) + Q + j(7)),
        (at(-14), NOW, at(-14) + Q + j(7)),
        # a whole step late (beat was down): one step from now, never due again at once
        (at(-16.6), NOW, NOW + Q + j(7)),
        (at(-600), NOW, NOW + Q + j(7)),
    ],
)  # fmt: skip
def test_following(due, now, expected):
    nxt = following(due, now, Q, 7)
    assert nxt == expected
    assert nxt > now


@pytest.mark.parametrize(
    ("last_sync", "interval", "expected"),
    [
        (None, Q, NOW + Q + j(7)),  # created, never synced: a step from now
        (at(-5), Q, at(-5) + Q + j(7)),  # resumed or retimed: a step from its last sync
        (at(-5), 60 * MIN, at(-5) + 60 * MIN + j(7, 60 * MIN)),  # longer interval
        (at(-90), Q, NOW),  # a step from its last sync is past: due at once
        (at(-90), 60 * MIN, NOW),
    ],
)  # fmt: skip
def test_first_due(last_sync, interval, expected):
    assert first_due(NOW, last_sync, interval, 7) == expected


def test_after_sync_is_a_step_from_the_end():
    assert after_sync(NOW, Q, 7) == NOW + Q + j(7)


@pytest.mark.parametrize(
    ("last_sync", "expected"),
    [
        (at(-5), at(10)),  # its old schedule still ahead: kept
        (None, NOW + Q * spread(7)),  # never synced: its own point of the coming interval
        (at(-15), NOW + Q * spread(7)),  # overdue: the same, not all at once
    ],
)
def test_spread_over_interval(last_sync, expected):
    got = spread_over_interval(NOW, last_sync, Q, 7)
    assert abs(got - expected) <= dt.timedelta(seconds=1)


def busiest_minute(times: list[dt.datetime]) -> float:
    """The largest share of `times` falling in one clock minute."""
    minutes: dict[int, int] = {}
    for t in times:
        minute = int(t.timestamp() // 60)
        minutes[minute] = minutes.get(minute, 0) + 1
    return max(minutes.values()) / len(times)


def test_fifteen_minute_connections_made_together_drift_apart():
    """Made in the same second, each turn moves them further apart (each its own step); after
    ten turns no minute holds more than a tenth of them."""
    ids = range(1, 20_001)
    turns = [first_due(NOW, None, Q, pk) for pk in ids]
    shares = [busiest_minute(turns)]
    for _ in range(9):
        turns = [following(t, t, Q, pk) for t, pk in zip(turns, ids, strict=True)]
        shares.append(busiest_minute(turns))
    assert shares[0] < 0.7  # the first turn already spans the tenth: 90 s
    assert shares == sorted(shares, reverse=True)
    assert shares[-1] < 0.1


def test_migrated_connections_are_spread_over_the_whole_interval():
    due = [spread_over_interval(NOW, None, Q, pk) for pk in range(1, 20_001)]
    assert busiest_minute(due) < 1 / 15 * 1.1


# --- the dispatcher -----------------------------------------------------------------------------
@pytest.fixture
def dispatch(django_capture_on_commit_callbacks):
    """Run one tick at `now`; returns (tick, ids sent), the syncs as sent after commit."""

    def run(now: dt.datetime = NOW, **options):
        sent: list[int] = []
        with django_capture_on_commit_callbacks(execute=True):
            tick = dispatch_due(now, send=lambda pk, every: sent.append(pk), **options)
        return tick, sent

    return run


ACCOUNTS = itertools.count()


def make(user, service, n: int, **fields) -> list[Connection]:
    made = [
        Connection.objects.create(
            user=user,
            service=service,
            external_account_id=f"acct-{next(ACCOUNTS)}",
            field_mapping={"project_id": "p"},
        )
        for _ in range(n)
    ]
    Connection.objects.filter(pk__in=[c.pk for c in made]).update(**fields)
    return made


def next_of(connection: Connection) -> dt.datetime | None:
    return Connection.objects.values_list("next_sync_at", flat=True).get(pk=connection.pk)


@pytest.mark.django_db
def test_due_connections_are_sent_and_moved_on_the_others_not(user, service, dispatch):
    due = make(user, service, 3, next_sync_at=at(-1))
    (later,) = make(user, service, 1, next_sync_at=at(1))
    (paused,) = make(user, service, 1, next_sync_at=None, status="paused")

    tick, sent = dispatch()

    assert sorted(sent) == sorted(c.pk for c in due)
    assert (tick.sent, tick.busy, tick.batches) == (3, 0, 1)
    for connection in due:
        assert next_of(connection) == at(-1) + Q + j(connection.pk)
    assert next_of(later) == at(1)
    assert next_of(paused) is None
    # the next tick, 30 s on, finds nothing
    assert dispatch(at(0.5))[1] == []


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["queued", "running"])
def test_a_connection_with_a_job_waiting_or_running_is_moved_on_not_sent(
    connection, dispatch, status
):
    Connection.objects.filter(pk=connection.pk).update(next_sync_at=at(-1))
    SyncJob.objects.create(connection=connection, status=status)

    tick, sent = dispatch()

    assert (sent, tick.busy) == ([], 1)
    assert next_of(connection) == at(-1) + Q + j(connection.pk)
    assert SyncJob.objects.count() == 1


@pytest.mark.django_db
def test_a_finished_job_or_a_preview_does_not_hold_the_connection_back(connection, dispatch):
    Connection.objects.filter(pk=connection.pk).update(next_sync_at=at(-1))
    SyncJob.objects.create(connection=connection, status="succeeded")
    SyncJob.objects.create(connection=connection, status="running", dry_run=True)

    assert dispatch()[1] == [connection.pk]


@pytest.mark.django_db
def test_more_due_than_a_batch_takes_several_batches_oldest_first(user, service, dispatch):
    made = make(user, service, 7)
    for minutes, connection in enumerate(made):
        Connection.objects.filter(pk=connection.pk).update(next_sync_at=at(-10 + minutes))

    tick, sent = dispatch(batch=3)

    assert sent == [c.pk for c in made]  # oldest due first
    assert (tick.sent, tick.batches) == (7, 3)
    assert all(next_of(c) > NOW for c in made)


@pytest.mark.django_db
def test_a_backlog_beyond_the_tick_is_left_due_for_the_next(user, service, dispatch):
    made = make(user, service, 5, next_sync_at=at(-1))

    first, sent = dispatch(batch=2, max_batches=2)
    _, sent_next = dispatch(at(0.5), batch=2, max_batches=2)

    assert (first.sent, len(sent), len(sent_next)) == (4, 4, 1)
    assert sorted(sent + sent_next) == sorted(c.pk for c in made)


@pytest.mark.django_db
def test_a_sent_sync_is_a_scheduled_request_that_coalesces(connection, celery_sent):
    """What the dispatcher sends: `sync.scheduled`, which asks `request_sync` like any trigger:
    one queued job, joined by a second ask."""
    first = tasks.scheduled.run(connection.pk)
    again = tasks.scheduled.run(connection.pk)

    job = SyncJob.objects.get()
    assert first == again == job.pk
    assert (job.trigger, job.kind, job.status) == ("schedule", "incremental", "queued")


@pytest.mark.django_db
def test_the_task_sends_each_due_connection_its_scheduled_sync_expiring_after_its_interval(
    connection, monkeypatch, django_capture_on_commit_callbacks
):
    Connection.objects.filter(pk=connection.pk).update(next_sync_at=at(-1))
    messages = []
    monkeypatch.setattr(
        tasks.scheduled,
        "apply_async",
        lambda args, kwargs=None, **options: messages.append((args, options)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.dispatch_due.run()

    assert result == {"sent": 1, "busy": 0, "refused": 0, "batches": 1}
    assert messages == [((connection.pk,), {"expires": 900.0})]


@pytest.mark.django_db
def test_a_broker_failure_costs_one_connection_one_turn_not_the_tick(
    user, service, django_capture_on_commit_callbacks
):
    made = make(user, service, 3, next_sync_at=at(-1))
    sent = []

    def send(pk, every):
        if pk == made[0].pk:
            raise ConnectionError("broker down")
        sent.append(pk)

    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due(NOW, send=send)

    assert sent == [c.pk for c in made[1:]]


@pytest.mark.django_db
def test_a_tick_costs_queries_per_batch_not_per_connection(user, service, dispatch):
    from django.test.utils import CaptureQueriesContext

    make(user, service, 30, next_sync_at=at(-1))
    with CaptureQueriesContext(db) as queries:
        tick, sent = dispatch(batch=10)

    assert len(sent) == 30
    # per batch: the claim and the move (plus savepoints in tests); one empty look at the end
    statements = [q for q in queries if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) <= 2 * tick.batches + 1, [q["sql"][:80] for q in statements]


# --- PostgreSQL: two dispatchers never wait for each other nor share a connection ------------
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_skip_locked_leaves_rows_another_transaction_holds(user, service):
    if db.vendor != "postgresql":
        pytest.skip("SKIP LOCKED: PostgreSQL (services tier)")
    made = make(user, service, 6, next_sync_at=at(-1))
    held = made[:2]
    locked, release = threading.Event(), threading.Event()

    def holder():
        from django.db import connection as own

        try:
            with transaction.atomic():
                list(Connection.objects.select_for_update().filter(pk__in=[c.pk for c in held]))
                locked.set()
                release.wait(timeout=30)
        finally:
            own.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        sent: list[int] = []
        tick = dispatch_due(NOW, send=lambda pk, every: sent.append(pk))  # does not wait
    finally:
        release.set()
        thread.join(timeout=30)

    assert sorted(sent) == sorted(c.pk for c in made[2:])
    assert tick.sent == 4
    assert all(next_of(c) == at(-1) for c in held)  # still due, for the next tick
    sent_next: list[int] = []
    dispatch_due(at(0.5), send=lambda pk, every: sent_next.append(pk))
    assert sorted(sent_next) == sorted(c.pk for c in held)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_send_each_connection_once(user, service):
    if db.vendor != "postgresql":
        pytest.skip("SKIP LOCKED: PostgreSQL (services tier)")
    made = make(user, service, 40, next_sync_at=at(-1))
    sent: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(2)

    def send(pk, every):
        with lock:
            sent.append(pk)

    def run():
        from django.db import connection as own

        try:
            start.wait(timeout=30)
            dispatch_due(NOW, batch=5, send=send)
        finally:
            own.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(sent) == sorted(c.pk for c in made)
