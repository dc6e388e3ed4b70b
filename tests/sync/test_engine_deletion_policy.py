"""Each deletion policy end to end, both ways, over two runs, against the fake service."""

from __future__ import annotations

import pytest

from dayflow.models import Task
from sync.models import ItemLink, SyncJob
from tests.sync.conftest import task_fields

pytestmark = pytest.mark.django_db

Status = SyncJob.Status


@pytest.fixture
def linked(connection, remote, run_sync):
    """Four tasks synced both ways (so one deletion is no mass deletion): (task, remote id)."""
    ids = [remote.add(**task_fields(f"t{i}")) for i in range(4)]
    run_sync()
    return [(Task.objects.get(title=f"t{i}"), remote_id) for i, remote_id in enumerate(ids)]


def use_policy(connection, policy: str) -> None:
    connection.deletion_policy = policy
    connection.save()


# --- propagate -----------------------------------------------------------------------------------
def test_propagate_deletes_the_services_copy(connection, remote, run_sync, linked):
    task, remote_id = linked[0]
    task.soft_delete()

    first = run_sync()
    writes = remote.writes()
    second = run_sync(kind=SyncJob.Kind.FULL)

    assert remote_id not in remote.items
    assert (first.remote_deleted, remote.calls["delete"]) == (1, 1)
    assert not ItemLink.objects.filter(task=task).exists()
    assert (second.status, remote.writes()) == (Status.SUCCEEDED, writes)


def test_propagate_deletes_dayflows_copy(connection, remote, run_sync, linked):
    task, remote_id = linked[0]
    remote.remove(remote_id)

    first = run_sync()
    second = run_sync(kind=SyncJob.Kind.FULL)

    assert Task.all_objects.get(pk=task.pk).is_deleted
    assert first.local_deleted == 1
    assert not ItemLink.objects.filter(task=task).exists()
    assert second.processed == 0


def test_propagate_keeps_the_mass_deletion_guard(connection, remote, run_sync, linked):
    for _task, remote_id in linked[:3]:
        remote.remove(remote_id)

    job = run_sync()

    assert job.status == Status.NEEDS_CONFIRMATION
    assert Task.objects.count() == 4
    assert not ItemLink.objects.exclude(deletion_pending="").exists()


# --- unlink only ---------------------------------------------------------------------------------
def test_unlink_keeps_the_services_copy_and_never_brings_it_back(
    connection, remote, run_sync, linked
):
    use_policy(connection, "unlink")
    task, remote_id = linked[0]
    task.soft_delete()
    writes = remote.writes()

    first = run_sync()
    remote.edit(remote_id, title="edited at the service afterwards")
    second = run_sync()
    third = run_sync(kind=SyncJob.Kind.FULL)

    assert remote_id in remote.items
    assert remote.writes() == writes
    assert ItemLink.objects.get(task=task).deletion_pending == "unlinked"
    assert Task.all_objects.get(pk=task.pk).is_deleted
    assert Task.all_objects.count() == 4  # not imported again
    assert (first.status, second.local_created, third.local_created) == (Status.SUCCEEDED, 0, 0)


def test_unlink_keeps_dayflows_copy_and_never_sends_it_again(connection, remote, run_sync, linked):
    use_policy(connection, "unlink")
    task, remote_id = linked[0]
    remote.remove(remote_id)
    writes = remote.writes()

    run_sync()
    task.refresh_from_db()
    task.title = "edited in DayFlow afterwards"
    task.save()
    second = run_sync()
    run_sync(kind=SyncJob.Kind.FULL)

    task.refresh_from_db()
    assert not task.is_deleted
    assert remote.writes() == writes
    assert remote.calls["create"] == 0
    assert ItemLink.objects.get(task=task).deletion_pending == "unlinked"
    assert second.remote_created == 0


# --- ask -----------------------------------------------------------------------------------------
def test_ask_leaves_a_deletion_in_dayflow_waiting(connection, remote, run_sync, linked):
    use_policy(connection, "ask")
    task, remote_id = linked[0]
    task.soft_delete()
    writes = remote.writes()

    first = run_sync()
    remote.edit(remote_id, title="edited at the service meanwhile")
    run_sync()
    run_sync(kind=SyncJob.Kind.FULL)

    link = ItemLink.objects.get(task=task)
    assert (link.deletion_pending, link.deletion_pending_at is not None) == ("local", True)
    assert Task.all_objects.get(pk=task.pk).is_deleted
    assert remote.items[remote_id].fields["title"] == "edited at the service meanwhile"
    assert remote.writes() == writes
    assert (first.remote_deleted, Task.all_objects.count()) == (0, 4)


def test_ask_leaves_a_deletion_at_the_service_waiting(connection, remote, run_sync, linked):
    use_policy(connection, "ask")
    task, remote_id = linked[0]
    remote.remove(remote_id)
    writes = remote.writes()

    first = run_sync()
    task.refresh_from_db()
    task.title = "edited in DayFlow meanwhile"
    task.save()
    run_sync()

    task.refresh_from_db()
    assert not task.is_deleted
    assert ItemLink.objects.get(task=task).deletion_pending == "remote"
    assert remote.writes() == writes
    assert first.local_deleted == 0


@pytest.mark.parametrize("policy", ["ask", "unlink"])
def test_deletions_that_only_wait_or_unlink_are_no_mass_deletion(
    connection, remote, run_sync, linked, policy
):
    use_policy(connection, policy)
    for _task, remote_id in linked:
        remote.remove(remote_id)

    job = run_sync()

    assert job.status == Status.SUCCEEDED
    assert Task.objects.count() == 4
    assert ItemLink.objects.exclude(deletion_pending="").count() == 4


def test_both_copies_deleted_just_unlinks_under_ask(connection, remote, run_sync, linked):
    use_policy(connection, "ask")
    task, remote_id = linked[0]
    task.soft_delete()
    remote.remove(remote_id)

    run_sync()

    assert not ItemLink.objects.filter(task=task).exists()
