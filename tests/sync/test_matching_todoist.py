"""Matching at first sync over the real Todoist provider (Todoist faked at the HTTP seam): the
same tasks are linked, not copied, keeping the service's values where they differ."""

from __future__ import annotations

import pytest

from dayflow.models import Task
from sync import engine, matching, services
from sync.models import SyncJob
from tests.sync.test_e2e_todoist import sync, todoist

__all__ = ["sync", "todoist"]  # the fixtures, shared with the Todoist end-to-end tests

pytestmark = pytest.mark.django_db


def test_the_same_tasks_are_linked_not_copied(sync, todoist, user):
    # given two tasks on both sides (one respelled, one with other notes), one more on each
    todoist.add("Buy milk")
    todoist.add("Renew passport", description="at the town hall")
    todoist.add("Only in Todoist")
    Task.objects.create(user=user, title="buy  MILK")
    Task.objects.create(user=user, title="Renew passport", notes="online")
    Task.objects.create(user=user, title="Only in DayFlow")

    # when the preview runs and the person confirms both pairs, keeping Todoist's values
    preview = sync(kind=SyncJob.Kind.FULL, dry_run=True)
    pairs = preview.report["matching"]["pairs"]
    assert sorted(p["remote_title"] for p in pairs) == ["Buy milk", "Renew passport"]
    commands = todoist.commands_sent
    job, linked = services.confirm_preview(
        preview, [matching.pair_key(p) for p in pairs], "service"
    )
    assert linked.linked == 2
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == SyncJob.Status.SUCCEEDED, job.error

    # then each side holds 4 tasks, the pairs with Todoist's values
    assert len(todoist.alive()) == 4
    assert sorted(Task.objects.values_list("title", flat=True)) == [
        "Buy milk",
        "Only in DayFlow",
        "Only in Todoist",
        "Renew passport",
    ]
    assert Task.objects.get(title="Renew passport").notes == "at the town hall"
    assert todoist.commands_sent != commands  # "Only in DayFlow" was sent
    # and a second sync changes nothing
    assert sync().processed == 0
