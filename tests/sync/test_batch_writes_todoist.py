"""Batched writes end to end: the engine over the real Todoist provider sends its creates,
updates and deletes as Sync commands, up to 100 writes per call, with Todoist faked at the
HTTP seam (tests/sync/todoist_server.py, the documented Sync shapes); a failure inside a
batch is that item's alone, and a batch retried after a crash duplicates nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import responses

from dayflow.models import Task
from integrations.clients import client_for
from integrations.models import Credential
from integrations.providers.base import Write, WriteResult
from integrations.providers.errors import RateLimited
from integrations.providers.todoist.provider import TodoistProvider
from sync import engine
from sync.engine.crash import CRASH_HOOKS
from sync.models import ItemLink, SyncJob
from tests.sync.todoist_server import PROJECT, TodoistServer

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """Stands for SIGKILL in-process: no handler of the engine runs (test_crash_providers.py
    kills a real worker)."""


class MeddledTodoist(TodoistProvider):
    """The real provider; `meddle` runs after the pull, before the first batch is sent: what
    a person does in Todoist meanwhile. `limited` names a write whose command Todoist answers
    with a 429 (`LIMITS_REACHED`, applied nothing), the batch's others applied."""

    meddle: Callable[[], None] | None = None
    limited: str = ""

    def write_batch(self, writes: list[Write]) -> list[WriteResult]:
        meddle, MeddledTodoist.meddle = MeddledTodoist.meddle, None
        if meddle is not None:
            meddle()
        limited, MeddledTodoist.limited = MeddledTodoist.limited, ""
        sent = [w for w in writes if w.fields.get("title") != limited]
        results = iter(super().write_batch(sent))
        return [
            RateLimited("todoist: item_add: Too many requests", retry_after=30.0)
            if w.fields.get("title") == limited
            else next(results)
            for w in writes
        ]


@pytest.fixture
def todoist(connection, use_provider):
    connection.field_mapping = {"project_id": PROJECT, "write_id_marker": True, "timezone": "UTC"}
    connection.save()
    Credential.objects.create(connection=connection, access_token="todo-live-token")
    server = TodoistServer()
    use_provider(lambda c: MeddledTodoist(c, http=client_for(c, rate=(0, 1.0))))
    with responses.RequestsMock() as mocked:
        server.install(mocked)
        yield server
    MeddledTodoist.meddle = None
    MeddledTodoist.limited = ""


@pytest.fixture
def sync(connection, todoist):
    def run() -> SyncJob:
        job = SyncJob.objects.create(connection=connection)
        engine.run_job(job.pk)
        job.refresh_from_db()
        assert job.status == "succeeded", job.error
        return job

    return run


def remote_id_of(task: Task) -> str:
    return ItemLink.objects.get(task=task).remote_id


def three_linked(sync: Callable[[], SyncJob], user: Any) -> list[Task]:
    tasks = [Task.objects.create(user=user, title=title) for title in ("a", "b", "c")]
    sync()
    for task in tasks:
        task.title = f"{task.title} edited"
        task.save()
    return tasks


def test_250_new_tasks_reach_todoist_in_3_sync_write_calls(sync, todoist, user):
    Task.objects.bulk_create([Task(user=user, title=f"task {n:03}") for n in range(250)])

    job = sync()

    assert todoist.write_calls == 3  # 100 + 100 + 50 adds
    assert job.api_calls == 4  # and the pull: each write call read its items back itself
    assert job.remote_created == 250
    contents = sorted(item["content"] for item in todoist.alive().values())
    assert contents == [f"task {n:03}" for n in range(250)]
    links = ItemLink.objects.exclude(remote_id="")
    assert links.count() == 250
    assert {link.remote_id for link in links} == set(todoist.alive())
    assert all(link.remote_version for link in links)
    calls, commands = todoist.write_calls, todoist.commands_sent
    assert sync().processed == 0  # our own writes came back: nothing to do
    assert (todoist.write_calls, todoist.commands_sent) == (calls, commands)


