"""Resolving conflicts and undoing a job, against the fake service."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from dayflow.models import Event, Task
from integrations.providers.errors import Permanent
from sync import repair
from sync.models import Conflict, ItemLink, JournalEntry
from tests.sync.conftest import task_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def conflict(connection, remote, run_sync):
    """Given a task edited on both sides under the manual strategy: one open conflict."""
    remote_id = remote.add(**task_fields("t", notes="base"))
    run_sync()
    task = Task.objects.get()
    task.title = "mine"
    task.save()
    remote.edit(remote_id, title="theirs")
    run_sync()
    return Conflict.objects.get(status="open")


@pytest.mark.parametrize(
    ("resolution", "fields", "title"),
    [("local", None, "mine"), ("remote", None, "theirs"), ("merged", {"title": "both"}, "both")],
)
def test_resolving_writes_the_choice_to_both_sides(
    conflict, remote, run_sync, user, resolution, fields, title
):
    repair.resolve_conflict(conflict.pk, resolution, user=user, fields=fields)

    conflict.refresh_from_db()
    assert (conflict.status, conflict.resolution, conflict.resolved_by) == (
        "resolved",
        resolution,
        user,
    )
    assert Task.objects.get().title == title
    assert next(iter(remote.items.values())).fields["title"] == title
    assert AuditEvent.objects.filter(action="sync.conflict.resolved", actor=user).exists()
    writes = remote.writes()
    assert run_sync().processed == 0
    assert remote.writes() == writes


def test_the_losing_version_is_journaled(conflict, user):
    repair.resolve_conflict(conflict.pk, "remote", user=user)

    entry = JournalEntry.objects.get(reason="resolved", side="local")
    assert (entry.before["title"], entry.after["title"]) == ("mine", "theirs")


def test_a_conflict_the_service_changed_again_cannot_be_resolved_blindly(conflict, remote):
    remote.edit(next(iter(remote.items)), title="theirs again")

    with pytest.raises(repair.CannotResolve):
        repair.resolve_conflict(conflict.pk, "local")
    conflict.refresh_from_db()
    assert conflict.status == "open"


def test_undo_reverts_updates_and_deletions_on_both_sides(connection, remote, run_sync, user):
    edited = remote.add(**task_fields("before"))
    removed = remote.add(**task_fields("will be deleted"))
    remote.add(**task_fields("x"))
    remote.add(**task_fields("y"))
    run_sync()
    remote.edit(edited, title="after")
    remote.remove(removed)
    job = run_sync()

    report = repair.undo_job(job.pk, user=user)

    assert (report.reverted, report.skipped) == (2, [])
    assert set(Task.objects.values_list("title", flat=True)) == {
        "before",
        "will be deleted",
        "x",
        "y",
    }
    assert sorted(s.fields["title"] for s in remote.items.values()) == [
        "before",
        "will be deleted",
        "x",
        "y",
    ]
    assert ItemLink.objects.count() == 4
    assert run_sync().processed == 0


def test_undo_skips_and_reports_what_changed_since(connection, remote, run_sync, user):
    remote_id = remote.add(**task_fields("before"))
    run_sync()
    remote.edit(remote_id, title="after")
    job = run_sync()
    task = Task.objects.get()
    task.title = "edited later"
    task.save()

    report = repair.undo_job(job.pk, user=user)

    assert report.reverted == 0
    assert report.skipped[0]["why"] == "changed since the job"
    assert Task.objects.get().title == "edited later"


def test_undo_of_a_push_removes_the_created_remote_copy(connection, remote, run_sync, user):
    Task.objects.create(user=user, title="local")
    job = run_sync()
    assert len(remote.items) == 1

    report = repair.undo_job(job.pk)

    assert report.reverted == 1
    assert remote.items == {}
    assert Task.objects.get().title == "local"


def test_undo_of_a_push_lists_the_items_it_left_unsynced_until_sent_again(
    connection, remote, run_sync, user, client
):
    # given two DayFlow tasks that a sync pushed to the service
    first = Task.objects.create(user=user, title="first")
    second = Task.objects.create(user=user, title="second")
    job = run_sync()
    assert len(remote.items) == 2
    # when the job is undone
    report = repair.undo_job(job.pk, user=user)
    # then the service's copies are gone, DayFlow keeps both, and both links say so
    assert (report.reverted, report.unlinked) == (2, 2)
    assert remote.items == {}
    assert set(Task.objects.values_list("title", flat=True)) == {"first", "second"}
    links = ItemLink.objects.filter(task__in=[first, second]).order_by("pk")
    assert [(link.remote_id, link.undone_at is not None) for link in links] == [("", True)] * 2
    # and the job's page lists them, with the action that sends them again
    client.force_login(user)
    page = client.get(reverse("sync:job", args=[job.pk]))
    assert list(page.context["undone"]) == list(links)
    assert b"first" in page.content
    assert b"second" in page.content
    assert reverse("sync:job-control", args=[job.pk, "send-again"]).encode() in page.content
    # and later syncs leave them alone rather than recreating them behind the user's back
    assert run_sync(kind="full").processed == 0
    assert remote.items == {}
    # when the user sends them again
    client.post(reverse("sync:job-control", args=[job.pk, "send-again"]))
    # then the service has them again, linked, and both sides agree
    assert sorted(s.fields["title"] for s in remote.items.values()) == ["first", "second"]
    assert sorted(remote.by_dayflow_id()) == [
        f"dayflow-task-{first.pk}",
        f"dayflow-task-{second.pk}",
    ]
    assert not ItemLink.objects.filter(undone_at__isnull=False).exists()
    assert list(client.get(reverse("sync:job", args=[job.pk])).context["undone"]) == []
    writes = remote.writes()
    assert run_sync(kind="full").processed == 0
    assert remote.writes() == writes


def test_undo_of_an_import_keeps_the_service_item_listed_until_sent_again(
    connection, remote, run_sync, user
):
    # given an item of the service that a sync imported into DayFlow
    remote.add(**task_fields("kept"))
    run_sync()
    remote_id_new = remote.add(**task_fields("imported"))
    job = run_sync()
    # when the job is undone
    report = repair.undo_job(job.pk, user=user)
    # then DayFlow's copy is gone, the service's stays, and the link is marked undone
    assert (report.reverted, report.unlinked) == (1, 1)
    assert not Task.objects.filter(title="imported").exists()
    assert remote.items[remote_id_new].fields["title"] == "imported"
    link = ItemLink.objects.get(remote_id=remote_id_new)
    assert link.undone_at is not None
    assert list(repair.undone_links(job)) == [link]
    # and a full sync neither imports it again nor deletes it at the service
    assert run_sync(kind="full").processed == 0
    assert remote_id_new in remote.items
    assert not Task.objects.filter(title="imported").exists()
    # when the user sends it again, after it changed at the service
    remote.edit(remote_id_new, title="imported, edited")
    sent = repair.send_again(job.pk, user=user)
    # then DayFlow has the service's current version, linked, and both sides agree
    assert (sent.sent, sent.failed) == (1, [])
    link.refresh_from_db()
    assert (link.undone_at, link.task.title, link.task.is_deleted) == (
        None,
        "imported, edited",
        False,
    )
    assert run_sync(kind="full").processed == 0
    assert AuditEvent.objects.filter(action="sync.job.sent_again", actor=user).exists()


def test_sending_again_is_a_post_of_the_jobs_owner_only(
    connection, remote, run_sync, user, other_user, client
):
    Task.objects.create(user=user, title="mine")
    job = run_sync()
    repair.undo_job(job.pk, user=user)
    url = reverse("sync:job-control", args=[job.pk, "send-again"])

    client.force_login(other_user)
    assert client.post(url).status_code == 404
    client.force_login(user)
    assert client.get(url).status_code == 405

    assert remote.items == {}
    assert ItemLink.objects.get().undone_at is not None


def test_a_deletion_the_service_refuses_to_restore_stays_deleted_on_both_sides(
    connection, remote, run_sync, user
):
    # given a sync that applied a deletion made at the service
    remote.add(**task_fields("kept"))
    removed = remote.add(**task_fields("removed"))
    run_sync()
    remote.remove(removed)
    job = run_sync()
    # when undoing it while the service refuses to take the item back
    remote.fail_next("create", Permanent("over quota", service="fake"))
    report = repair.undo_job(job.pk, user=user)
    # then nothing is restored on either side, and the entry is left to undo later
    assert report.reverted == 0
    assert report.skipped[0]["why"].startswith("the service refused")
    assert set(Task.objects.values_list("title", flat=True)) == {"kept"}
    assert len(remote.items) == 1
    # and a later undo, once the service takes it, restores both sides
    assert repair.undo_job(job.pk, user=user).reverted == 1
    assert set(Task.objects.values_list("title", flat=True)) == {"kept", "removed"}
    assert run_sync().processed == 0


def test_the_admin_shows_undone_links_and_sends_them_again(
    connection, remote, run_sync, user, admin_client
):
    Task.objects.create(user=user, title="pushed")
    job = run_sync()
    repair.undo_job(job.pk, user=user)

    listed = admin_client.get("/admin/sync/itemlink/", {"undone_at__isempty": "0"})
    assert list(listed.context["cl"].result_list) == [ItemLink.objects.get()]
    response = admin_client.post(
        "/admin/sync/syncjob/",
        {"action": "send_again", "_selected_action": [job.pk]},
        follow=True,
    )

    assert f"Job {job.pk}: sent again 1, failed 0." in response.content.decode()
    assert [s.fields["title"] for s in remote.items.values()] == ["pushed"]
    assert ItemLink.objects.get().undone_at is None


def test_a_merged_event_reaches_both_sides_and_the_next_sync_finds_nothing(
    connection, remote, run_sync, user
):
    # given an event renamed on both sides, moved in DayFlow only, and placed at the service only
    remote_id = remote.add(
        "event",
        title="Standup",
        description="",
        location="",
        status="confirmed",
        start=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
        end=dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC),
        all_day=False,
        timezone="Europe/Paris",
        rrule="",
        exdates=[],
        recurrence_id="",
        series_remote_id="",
    )
    run_sync()
    event = Event.objects.get()
    event.title = "Daily standup"
    event.start = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    event.save()
    remote.edit(remote_id, title="Team standup", location="Room 4")
    run_sync()
    conflict = Conflict.objects.get(status="open")

    # when the person merges, taking the service's title
    repair.resolve_conflict(conflict.pk, "merged", user=user, choices={"title": "remote"})

    # then both sides hold the service's title, DayFlow's new start and the service's room
    event.refresh_from_db()
    stored = remote.items[remote_id].fields
    assert (event.title, event.start.hour, event.location) == ("Team standup", 8, "Room 4")
    assert (stored["title"], stored["start"].hour, stored["location"]) == (
        "Team standup",
        8,
        "Room 4",
    )
    # and the next sync writes nothing and raises no conflict
    writes = remote.writes()
    job = run_sync()
    assert (job.conflicts, remote.writes()) == (0, writes)
    assert not Conflict.objects.filter(status="open").exists()
