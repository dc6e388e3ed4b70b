"""Each connection's next_sync_at follows its settings and lifecycle; disconnect cleans up."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django_celery_beat.models import PeriodicTask

from dayflow.models import Event, Task
from integrations.models import Connection
from integrations.signals import connection_disconnecting, connection_status_changed
from sync.models import ItemLink, SyncJob
from sync.schedule import jitter

pytestmark = pytest.mark.django_db

THEN = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def schedule_of(connection) -> dt.datetime | None:
    return Connection.objects.values_list("next_sync_at", flat=True).get(pk=connection.pk)


def step(connection, minutes: int) -> dt.timedelta:
    every = dt.timedelta(minutes=minutes)
    return every + jitter(connection.pk, every)


def test_a_new_connection_is_due_one_interval_later_and_has_no_beat_row(user, service):
    with time_machine.travel(THEN, tick=False):
        connection = Connection.objects.create(
            user=user, service=service, external_account_id="new", field_mapping={"project_id": "p"}
        )

    assert schedule_of(connection) == THEN + step(connection, 15)
    assert not PeriodicTask.objects.filter(task="sync.scheduled").exists()


def test_changing_the_interval_retimes_the_schedule_from_the_last_sync(connection):
    Connection.objects.filter(pk=connection.pk).update(last_sync_at=THEN)
    connection.refresh_from_db()
    with time_machine.travel(THEN + dt.timedelta(minutes=2), tick=False):
        connection.sync_interval = 30
        connection.save()

    assert schedule_of(connection) == THEN + step(connection, 30)


def test_a_new_interval_already_past_makes_it_due_at_once(connection):
    Connection.objects.filter(pk=connection.pk).update(last_sync_at=THEN)
    connection.refresh_from_db()
    later = THEN + dt.timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        connection.sync_interval = 60
        connection.save()

    assert schedule_of(connection) == later


def test_other_saves_leave_the_wait_alone(connection):
    Connection.objects.filter(pk=connection.pk).update(next_sync_at=THEN)
    connection.refresh_from_db()

    connection.label = "renamed"
    connection.conflict_resolution = "latest"
    connection.save()
    connection.save(update_fields=["last_sync_at", "last_error"])

    assert schedule_of(connection) == THEN


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
    with time_machine.travel(THEN, tick=False):
        connection_status_changed.send(
            Connection, connection=connection, old=status, new="connected"
        )
    assert schedule_of(connection) == THEN + step(connection, connection.sync_interval)


def test_set_status_alone_keeps_the_schedule_in_step(connection):
    from integrations.tokens import set_status

    set_status(connection, "paused")
    assert schedule_of(connection) is None
    set_status(connection, "connected")
    assert schedule_of(connection) is not None


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


def test_a_finished_sync_sets_the_next_one_a_step_later(connection):
    from sync import jobs

    job = SyncJob.objects.create(connection=connection, status="running")
    with time_machine.travel(THEN, tick=False):
        jobs.finish(job, "succeeded")

    assert schedule_of(connection) == THEN + step(connection, 15)


@pytest.mark.parametrize(("status", "final"), [("failed", True), ("paused", False)])
def test_only_a_final_end_moves_the_schedule(connection, status, final):
    from sync import jobs

    Connection.objects.filter(pk=connection.pk).update(next_sync_at=THEN)
    job = SyncJob.objects.create(connection=connection, status="running")
    later = THEN + dt.timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        jobs.finish(job, status, final=final)

    assert schedule_of(connection) == (later + step(connection, 15) if final else THEN)


def test_a_finished_sync_of_an_unscheduled_connection_leaves_it_unscheduled(connection):
    from sync import jobs

    Connection.objects.filter(pk=connection.pk).update(status="paused", next_sync_at=None)
    job = SyncJob.objects.create(connection=connection, status="running")
    jobs.finish(job, "cancelled")

    assert schedule_of(connection) is None