def test_a_task_changed_in_todoist_meanwhile_is_a_conflict_of_its_own(sync, todoist, user):
    a, b, c = three_linked(sync, user)
    MeddledTodoist.meddle = lambda: todoist.edit(remote_id_of(b), content="b in Todoist")
    writes_before = todoist.write_calls

    job = sync()

    assert todoist.write_calls == writes_before + 1  # the two other updates, in one call
    assert job.conflicts == 1
    assert job.remote_updated == 2
    assert todoist.items[remote_id_of(a)]["content"] == "a edited"
    assert todoist.items[remote_id_of(c)]["content"] == "c edited"
    assert todoist.items[remote_id_of(b)]["content"] == "b in Todoist"  # not overwritten


def test_a_task_deleted_in_todoist_meanwhile_fails_alone(sync, todoist, user):
    a, b, c = three_linked(sync, user)
    MeddledTodoist.meddle = lambda: todoist.remove(remote_id_of(b))

    job = sync()

    assert job.errors == 1
    assert job.remote_updated == 2
    assert todoist.items[remote_id_of(a)]["content"] == "a edited"
    assert todoist.items[remote_id_of(c)]["content"] == "c edited"
    assert ItemLink.objects.get(task=b).last_error  # the item's own error, for the next run
    assert not ItemLink.objects.get(task=a).last_error


def test_deletes_in_a_batch_and_one_already_gone(sync, todoist, user, connection):
    a, b, c = three_linked(sync, user)
    sync()
    ids = [remote_id_of(task) for task in (a, b, c)]
    connection.deletion_policy = "propagate"
    connection.save()
    Task.objects.filter(pk__in=[a.pk, b.pk]).delete()
    MeddledTodoist.meddle = lambda: todoist.remove(ids[0])

    job = sync()

    assert job.remote_deleted == 2  # one by us, one already gone: the outcome wanted
    assert job.errors == 0
    assert set(todoist.alive()) == {ids[2]}
    assert ItemLink.objects.count() == 1


def test_a_batch_retried_after_a_crash_before_its_links_duplicates_nothing(
    sync, todoist, user, connection, settings
):
    Task.objects.bulk_create([Task(user=user, title=f"task {n}") for n in range(5)])
    job = SyncJob.objects.create(connection=connection)

    def die() -> None:
        raise Killed

    CRASH_HOOKS["after_remote_batch"] = die
    try:
        with pytest.raises(Killed):
            engine.run_job(job.pk)
    finally:
        CRASH_HOOKS.clear()
    assert len(todoist.alive()) == 5
    assert set(ItemLink.objects.values_list("remote_id", flat=True)) == {""}  # intents only

    settings.DAYFLOW_SYNC_JOB_LEASE = 0
    engine.run_job(job.pk)

    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert len(todoist.alive()) == 5  # found by their marker, not added again
    assert {link.remote_id for link in ItemLink.objects.all()} == set(todoist.alive())
    assert sync().processed == 0


def test_a_rate_limit_inside_a_batch_records_the_others_then_waits(sync, todoist, user, connection):
    Task.objects.bulk_create([Task(user=user, title=t) for t in ("a", "b", "c")])
    MeddledTodoist.limited = "b"
    job = SyncJob.objects.create(connection=connection)

    engine.run_job(job.pk)

    job.refresh_from_db()
    assert job.status == "queued"  # requeued for after the wait, as any rate limit
    assert sorted(i["content"] for i in todoist.alive().values()) == ["a", "c"]
    linked = ItemLink.objects.exclude(remote_id="")
    assert sorted(link.task.title for link in linked) == ["a", "c"]  # recorded before the wait
    assert ItemLink.objects.get(task__title="b").remote_id == ""  # its intent, for the rerun

    engine.run_job(job.pk)  # the requeued job, once the wait is over

    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert sorted(i["content"] for i in todoist.alive().values()) == ["a", "b", "c"]
    assert ItemLink.objects.filter(remote_id="").count() == 0
