"""The engine and a connection's rules (`sync.rules`), against the fake service, at a fixed
instant: what does not match is neither imported nor created at the service, and an item that
stops matching is unlinked, never deleted on either side."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from dayflow.models import Event, Profile, Task
from integrations.models import Connection
from sync.engine import phases
from sync.models import ItemLink, SyncCursor, SyncJob
from tests.sync.conftest import task_fields

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def set_rules(connection: Connection, rules: dict) -> None:
    connection.sync_rules = rules
    connection.save()


def set_event_rules(connection: Connection, rules: dict) -> None:
    # The fixture's Todoist connection offers no events, so its validation refuses event
    # rules; the fake service carries both kinds, and this is what the engine reads.
    Connection.objects.filter(pk=connection.pk).update(sync_rules=rules)


def event_fields(title: str, day: dt.date) -> dict:
    start = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)
    return {
        "title": title,
        "start": start,
        "end": start + dt.timedelta(hours=1),
        "all_day": False,
        "timezone": "UTC",
    }


def test_a_status_rule_keeps_completed_tasks_out_both_ways(connection, remote, run_sync, user):
    set_rules(connection, {"task": {"status": "open"}})
    remote.add(**task_fields("open there"))
    remote.add(**task_fields("done there", status="done"))
    Task.objects.create(user=user, title="open here")
    Task.objects.create(user=user, title="done here", status="done")

    job = run_sync()

    assert job.status == SyncJob.Status.SUCCEEDED
    assert set(Task.objects.values_list("title", flat=True)) == {
        "open there",
        "open here",
        "done here",
    }
    titles = {stored.fields["title"] for stored in remote.items.values()}
    assert titles == {"open there", "done there", "open here"}
    assert ItemLink.objects.filter(connection=connection).count() == 2
    assert job.report["rules"] == {"left_out": 2, "unlinked": 0}


def test_a_due_window_with_undated_tasks(connection, remote, run_sync, user):
    set_rules(connection, {"task": {"due_within_days": 7, "undated": True}})
    remote.add(**task_fields("due in a week", due=dt.date(2026, 3, 17)))
    remote.add(**task_fields("due in a month", due=dt.date(2026, 4, 10)))
    remote.add(**task_fields("undated"))
    Task.objects.create(user=user, title="here, due later", due_date=dt.date(2026, 5, 1))

    run_sync()

    assert set(Task.objects.values_list("title", flat=True)) == {
        "due in a week",
        "undated",
        "here, due later",
    }
    assert remote.calls["create"] == 0


def test_events_outside_the_window_are_not_imported(connection, remote, run_sync):
    set_event_rules(connection, {"event": {"past_days": 30, "future_days": 365}})
    remote.add("event", **event_fields("next week", dt.date(2026, 3, 17)))
    remote.add("event", **event_fields("last year", dt.date(2025, 3, 1)))
    remote.add("event", **event_fields("in two years", dt.date(2028, 3, 1)))

    run_sync()

    assert list(Event.objects.values_list("title", flat=True)) == ["next week"]


def test_a_rule_change_unlinks_without_deleting_anything(connection, remote, run_sync, user):
    kept = remote.add(**task_fields("still open"))
    done = remote.add(**task_fields("done there", status="done"))
    Task.objects.create(user=user, title="done here", status="done")
    run_sync()
    assert ItemLink.objects.filter(connection=connection).count() == 3
    writes = remote.writes()

    set_rules(connection, {"task": {"status": "open"}})
    job = run_sync()

    assert job.status == SyncJob.Status.SUCCEEDED
    assert remote.writes() == writes  # no delete, no update at the service
    assert remote.calls["delete"] == 0
    assert set(remote.items) >= {kept, done}
    assert len(remote.items) == 3
    assert Task.all_objects.filter(deleted_at__isnull=False).count() == 0
    assert Task.objects.count() == 3
    linked = ItemLink.objects.filter(connection=connection)
    assert list(linked.values_list("task__title", flat=True)) == ["still open"]
    assert job.report["rules"] == {"left_out": 0, "unlinked": 2}


def test_widened_rules_sync_again_without_a_duplicate(connection, remote, run_sync, user):
    task = Task.objects.create(user=user, title="sent from here", due_date=dt.date(2026, 6, 1))
    run_sync()  # created at the service, carrying DayFlow's id
    set_rules(connection, {"task": {"due_within_days": 7}})
    run_sync()
    assert ItemLink.objects.filter(connection=connection).count() == 0  # let go, both kept

    set_rules(connection, {"task": {"due_within_days": 90}})
    job = run_sync()

    assert Task.objects.count() == 1
    assert len(remote.items) == 1  # matched by DayFlow's id, not copied
    assert ItemLink.objects.get(connection=connection).task_id == task.pk
    assert (job.local_created, job.remote_created) == (0, 0)


def test_new_rules_make_the_next_sync_list_everything_again(connection, remote, run_sync):
    remote.add(**task_fields("a"))
    run_sync()
    cursor = SyncCursor.objects.get(connection=connection)
    assert cursor.value
    assert cursor.local_watermark

    connection.sync_interval = 30
    connection.save()
    cursor.refresh_from_db()
    assert cursor.value, "a save that leaves the rules alone keeps the cursor"

    set_rules(connection, {"task": {"status": "open"}})
    cursor.refresh_from_db()
    assert (cursor.value, cursor.local_watermark) == ("", None)


def test_the_jobs_page_says_what_the_rules_did(connection, remote, run_sync, client, user):
    remote.add(**task_fields("done there", status="done"))
    remote.add(**task_fields("open there"))
    run_sync()
    set_rules(connection, {"task": {"status": "open"}})
    job = run_sync()
    client.force_login(user)

    text = " ".join(client.get(f"/sync/jobs/{job.pk}/").content.decode().split())

    assert (
        "By the connection's rules: 1 synced item stopped matching and was unlinked (kept as "
        "it was on both sides)." in text
    )


def test_a_task_drifting_into_the_due_window_syncs_on_a_later_day(
    connection, remote, run_sync, user
):
    set_rules(connection, {"task": {"due_within_days": 7}})
    with time_machine.travel(NOW - dt.timedelta(days=1), tick=False):
        Task.objects.create(user=user, title="in a month", due_date=dt.date(2026, 4, 10))
    run_sync()
    run_sync()  # the same day: incremental, nothing new
    assert remote.calls["create"] == 0

    with time_machine.travel(NOW + dt.timedelta(days=25), tick=False):
        run_sync()

    assert [stored.fields["title"] for stored in remote.items.values()] == ["in a month"]
    assert ItemLink.objects.filter(connection=connection).count() == 1


def test_a_task_completed_at_the_service_is_completed_here_then_let_go(
    connection, remote, run_sync, user
):
    set_rules(connection, {"task": {"status": "open"}})
    remote_id = remote.add(**task_fields("pay the rent"))
    run_sync()
    remote.edit(remote_id, status="done")

    job = run_sync()

    assert Task.objects.get().status == "done"
    assert ItemLink.objects.filter(connection=connection).count() == 0
    assert job.report["rules"] == {"left_out": 0, "unlinked": 1}
    assert remote.calls["delete"] == 0


def test_a_task_completed_here_is_completed_at_the_service_then_let_go(
    connection, remote, run_sync, user
):
    set_rules(connection, {"task": {"status": "open"}})
    task = Task.objects.create(user=user, title="call mum")
    run_sync()
    task.status = "done"
    task.save()

    run_sync()

    assert [stored.fields["status"] for stored in remote.items.values()] == ["done"]
    assert ItemLink.objects.filter(connection=connection).count() == 0
    assert remote.calls["delete"] == 0
    assert Task.objects.get().status == "done"


def test_widening_after_letting_go_an_imported_item_copies_it_without_dayflows_id(
    connection, remote, run_sync
):
    """The limit documented in architecture.md ("Rules: what syncs"): an item imported from
    the service carries no DayFlow id there, so once let go nothing pairs it again."""
    set_rules(connection, {"task": {"status": "open"}})
    remote_id = remote.add(**task_fields("imported"))
    run_sync()
    remote.edit(remote_id, status="done")
    run_sync()  # completed here too, then let go

    set_rules(connection, {})
    run_sync()

    assert Task.objects.filter(title="imported").count() == 2
    assert len(remote.items) == 2


def test_rules_changed_during_a_sync_leave_the_next_one_listing_everything(
    connection, remote, run_sync, monkeypatch
):
    remote.add(**task_fields("a"))
    run_sync()
    real_plan = phases.plan

    def plan_then_change_the_rules(run, pulled, watermark):
        pairs = real_plan(run, pulled, watermark)
        fresh = Connection.objects.get(pk=connection.pk)
        fresh.sync_rules = {"task": {"status": "open"}}
        fresh.save()  # the person saves new rules while this run writes
        return pairs

    monkeypatch.setattr(phases, "plan", plan_then_change_the_rules)
    run_sync()

    cursor = SyncCursor.objects.get(connection=connection)
    assert (cursor.value, cursor.local_watermark) == ("", None)


@pytest.mark.parametrize(("zone", "imported"), [("UTC", False), ("Pacific/Auckland", True)])
def test_the_rules_days_are_the_persons_own(connection, remote, run_sync, user, zone, imported):
    """At 12:00 UTC on 10 March it is already 11 March in Auckland (UTC+13): a task due on
    the 11th is due "today" for a person there, and tomorrow for one in UTC."""
    Profile.objects.create(user=user, timezone=zone)
    set_rules(connection, {"task": {"due_within_days": 0}})
    remote.add(**task_fields("due on the 11th", due=dt.date(2026, 3, 11)))

    run_sync()

    assert Task.objects.filter(title="due on the 11th").exists() is imported
