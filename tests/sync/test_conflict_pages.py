"""The conflict inbox and a conflict's page: grouped and filtered, field by field in words,
settled by keeping a side or merging per field (one by one or in bulk), and the next sync then
finds both sides equal with nothing to do."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dayflow.models import Profile, Task
from integrations.models import Connection
from sync.models import Conflict, ItemLink
from tests.sync.conftest import task_fields

pytestmark = pytest.mark.django_db

DUE = "2026-03-05T08:00:00+00:00"
LATER = "2026-03-05T10:00:00+00:00"


@pytest.fixture
def logged_in(client, user):
    Profile.objects.update_or_create(user=user, defaults={"timezone": "Europe/Berlin"})
    client.force_login(user)
    return client


@pytest.fixture
def conflict(connection, remote, run_sync) -> Conflict:
    """Given a task whose title changed on both sides, whose priority changed in DayFlow only
    and whose due time changed at the service only (manual strategy): one open conflict."""
    remote_id = remote.add(**task_fields("Report", due=DUE))
    run_sync()
    task = Task.objects.get()
    task.title, task.priority = "Write the report", 3
    task.save()
    remote.edit(remote_id, title="Report (draft)", due=LATER)
    run_sync()
    return Conflict.objects.get(status="open")


def stored(remote) -> dict:
    return next(iter(remote.items.values())).fields


def assert_both_sides_hold(remote, run_sync, **expected):
    task = Task.objects.get()
    fields = stored(remote)
    for name, value in expected.items():
        local = task.due_at.isoformat() if name == "due" else getattr(task, name)
        remote_value = fields[name].isoformat() if name == "due" else fields[name]
        assert (name, local, remote_value) == (name, value, value)
    writes = remote.writes()
    job = run_sync()
    assert job.conflicts == 0
    assert not Conflict.objects.filter(status="open").exists()
    assert remote.writes() == writes  # nothing left to send: the base is the result


# --- the detail page ------------------------------------------------------------------------
def test_the_page_shows_each_field_in_words_with_clashes_and_merges_marked(logged_in, conflict):
    page = logged_in.get(reverse("sync:conflict", args=[conflict.pk])).content.decode()

    assert "<h3>Title" in page
    assert "Changed on both sides" in page  # a text marker, not only a colour
    assert "Merged automatically (from DayFlow)" in page  # the priority
    assert "Merged automatically (from Todoist)" in page  # the due time
    assert "Thu 5 Mar 2026, 11:00" in page  # the service's due, in Berlin
    assert "High" in page  # the priority in words
    assert "Times in Europe/Berlin" in page
    assert "completed_at" not in page.replace('id="field-completed_at"', "")


def test_keep_dayflows_version_keeps_the_services_separate_time_change(
    logged_in, conflict, remote, run_sync
):
    # the bug: keeping DayFlow's version threw the service's due-time change away
    response = logged_in.post(
        reverse("sync:conflict-resolve", args=[conflict.pk]), {"resolution": "local"}
    )

    assert response.status_code == 302
    assert_both_sides_hold(remote, run_sync, title="Write the report", priority=3, due=LATER)


def test_keep_the_services_version_keeps_dayflows_separate_change(
    logged_in, conflict, remote, run_sync
):
    logged_in.post(reverse("sync:conflict-resolve", args=[conflict.pk]), {"resolution": "remote"})

    assert_both_sides_hold(remote, run_sync, title="Report (draft)", priority=3, due=LATER)


def test_a_merge_with_a_typed_title_reaches_both_sides(logged_in, conflict, remote, run_sync):
    response = logged_in.post(
        reverse("sync:conflict-resolve", args=[conflict.pk]),
        {"resolution": "merged", "choice-title": "edit", "edit-title": "Write the final report"},
    )

    assert response.status_code == 302
    conflict.refresh_from_db()
    assert conflict.resolution == "merged"
    assert_both_sides_hold(remote, run_sync, title="Write the final report", priority=3, due=LATER)


@pytest.mark.parametrize(
    "form",
    [
        {"resolution": "merged"},  # the title clashes: it must be chosen
        {"resolution": "merged", "choice-title": "middle"},
        {"resolution": "merged", "choice-title": "edit", "edit-title": " "},
        {"resolution": "merged", "choice-title": "edit", "edit-title": "x" * 501},
        {"resolution": "both"},
    ],
)
def test_a_merge_that_does_not_settle_it_changes_nothing(logged_in, conflict, remote, form):
    response = logged_in.post(reverse("sync:conflict-resolve", args=[conflict.pk]), form)

    assert response.status_code == 400
    assert "Nothing was changed" in response.content.decode()
    conflict.refresh_from_db()
    assert conflict.status == "open"
    assert (Task.objects.get().title, stored(remote)["title"]) == (
        "Write the report",
        "Report (draft)",
    )


def test_a_typed_due_time_is_read_in_the_persons_zone(logged_in, connection, remote, run_sync):
    remote_id = remote.add(**task_fields("Call", due=DUE))
    run_sync()
    task = Task.objects.get()
    task.due_at = task.due_at.replace(hour=7)
    task.save()
    remote.edit(remote_id, due=LATER)
    run_sync()
    conflict = Conflict.objects.get()

    bad = logged_in.post(
        reverse("sync:conflict-resolve", args=[conflict.pk]),
        {"resolution": "merged", "choice-due": "edit", "edit-due": "2026-02-30T10:00"},
    )
    assert bad.status_code == 400
    logged_in.post(
        reverse("sync:conflict-resolve", args=[conflict.pk]),
        {"resolution": "merged", "choice-due": "edit", "edit-due": "2026-03-06T10:00"},
    )

    assert Task.objects.get().due_at.isoformat() == "2026-03-06T09:00:00+00:00"  # Berlin +1


# --- the inbox ------------------------------------------------------------------------------
def make_conflicts(connection, n: int, item_type: str = "task") -> list[Conflict]:
    made = []
    for i in range(n):
        link = ItemLink.objects.create(
            connection=connection, item_type=item_type, remote_id=f"{item_type}-{i}"
        )
        base = task_fields("t", due=DUE)
        made.append(
            Conflict.objects.create(
                link=link,
                base=base,
                local={**base, "title": f"mine {i}"},
                remote={**base, "title": f"theirs {i}", "due": LATER},
                fields=["due", "title"],
            )
        )
    return made


def test_the_inbox_groups_by_connection_and_says_what_clashed(logged_in, connection, user, service):
    other = Connection.objects.create(user=user, service=service, external_account_id="acct-2")
    make_conflicts(connection, 1)
    make_conflicts(other, 1, "event")

    page = logged_in.get(reverse("sync:conflicts")).content.decode()

    assert page.count('<section aria-labelledby="connection-') == 2
    assert "mine 0" in page
    assert "Title changed on both sides" in page  # the due changed at the service only
    only_events = logged_in.get(reverse("sync:conflicts"), {"item_type": "event"})
    assert [g["connection"] for g in only_events.context["groups"]] == [other]
    only_first = logged_in.get(reverse("sync:conflicts"), {"connection": connection.pk})
    assert [g["connection"] for g in only_first.context["groups"]] == [connection]
    junk = logged_in.get(reverse("sync:conflicts"), {"connection": "x", "item_type": "y"})
    assert junk.status_code == 200


def test_the_inbox_costs_the_same_queries_for_2_or_40(logged_in, connection):
    def queries() -> int:
        with CaptureQueriesContext(db) as captured:
            assert logged_in.get(reverse("sync:conflicts")).status_code == 200
        return len(captured)

    make_conflicts(connection, 2)
    few = queries()
    ItemLink.objects.all().delete()
    make_conflicts(connection, 40)
    assert queries() == few


def test_bulk_settling_the_ticked_conflicts(
    logged_in, connection, other_user, service, monkeypatch
):
    mine = make_conflicts(connection, 3)
    theirs_connection = Connection.objects.create(
        user=other_user, service=service, external_account_id="b"
    )
    theirs = make_conflicts(theirs_connection, 1)[0]
    settled = []

    def fake_resolve(pk, resolution, **kwargs):
        settled.append((pk, resolution))
        Conflict.objects.filter(pk=pk).update(status="resolved", resolution=resolution)

    monkeypatch.setattr("sync.repair.resolve_conflict", fake_resolve)
    logged_in.post(
        reverse("sync:conflicts-bulk"),
        {"resolution": "remote", "conflict": [mine[0].pk, theirs.pk]},
    )
    logged_in.post(
        reverse("sync:conflicts-bulk"),
        {"resolution": "local", "scope": "shown", "shown": [c.pk for c in mine]},
    )
    logged_in.post(
        reverse("sync:conflicts-bulk"), {"resolution": "merged", "conflict": [mine[1].pk]}
    )
    logged_in.post(
        reverse("sync:conflicts-bulk"),
        {"resolution": "local", "conflict": [str(n) for n in range(101)]},
    )

    assert settled == [(mine[0].pk, "remote"), (mine[1].pk, "local"), (mine[2].pk, "local")]
    theirs.refresh_from_db()
    assert theirs.status == "open"


def test_bulk_settling_writes_both_sides(logged_in, conflict, remote, run_sync):
    logged_in.post(
        reverse("sync:conflicts-bulk"), {"resolution": "local", "conflict": [conflict.pk]}
    )

    assert_both_sides_hold(remote, run_sync, title="Write the report", priority=3, due=LATER)


def event_fields(**extra) -> dict:
    fields = {
        "title": "Yoga",
        "description": "",
        "location": "",
        "status": "confirmed",
        "all_day": True,
        "start": "2026-12-05",
        "end": "2026-12-06",
        "timezone": "",
        "rrule": "FREQ=WEEKLY;BYDAY=SA",
        "exdates": [],
        "recurrence_id": "",
        "series_remote_id": "",
    }
    fields.update(extra)
    return fields


def test_an_events_page_reads_rules_all_day_ends_and_yes_no_in_words(logged_in, connection):
    link = ItemLink.objects.create(connection=connection, item_type="event", remote_id="e1")
    base = event_fields()
    conflict = Conflict.objects.create(
        link=link,
        base=base,
        local={**base, "rrule": "FREQ=WEEKLY;BYDAY=SA,SU"},
        remote={**base, "rrule": "FREQ=DAILY;COUNT=3"},
    )

    page = logged_in.get(reverse("sync:conflict", args=[conflict.pk])).content.decode()

    assert "Every week on Sat, Sun" in page
    assert "Every day, 3 times" in page
    assert "Sat 5 Dec 2026 (last day)" in page  # the exclusive end, as the last day
    assert "<h3>Repeats" in page
    assert "<h3>All day" in page
    assert "<dd>Yes</dd>" in page
    assert "FREQ=" not in page  # rules in words only


def test_one_side_gone_leaves_only_keeping_the_other_whole(logged_in, connection):
    link = ItemLink.objects.create(connection=connection, item_type="task", remote_id="t1")
    conflict = Conflict.objects.create(
        link=link, base=task_fields("t"), local=None, remote=task_fields("theirs")
    )

    page = logged_in.get(reverse("sync:conflict", args=[conflict.pk])).content.decode()
    assert "nothing can be merged" in page
    assert 'value="local"' not in page
    response = logged_in.post(
        reverse("sync:conflict-resolve", args=[conflict.pk]), {"resolution": "merged"}
    )
    assert response.status_code == 400
    conflict.refresh_from_db()
    assert conflict.status == "open"


def test_a_conflict_changed_again_at_the_service_is_not_settled_blindly(
    logged_in, conflict, remote
):
    remote.edit(next(iter(remote.items)), title="Report (final)")

    response = logged_in.post(
        reverse("sync:conflict-resolve", args=[conflict.pk]), {"resolution": "local"}
    )

    assert response.status_code == 302
    assert response.url == reverse("sync:conflict", args=[conflict.pk])
    conflict.refresh_from_db()
    assert conflict.status == "open"
    assert stored(remote)["title"] == "Report (final)"
