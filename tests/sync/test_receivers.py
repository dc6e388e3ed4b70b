"""Beat schedules follow the connection's settings and lifecycle; disconnect cleans up."""

from __future__ import annotations

import json

import pytest
from django_celery_beat.models import PeriodicTask

from dayflow.models import Event, Task
from integrations.models import Connection
from integrations.signals import connection_disconnecting, connection_status_changed
from sync.models import ItemLink, SyncJob
from sync.schedule import task_name

pytestmark = pytest.mark.django_db


def schedule_of(connection) -> PeriodicTask | None:
    return PeriodicTask.objects.filter(name=task_name(connection.pk)).first()


def test_a_new_connection_is_scheduled_at_its_interval(connection):
    task = schedule_of(connection)

    assert (task.task, task.enabled, task.queue) == ("sync.scheduled", True, "sync")
    assert json.loads(task.args) == [connection.pk]
    assert (task.interval.every, task.interval.period) == (15, "minutes")


def test_changing_the_interval_retimes_the_schedule(connection):
    connection.sync_interval = 30
    connection.save()

    assert schedule_of(connection).interval.every == 30
    assert PeriodicTask.objects.filter(name=task_name(connection.pk)).count() == 1


@pytest.mark.parametrize(
    ("changes", "scheduled"),
    [
        ({"auto_sync": False}, False),
        ({"sync_direction": "manual"}, False),
        ({"sync_direction": "one_way"}, True),
    ],
)
def test_settings_add_or_remove_the_schedule(connection, changes, scheduled):
    for name, value in changes.items():
        setattr(connection, name, value)
    connection.save()

    assert (schedule_of(connection) is not None) is scheduled


@pytest.mark.parametrize("status", ["paused", "needs_reauth", "error"])
def test_a_status_change_removes_the_schedule_and_resuming_restores_it(connection, status):
    old = connection.status
    Connection.objects.filter(pk=connection.pk).update(status=status)
    connection.refresh_from_db()
    connection_status_changed.send(Connection, connection=connection, old=old, new=status)
    assert schedule_of(connection) is None

    Connection.objects.filter(pk=connection.pk).update(status="connected")
    connection.refresh_from_db()
    connection_status_changed.send(Connection, connection=connection, old=status, new="connected")
    assert schedule_of(connection).enabled is True
    assert schedule_of(connection).interval.every == connection.sync_interval


def test_pausing_cancels_waiting_jobs_and_stops_the_running_one(connection):
    waiting = SyncJob.objects.create(connection=connection)
    running = SyncJob.objects.create(connection=connection, status="running")
    Connection.objects.filter(pk=connection.pk).update(status="paused")
    connection.refresh_from_db()

    connection_status_changed.send(Connection, connection=connection, old="connected", new="paused")

    waiting.refresh_from_db()
    running.refresh_from_db()
    assert waiting.status == "cancelled"
    assert running.control == "cancel"


@pytest.mark.parametrize(
    ("keep_items", "left"),
    [(True, {"linked", "unlinked", "linked elsewhere"}), (False, {"unlinked", "linked elsewhere"})],
)
def test_disconnect_removes_the_schedule_and_optionally_the_linked_items(
    connection, user, service, keep_items, left
):
    other = Connection.objects.create(
        user=user, service=service, external_account_id="acct-2", field_mapping={"project_id": "p"}
    )
    linked = Task.objects.create(user=user, title="linked")
    Task.objects.create(user=user, title="unlinked")
    elsewhere = Task.objects.create(user=user, title="linked elsewhere")
    event = Event.objects.create(user=user, title="linked event")
    ItemLink.objects.create(connection=connection, item_type="task", task=linked, remote_id="r1")
    ItemLink.objects.create(connection=connection, item_type="event", event=event, remote_id="r2")
    ItemLink.objects.create(connection=other, item_type="task", task=elsewhere, remote_id="r1")

    connection_disconnecting.send(Connection, connection=connection, keep_items=keep_items)

    assert schedule_of(connection) is None
    assert schedule_of(other) is not None
    assert set(Task.objects.values_list("title", flat=True)) == left
    assert Event.objects.exists() is keep_items


def test_deleting_a_connection_removes_its_schedule(connection):
    connection.delete()
    assert not PeriodicTask.objects.filter(name__startswith="sync connection").exists()


def test_reconcile_brings_every_schedule_in_step(connection, user, service):
    from sync.schedule import reconcile_schedules

    paused = Connection.objects.create(user=user, service=service, external_account_id="p")
    PeriodicTask.objects.all().delete()
    Connection.objects.filter(pk=paused.pk).update(status="paused")

    reconcile_schedules()

    assert schedule_of(connection) is not None
    assert schedule_of(paused) is None
