"""Confirming and restoring deletions that wait under the "ask" policy (sync/deletions.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from audit.models import AuditEvent
from dayflow.models import Event, Task
from integrations.models import Connection
from integrations.providers.errors import Permanent
from sync import deletions
from sync.models import ItemLink, JournalEntry, SyncJob, SyncLink
from tests.sync.conftest import task_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(connection, remote, run_sync):
    """Under "ask": "in dayflow" was deleted in DayFlow, "at service" at the service; both
    wait. Two more pairs stay linked. Returns {title: (task, remote id)}."""
    connection.deletion_policy = Connection.DeletionPolicy.ASK
    connection.save()
    titles = ["in dayflow", "at service", "kept", "kept too"]
    ids = {title: remote.add(**task_fields(title)) for title in titles}
    run_sync()
    pairs = {title: (Task.objects.get(title=title), ids[title]) for title in titles}
    pairs["in dayflow"][0].soft_delete()
    remote.remove(pairs["at service"][1])
    run_sync()
    assert deletions.waiting(connection).count() == 2
    return pairs


def link_of(task: Task) -> ItemLink:
    return ItemLink.objects.get(task=task)


def test_confirming_a_deletion_in_dayflow_deletes_the_services_copy(
    connection, remote, run_sync, waiting
):
    task, remote_id = waiting["in dayflow"]

    report = deletions.settle(connection, "confirm", link_of(task).pk)

    assert (report.done, report.failed) == (1, [])
    assert remote_id not in remote.items
    assert not ItemLink.objects.filter(task=task).exists()
    assert JournalEntry.objects.filter(reason="deletion confirmed", side="remote").count() == 1
    assert AuditEvent.objects.get(action="sync.deletion.confirmed").details["done"] == 1
    writes = remote.writes()
    assert run_sync(kind=SyncJob.Kind.FULL).local_created == 0
    assert remote.writes() == writes


def test_confirming_a_deletion_at_the_service_deletes_dayflows_copy(
    connection, remote, run_sync, waiting
):
    task, _remote_id = waiting["at service"]

    deletions.settle(connection, "confirm", link_of(task).pk)

    assert Task.all_objects.get(pk=task.pk).is_deleted
    assert not ItemLink.objects.filter(task=task).exists()
    writes = remote.writes()
    assert run_sync().remote_created == 0
    assert remote.writes() == writes


def test_restoring_a_deletion_in_dayflow_brings_it_back_as_the_service_holds_it(
    connection, remote, run_sync, waiting
):
    task, remote_id = waiting["in dayflow"]
    remote.edit(remote_id, title="edited there while it waited")
    run_sync()  # the pair waits: the edit is not brought in

    deletions.settle(connection, "restore", link_of(task).pk)

    task.refresh_from_db()
    assert (task.is_deleted, task.title) == (False, "edited there while it waited")
    link = link_of(task)
    assert (link.deletion_pending, link.deletion_pending_at) == ("", None)
    assert AuditEvent.objects.filter(action="sync.deletion.restored").exists()
    writes = remote.writes()
    assert run_sync(kind=SyncJob.Kind.FULL).processed == 0
    assert remote.writes() == writes


def test_restoring_a_deletion_at_the_service_sends_dayflows_copy_again(
    connection, remote, run_sync, waiting
):
    task, _old_id = waiting["at service"]
    task.title = "edited in DayFlow while it waited"
    task.save()

    deletions.settle(connection, "restore", link_of(task).pk)

    link = link_of(task)
    assert remote.calls["create"] == 1
    assert remote.items[link.remote_id].fields["title"] == "edited in DayFlow while it waited"
    assert remote.items[link.remote_id].dayflow_id == f"dayflow-task-{task.pk}"
    assert link.deletion_pending == ""
    writes = remote.writes()
    assert run_sync().processed == 0
    assert remote.writes() == writes


def test_all_of_a_connections_deletions_are_settled_at_once(connection, remote, waiting):
    report = deletions.settle(connection, "confirm")

    assert report.done == 2
    assert not deletions.waiting(connection).exists()
    assert ItemLink.objects.filter(connection=connection).count() == 2
    assert AuditEvent.objects.get(action="sync.deletion.confirmed").resource == (
        "all waiting deletions"
    )


def test_restoring_when_the_other_copy_is_gone_too_just_unlinks(connection, remote, waiting):
    task, remote_id = waiting["in dayflow"]
    remote.remove(remote_id)

    deletions.settle(connection, "restore", link_of(task).pk)

    assert Task.all_objects.get(pk=task.pk).is_deleted
    assert not ItemLink.objects.filter(task=task).exists()


def test_a_service_refusing_leaves_the_deletion_waiting(connection, remote, waiting):
    task, _remote_id = waiting["at service"]
    remote.fail_next("create", Permanent("refused", status=403, service="fake"))

    report = deletions.settle(connection, "restore", link_of(task).pk)

    assert (report.done, len(report.failed)) == (0, 1)
    link = link_of(task)
    assert link.deletion_pending == "remote"
    assert "refused" in link.last_error


def test_a_link_that_waits_for_nothing_is_refused_with_409(connection, waiting):
    task, _remote_id = waiting["kept"]

    with pytest.raises(deletions.DeletionRefused) as refused:
        deletions.settle(connection, "confirm", link_of(task).pk)

    assert refused.value.status == 409
    assert Task.objects.filter(pk=task.pk).exists()


def test_another_connections_link_is_not_found(connection, waiting, other_user, service):
    theirs = Connection.objects.create(user=other_user, service=service, external_account_id="b")
    task, _remote_id = waiting["in dayflow"]

    with pytest.raises(deletions.DeletionRefused) as refused:
        deletions.settle(theirs, "confirm", link_of(task).pk)

    assert refused.value.status == 404
    assert link_of(task).deletion_pending == "local"


def test_an_unknown_action_is_refused_with_400(connection, waiting):
    with pytest.raises(deletions.DeletionRefused) as refused:
        deletions.settle(connection, "shred")

    assert refused.value.status == 400
    assert deletions.waiting(connection).count() == 2


def test_the_admin_filters_links_by_their_waiting_deletion(admin_client, waiting):
    task, _remote_id = waiting["in dayflow"]

    listed = admin_client.get("/admin/sync/itemlink/", {"deletion_pending": "local"})

    assert listed.status_code == 200
    assert list(listed.context["cl"].result_list) == [link_of(task)]


def test_an_event_deleted_at_the_service_is_restored_from_dayflow(
    connection, remote, run_sync, user
):
    connection.deletion_policy = Connection.DeletionPolicy.ASK
    connection.save()
    # The fake service holds events too (the connection's Todoist has no calendar to link).
    SyncLink.objects.create(
        connection=connection, user=user, item_type="event", is_destination=True
    )
    event = Event.objects.create(
        user=user,
        title="Dentist",
        start=dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC),
        end=dt.datetime(2026, 3, 5, 10, tzinfo=dt.UTC),
        timezone="Europe/Berlin",
    )
    run_sync()
    link = ItemLink.objects.get(event=event)
    remote.remove(link.remote_id)
    run_sync()
    link.refresh_from_db()
    assert link.deletion_pending == "remote"

    deletions.settle(connection, "restore", link.pk)

    link.refresh_from_db()
    restored = remote.items[link.remote_id]
    assert (restored.item_type, restored.fields["title"]) == ("event", "Dentist")
    writes = remote.writes()
    assert run_sync().processed == 0
    assert remote.writes() == writes
