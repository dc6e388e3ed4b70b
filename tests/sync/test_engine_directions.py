"""Direction per field through the engine, against the in-memory fake service."""

from __future__ import annotations

import datetime as dt

import pytest

from dayflow.models import Event, Task
from integrations.models import Connection
from tests.sync.conftest import task_fields

pytestmark = pytest.mark.django_db

NINE = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def directed(connection, **fields: str) -> None:
    connection.field_directions = {"task": fields}
    connection.save()


def linked_task(remote, run_sync) -> tuple[Task, str]:
    remote_id = remote.add(**task_fields("t", notes="n"))
    run_sync()
    return Task.objects.get(), remote_id


def edit_locally(task: Task, **fields) -> None:
    for name, value in fields.items():
        setattr(task, name, value)
    task.save()


def assert_second_run_writes_nothing(remote, run_sync) -> None:
    writes, versions = remote.writes(), list(Task.objects.values_list("version", flat=True))

    again = run_sync()

    assert (remote.writes(), again.processed) == (writes, 0)
    assert list(Task.objects.values_list("version", flat=True)) == versions


def test_two_way_by_default(connection, remote, run_sync):
    task, remote_id = linked_task(remote, run_sync)

    edit_locally(task, title="mine")
    run_sync()

    assert remote.items[remote_id].fields["title"] == "mine"
    assert_second_run_writes_nothing(remote, run_sync)


def test_from_the_service_keeps_a_local_edit_local(connection, remote, run_sync):
    task, remote_id = linked_task(remote, run_sync)
    directed(connection, title="from_service")

    edit_locally(task, title="mine")
    job = run_sync()

    assert remote.items[remote_id].fields["title"] == "t"
    task.refresh_from_db()
    assert task.title == "mine"
    assert job.remote_updated == 0
    assert_second_run_writes_nothing(remote, run_sync)


def test_from_the_service_still_takes_the_services_edit(connection, remote, run_sync):
    task, remote_id = linked_task(remote, run_sync)
    directed(connection, title="from_service")
    edit_locally(task, title="mine", notes="my notes")
    run_sync()

    remote.edit(remote_id, title="theirs")
    run_sync()

    task.refresh_from_db()
    assert (task.title, task.notes) == ("theirs", "my notes")
    assert remote.items[remote_id].fields["notes"] == "my notes"
    assert_second_run_writes_nothing(remote, run_sync)


def test_to_the_service_ignores_a_service_edit(connection, remote, run_sync):
    task, remote_id = linked_task(remote, run_sync)
    directed(connection, title="to_service")

    remote.edit(remote_id, title="theirs")
    job = run_sync()

    task.refresh_from_db()
    assert task.title == "t"
    assert job.local_updated == 0
    assert_second_run_writes_nothing(remote, run_sync)
    edit_locally(task, title="mine")
    run_sync()
    assert remote.items[remote_id].fields["title"] == "mine"


def test_off_keeps_each_sides_own_value(connection, remote, run_sync):
    task, remote_id = linked_task(remote, run_sync)
    directed(connection, title="off")

    edit_locally(task, title="mine")
    remote.edit(remote_id, title="theirs")
    run_sync()
    assert_second_run_writes_nothing(remote, run_sync)
    edit_locally(task, notes="my notes")  # a write of another field keeps the service's title
    run_sync()

    task.refresh_from_db()
    assert task.title == "mine"
    assert remote.items[remote_id].fields == {**task_fields("theirs"), "notes": "my notes"}
    assert_second_run_writes_nothing(remote, run_sync)


def test_an_events_time_kept_local_survives_the_services_other_edits(connection, remote, run_sync):
    remote_id = remote.add(
        "event",
        title="standup",
        description="",
        location="",
        start=NINE,
        end=NINE + dt.timedelta(hours=1),
        all_day=False,
        timezone="Europe/Paris",
    )
    run_sync()
    # The fixture's connection is Todoist's (tasks only); the fake service syncs events too.
    Connection.objects.filter(pk=connection.pk).update(
        field_directions={"event": {"time": "to_service"}}
    )

    remote.edit(remote_id, title="stand-up", start=NINE + dt.timedelta(hours=2))
    run_sync()

    event = Event.objects.get()
    assert (event.title, event.start, event.end) == ("stand-up", NINE, NINE + dt.timedelta(hours=1))
    assert_second_run_writes_nothing(remote, run_sync)


def test_from_the_service_takes_its_edit_even_when_dayflows_newer_edit_wins(
    connection, remote, run_sync
):
    task, remote_id = linked_task(remote, run_sync)
    connection.conflict_resolution = "latest"
    directed(connection, title="from_service")

    remote.edit(remote_id, title="theirs")
    edit_locally(task, notes="my notes")  # later than the service's edit: DayFlow's wins
    run_sync()

    task.refresh_from_db()
    assert (task.title, task.notes) == ("theirs", "my notes")
    assert remote.items[remote_id].fields == {**task_fields("theirs"), "notes": "my notes"}
    assert_second_run_writes_nothing(remote, run_sync)
