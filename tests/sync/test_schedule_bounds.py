"""An absurd sync interval is never scheduled, and beat survives one that is already stored.

The incident: a settings POST stored sync_interval=2**62; beat built
timedelta(minutes=2**62), raised OverflowError on every start, and run.py stopped the app.
"""

from __future__ import annotations

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
from django.db import connection as db
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from dayflow.beat import Scheduler
from dayflow.celery import app as celery_app
from integrations.models import Connection
from sync.schedule import dispatch_due, reschedule

pytestmark = pytest.mark.django_db

HUGE = 4611686018427387904


@pytest.fixture
def unchecked_constraints():
    """Rows written before the check constraint existed (SQLite can switch it off)."""
    if db.vendor != "sqlite":
        pytest.skip("only SQLite can switch check constraints off")
    with db.cursor() as cursor:
        cursor.execute("PRAGMA ignore_check_constraints = ON")
    yield
    with db.cursor() as cursor:
        cursor.execute("PRAGMA ignore_check_constraints = OFF")


@pytest.fixture
def sent_by_dispatch(django_capture_on_commit_callbacks):
    def dispatch() -> list[int]:
        sent: list[int] = []
        with django_capture_on_commit_callbacks(execute=True):
            far = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
            dispatch_due(far, send=lambda pk, every: sent.append(pk))
        return sent

    return dispatch


def test_a_stored_absurd_interval_is_not_scheduled_and_puts_the_connection_in_error(
    connection, unchecked_constraints, sent_by_dispatch
):
    Connection.objects.filter(pk=connection.pk).update(sync_interval=HUGE)

    assert sent_by_dispatch() == []

    connection.refresh_from_db()
    assert connection.next_sync_at is None
    assert connection.status == Connection.Status.ERROR
    assert "at most 10080 minutes" in connection.last_error


def test_the_dispatcher_keeps_scheduling_the_other_connections(
    connection, user, service, unchecked_constraints, sent_by_dispatch
):
    healthy = Connection.objects.create(
        user=user, service=service, external_account_id="2", field_mapping={"project_id": "p"}
    )
    Connection.objects.filter(pk=connection.pk).update(sync_interval=HUGE)

    assert sent_by_dispatch() == [healthy.pk]


def test_reschedule_refuses_an_interval_beyond_a_week(connection):
    connection.sync_interval = 10081  # in memory only, as a row written before the bound

    assert reschedule(connection, interval_changed=True) is None
    connection.refresh_from_db()
    assert connection.next_sync_at is None
    assert connection.status == Connection.Status.ERROR


# PostgreSQL's integer column cannot even store HUGE: there the row is refused on write.
STORABLE_EVERYWHERE = 2**31 - 1
sqlite_only = pytest.mark.skipif(db.vendor != "sqlite", reason="the database refuses the row")


@pytest.mark.parametrize(
    "every", [pytest.param(HUGE, marks=sqlite_only), STORABLE_EVERYWHERE, 10**9]
)
def test_beat_loads_its_schedules_with_an_absurd_interval_row_present(every):
    absurd = IntervalSchedule.objects.create(every=every, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="absurd", task="sync.scheduled", interval=absurd)
    sane = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="sane", task="sync.recover_jobs", interval=sane)
    scheduler = Scheduler(app=celery_app, lazy=True)

    entries = scheduler.all_as_schedule()

    assert "sane" in entries
    assert "absurd" not in entries
    assert not PeriodicTask.objects.get(name="absurd").enabled
    assert all(entry.is_due() is not None for entry in entries.values())


@sqlite_only
def test_the_stock_scheduler_dies_on_such_a_row():
    """Where the OverflowError came from: timedelta(minutes=2**62) in the row's schedule."""
    absurd = IntervalSchedule.objects.create(every=HUGE, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="absurd", task="sync.scheduled", interval=absurd)

    with pytest.raises(OverflowError):
        DatabaseScheduler(app=celery_app, lazy=True).all_as_schedule()


def test_celery_uses_the_safe_scheduler():
    assert celery_app.conf.beat_scheduler == "dayflow.beat:Scheduler"


def test_an_interval_below_the_minimum_is_scheduled_at_the_minimum(connection):
    connection.sync_interval = 1  # in memory only, as a row older than the minimum
    connection.last_sync_at = None
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)

    due = reschedule(connection, interval_changed=True, now=now)

    assert dt.timedelta(minutes=5) <= due - now <= dt.timedelta(minutes=5.5)


def test_the_migration_brings_stored_intervals_within_the_bound(connection, unchecked_constraints):
    # The model has been renamed since (integrations 0003): hand the function today's class
    # under the name it asks for.
    apps = SimpleNamespace(get_model=lambda app_label, name: Connection)
    migration = importlib.import_module("integrations.migrations.0002_sync_interval_bounds")
    Connection.objects.filter(pk=connection.pk).update(sync_interval=HUGE)

    migration.bound_intervals(apps, None)

    connection.refresh_from_db()
    assert connection.sync_interval == 10080
    assert connection.status == Connection.Status.ERROR
    assert f"({HUGE} minutes) was out of range" in connection.last_error
