"""The engine end to end over the real Todoist provider, with Todoist faked at the HTTP seam
(`responses`) in the documented shapes of API v1's Sync endpoint and tasks resource
(tests/fixtures/todoist/, https://developer.todoist.com/api/v1/#tag/Sync)."""

from __future__ import annotations

from typing import Any

import pytest
import responses

from dayflow.models import Task
from integrations.clients import client_for
from integrations.models import Credential
from integrations.providers.todoist.provider import TodoistProvider
from sync import engine, jobs
from sync.engine import phases
from sync.engine.crash import CRASH_HOOKS
from sync.models import Conflict, ItemLink, JournalEntry, SyncJob
from tests.sync.todoist_server import PROJECT, TodoistServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def todoist(connection, use_provider):
    connection.field_mapping = {"project_id": PROJECT, "write_id_marker": True, "timezone": "UTC"}
    connection.save()
    Credential.objects.create(connection=connection, access_token="todo-live-token")
    server = TodoistServer()
    use_provider(lambda c: TodoistProvider(c, http=client_for(c, rate=(0, 1.0))))
    with responses.RequestsMock() as mocked:
        server.install(mocked)
        yield server


@pytest.fixture
def sync(connection, todoist):
    def run(**job_fields: Any) -> SyncJob:
        job = SyncJob.objects.create(connection=connection, **job_fields)
        engine.run_job(job.pk)
        job.refresh_from_db()
        assert job.status in ("succeeded", "needs_confirmation"), job.error
        return job

    return run


def test_full_then_incremental_both_ways_with_echo_suppression(sync, todoist, user):
    buy = todoist.add("Buy milk", priority=4)
    Task.objects.create(user=user, title="Write report", notes="Q1")

    first = sync()

    assert Task.objects.get(title="Buy milk").priority == 4
    pushed = next(i for i in todoist.alive().values() if i["content"] == "Write report")
    assert "dayflow-task-" in pushed["description"]  # DayFlow's id marker, for crash recovery
    assert (first.local_created, first.remote_created) == (1, 1)

    # the pull, then the command call, which reads the created task back in the same call
    assert first.api_calls == 2
    commands = todoist.commands_sent
    echo = sync()
    assert todoist.commands_sent == commands  # our own write came back: not a change
    assert echo.processed == 0

    todoist.edit(buy, content="Buy oat milk")
    report = Task.objects.get(title="Write report")
    report.status = "done"
    report.save()
    sync()

    assert Task.objects.filter(title="Buy oat milk").exists()
    assert todoist.items[pushed["id"]]["checked"] is True
    assert sync().processed == 0


def test_deletions_both_ways(sync, todoist, user, settings):
    settings.DAYFLOW_SYNC_MASS_DELETE_MIN = 100
    gone_remote = todoist.add("remote delete")
    todoist.add("stays")
    Task.objects.create(user=user, title="local delete")
    sync()

    todoist.remove(gone_remote)
    Task.objects.get(title="local delete").soft_delete()
    job = sync()

    assert Task.objects.filter(title="remote delete").count() == 0
    assert [i["content"] for i in todoist.alive().values()] == ["stays"]
    assert (job.local_deleted, job.remote_deleted) == (1, 1)


@pytest.mark.parametrize(
    ("strategy", "local_title", "remote_title", "open_conflicts"),
    [
        ("manual", "mine", "theirs", 1),
        ("source", "theirs", "theirs", 0),
        ("latest", "mine", "mine", 0),  # DayFlow's edit is the later one
        ("merge", "mine", "theirs", 1),  # the same field on both sides: manual for this item
    ],
)
def test_conflicts_under_each_strategy(
    sync, todoist, connection, strategy, local_title, remote_title, open_conflicts
):
    connection.conflict_resolution = strategy
    connection.save()
    item_id = todoist.add("original")
    sync()
    todoist.edit(item_id, content="theirs")
    task = Task.objects.get()
    task.title = "mine"
    task.save()

    sync()

    assert Task.objects.get().title == local_title
    assert todoist.items[item_id]["content"] == remote_title
    assert Conflict.objects.filter(status="open").count() == open_conflicts
    if strategy in ("source", "latest"):
        assert JournalEntry.objects.filter(reason=f"lost:{strategy}").exists()


def test_merge_of_different_fields_writes_both_sides(sync, todoist, connection):
    connection.conflict_resolution = "merge"
    connection.save()
    item_id = todoist.add("original")
    sync()
    todoist.edit(item_id, priority=4)
    task = Task.objects.get()
    task.title = "renamed"
    task.save()

    sync()

    task.refresh_from_db()
    assert (task.title, task.priority) == ("renamed", 4)
    assert (todoist.items[item_id]["content"], todoist.items[item_id]["priority"]) == ("renamed", 4)


def test_the_mass_deletion_guard(sync, todoist):
    ids = [todoist.add(f"t{i}") for i in range(6)]
    sync()
    for item_id in ids[:4]:
        todoist.remove(item_id)

    job = sync()

    assert job.status == "needs_confirmation"
    assert Task.objects.count() == 6
    jobs.confirm_job(job.pk)
    engine.run_job(job.pk)
    assert Task.objects.count() == 2


class Killed(BaseException):
    """Stands for SIGKILL in-process: no handler of the engine runs (see test_crash.py for
    the real signal)."""


def test_a_crash_between_the_create_and_the_link_save_leaves_no_duplicate(
    sync, todoist, user, connection, settings
):
    Task.objects.create(user=user, title="pushed once")
    job = SyncJob.objects.create(connection=connection)

    def die() -> None:
        raise Killed

    CRASH_HOOKS["after_remote_create"] = die
    try:
        with pytest.raises(Killed):
            engine.run_job(job.pk)
    finally:
        CRASH_HOOKS.clear()
    assert len(todoist.alive()) == 1
    assert ItemLink.objects.get().remote_id == ""  # the intent, not yet the link

    settings.DAYFLOW_SYNC_JOB_LEASE = 0
    engine.run_job(job.pk)

    job.refresh_from_db()
    assert job.status == "succeeded"
    assert len(todoist.alive()) == 1
    assert ItemLink.objects.get().remote_id == next(iter(todoist.alive()))
    assert sync().processed == 0


@pytest.mark.parametrize(("control", "status"), [("pause", "paused"), ("cancel", "cancelled")])
def test_pause_and_cancel_stop_at_the_next_batch_and_resume_finishes(
    sync, todoist, connection, settings, monkeypatch, control, status
):
    settings.DAYFLOW_SYNC_BATCH = 4
    for i in range(12):
        todoist.add(f"t{i}")
    job = SyncJob.objects.create(connection=connection)

    apply_batch = phases.apply_batch

    def asked_during_the_run(run, batch):
        apply_batch(run, batch)
        SyncJob.objects.filter(pk=job.pk).update(control=control)

    monkeypatch.setattr(phases, "apply_batch", asked_during_the_run)
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert (job.status, Task.objects.count(), job.processed) == (status, 4, 4)

    monkeypatch.setattr(phases, "apply_batch", apply_batch)
    if control == "pause":
        assert jobs.resume_job(job.pk)
        engine.run_job(job.pk)
        job.refresh_from_db()
        assert (job.status, Task.objects.count()) == ("succeeded", 12)
    assert sync().processed == (0 if control == "pause" else 8)
