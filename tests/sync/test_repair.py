"""Resolving conflicts and undoing a job, against the fake service."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from dayflow.models import Task
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
