"""sync 0013: the per-connection beat rows become each connection's next_sync_at; the rows go.
Backwards it does nothing (the old code's post-migrate reconcile recreated its rows)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection as db
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from integrations.models import Connection, Service
from sync.schedule import spread

BEFORE = [("sync", "0012_link_handover")]
AFTER = [("sync", "0013_schedules_to_next_sync_at")]


def migrate(targets):
    executor = MigrationExecutor(db)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.fixture(autouse=True)
def _back_to_the_latest_migrations():
    yield
    executor = MigrationExecutor(db)
    executor.migrate(executor.loader.graph.leaf_nodes())


def old_row(connection: Connection, every: int, last_run: dt.datetime | None) -> None:
    """What sync.schedule.update_schedule wrote before 0013."""
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period="minutes")
    PeriodicTask.objects.create(
        name=f"sync connection {connection.pk}",
        task="sync.scheduled",
        interval=interval,
        args=json.dumps([connection.pk]),
        queue="sync",
        last_run_at=last_run,
    )


@pytest.mark.django_db(transaction=True)
def test_existing_schedules_move_to_next_sync_at_and_the_beat_rows_go(django_user_model):
    user = django_user_model.objects.create_user("ada")
    todoist = Service.objects.get(key="todoist")

    def connect(account: str, **fields) -> Connection:
        made = Connection.objects.create(
            user=user,
            service=todoist,
            external_account_id=account,
            field_mapping={"project_id": "p"},
        )
        Connection.objects.filter(pk=made.pk).update(**fields)
        return made

    now = timezone.now()
    recent = connect("recent", sync_interval=60)
    overdue = connect("overdue", last_sync_at=now - dt.timedelta(days=1))
    never = connect("never")
    paused = connect("paused", status="paused")
    manual = connect("manual", sync_direction="manual")
    off = connect("off", auto_sync=False)
    unset = connect("unset", field_mapping={})  # needs setup: no project
    migrate(BEFORE)  # after the saves: their receivers read today's tables (sync links)
    old_row(recent, 60, now - dt.timedelta(minutes=10))
    old_row(overdue, 15, now - dt.timedelta(hours=3))
    old_row(never, 15, None)
    every_five, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.create(
        name="sync recover jobs", task="sync.recover_jobs", interval=every_five
    )
    PeriodicTask.objects.create(name="heartbeat", task="dayflow.heartbeat", interval=every_five)
    Connection.objects.update(next_sync_at=None)  # the column is new: empty before 0013

    migrate(AFTER)

    after = timezone.now()
    due = dict(Connection.objects.values_list("pk", "next_sync_at"))
    # the old row's turn when it is still ahead: its last run plus its interval
    assert due[recent.pk] == now - dt.timedelta(minutes=10) + dt.timedelta(minutes=60)
    # overdue or never run: the connection's own point of the coming interval, not all at once
    for connection in (overdue, never):
        offset = dt.timedelta(minutes=15) * spread(connection.pk)
        assert now + offset - dt.timedelta(seconds=1) <= due[connection.pk]
        assert due[connection.pk] <= after + offset + dt.timedelta(seconds=1)
    for connection in (paused, manual, off, unset):
        assert due[connection.pk] is None
    assert list(PeriodicTask.objects.values_list("name", flat=True)) == ["heartbeat"]

    migrate(BEFORE)  # backwards: nothing undone, nothing broken

    assert dict(Connection.objects.values_list("pk", "next_sync_at")) == due
