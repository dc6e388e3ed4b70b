"""Matching at first sync over the real CalDAV provider and Radicale: the same event on both
sides is offered, linked on confirmation, and the sync then makes no duplicate."""

from __future__ import annotations

import datetime as dt

import pytest

from dayflow.models import Event
from sync import engine, matching, services
from sync.models import ItemLink, SyncJob
from tests.sync.test_e2e_caldav import PARIS, Server, caldav, local_event, sync

__all__ = ["caldav"]  # the fixture, shared with the CalDAV end-to-end tests

pytestmark = pytest.mark.django_db


def test_the_same_event_is_linked_not_copied(caldav: Server, user):
    # given "Standup" on the server and in DayFlow (same start, respelled, another location)
    standup_uid = caldav.put("Standup", day=10)
    caldav.put("Only on the server", day=11)
    Event.objects.create(
        user=user,
        title="STANDUP!",
        location="Room 4",
        start=dt.datetime(2026, 3, 10, 9, tzinfo=PARIS),
        end=dt.datetime(2026, 3, 10, 10, tzinfo=PARIS),
        timezone="Europe/Paris",
    )
    local_event(user, "Only in DayFlow")

    # when the first sync's preview runs
    preview = sync(caldav, kind=SyncJob.Kind.FULL, dry_run=True)

    # then it offers the one pair
    pairs = preview.report["matching"]["pairs"]
    assert [(p["local_title"], p["remote_title"]) for p in pairs] == [("STANDUP!", "Standup")]
    assert standup_uid in pairs[0]["remote_id"]

    # when the person confirms it, keeping DayFlow's values, and the sync runs
    job, linked = services.confirm_preview(preview, [matching.pair_key(pairs[0])], "dayflow")
    assert linked.linked == 1
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == SyncJob.Status.SUCCEEDED, job.error

    # then both sides hold 3 events, the pair with DayFlow's title and location
    assert caldav.titles() == sorted(["Only in DayFlow", "Only on the server", "STANDUP!"])
    assert Event.objects.count() == 3
    link = ItemLink.objects.get(remote_id=pairs[0]["remote_id"])
    assert caldav.events()[link.remote_id]["location"] == "Room 4"
    # and a second sync changes nothing
    assert sync(caldav).processed == 0
