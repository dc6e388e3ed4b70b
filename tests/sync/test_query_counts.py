"""An incremental sync costs queries per change, not per linked item."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from dayflow.models import Task
from sync import engine
from sync import fields as codec
from sync.engine import plan
from sync.models import ItemLink, SyncCursor, SyncJob, SyncLink
from tests.sync.conftest import task_fields
from tests.sync.fakes import FakeProvider, FakeService, Stored

pytestmark = pytest.mark.django_db

LONG_AGO = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def linked_account(connection, size: int) -> FakeService:
    """Given `size` tasks already in sync: on the service, in DayFlow, linked, cursor stored."""
    remote = FakeService(page_size=100)
    tasks = Task.objects.bulk_create(
        [Task(user=connection.user, title=f"t{i}") for i in range(size)]
    )
    Task.objects.update(updated_at=LONG_AGO)
    links = []
    for i, task in enumerate(tasks):
        remote_id = f"r{i + 1}"
        fields = codec.task_fields(task)
        remote.items[remote_id] = Stored(
            "task", task_fields(task.title), 1, LONG_AGO, f"dayflow-task-{task.pk}", 0
        )
        links.append(
            ItemLink(
                connection=connection,
                item_type="task",
                task=task,
                remote_id=remote_id,
                remote_version="1",
                local_version=task.version,
                base=fields,
            )
        )
    ItemLink.objects.bulk_create(links, batch_size=1000)
    SyncLink.objects.filter(connection=connection).update(first_synced_at=LONG_AGO)
    remote.next_id = size
    SyncCursor.objects.create(
        connection=connection, value="seq:0", local_watermark=LONG_AGO + dt.timedelta(days=1)
    )
    return remote


def queries_for_ten_changes(connection, size: int, use_provider) -> int:
    remote = linked_account(connection, size)
    use_provider(lambda c: FakeProvider(c, remote))
    for remote_id in ("r1", "r2", "r3", "r4"):
        remote.edit(remote_id, title=f"{remote_id} edited remotely")
    remote.remove("r5")
    for task in Task.objects.order_by("-pk")[:4]:
        task.title += " edited locally"
        task.save()
    Task.objects.order_by("-pk")[4].soft_delete()
    job = SyncJob.objects.create(connection=connection)

    with CaptureQueriesContext(db) as queries:
        engine.run_job(job.pk)

    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert (job.local_updated, job.local_deleted, job.remote_updated, job.remote_deleted) == (
        4,
        1,
        4,
        1,
    )
    return len(queries)


def test_ten_changes_cost_the_same_queries_over_1000_and_10000_linked_items(
    connection, use_provider
):
    small = queries_for_ten_changes(connection, 1_000, use_provider)
    Task.all_objects.all().delete()
    ItemLink.objects.all().delete()
    SyncCursor.objects.all().delete()

    large = queries_for_ten_changes(connection, 10_000, use_provider)

    assert small == large
    # about six per change (link, journal, transaction) plus a fixed cost (the links once,
    # and the next scheduled sync moved on when the job ends: one UPDATE)
    assert small < 83


def test_after_a_first_sync_the_next_one_reads_only_changed_local_items(
    connection, monkeypatch, use_provider
):
    # given a first sync that imported 300 tasks: DayFlow wrote them after the run's start, so
    # they all lie past the local watermark the next run starts from
    remote = FakeService(page_size=100)
    use_provider(lambda c: FakeProvider(c, remote))
    for i in range(300):
        remote.add("task", **task_fields(f"t{i}"))
    job = SyncJob.objects.create(connection=connection, kind=SyncJob.Kind.FULL)
    engine.run_job(job.pk)
    assert Task.objects.count() == 300
    # and one of them edited in DayFlow since
    edited = Task.objects.order_by("pk").first()
    edited.title = "edited locally"
    edited.save()
    read: list[int] = []
    original = plan.links_of_locals

    def spy(run, item_type, pks):
        read.extend(pks)
        return original(run, item_type, pks)

    monkeypatch.setattr(plan, "links_of_locals", spy)
    # when the next incremental sync runs
    job = SyncJob.objects.create(connection=connection)
    engine.run_job(job.pk)
    # then only the edited task was loaded as a local change, not the 299 in step with their links
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert read == [edited.pk]
    assert remote.items[ItemLink.objects.get(task=edited).remote_id].fields["title"] == (
        "edited locally"
    )
