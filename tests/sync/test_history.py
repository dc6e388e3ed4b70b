"""Sync history: the list of a person's jobs (filters, pages, the 30-day charts), each job's
page in words, and the navigation's conflicts count; only one's own, in a constant number of
queries, and hostile query strings never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.models import Connection, Service
from sync import history
from sync.models import Conflict, ItemLink, JournalEntry, SyncJob

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 20, 15, 0, tzinfo=dt.UTC)
JOBS = reverse("sync:jobs")


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


def make_job(connection: Connection, at: dt.datetime, *, took: int = 30, **fields) -> SyncJob:
    fields.setdefault("status", SyncJob.Status.SUCCEEDED)
    job = SyncJob.objects.create(connection=connection, **fields)
    finished = at + dt.timedelta(seconds=took) if fields["status"] != "queued" else None
    SyncJob.objects.filter(pk=job.pk).update(
        created_at=at - dt.timedelta(seconds=5), started_at=at, finished_at=finished
    )
    job.refresh_from_db()
    return job


def another_connection(user, key: str = "fastmail", account: str = "acct-2") -> Connection:
    return Connection.objects.create(
        user=user, service=Service.objects.get(key=key), external_account_id=account
    )


# --- the list ---------------------------------------------------------------------------------
def test_the_list_shows_ones_own_jobs_newest_first_in_words(logged_in, connection, other_user):
    old = make_job(connection, NOW - dt.timedelta(days=2), local_created=12, remote_updated=3)
    new = make_job(connection, NOW, status="failed", error="worker lost")
    theirs = another_connection(other_user, "todoist", "bob")
    make_job(theirs, NOW)

    page = logged_in.get(JOBS)

    assert [row["job"] for row in page.context["rows"]] == [new, old]
    text = page.content.decode()
    assert "Imported 12 tasks, sent 3 changes to Todoist" in text
    assert "Failed" in text
    assert reverse("sync:job", args=[old.pk]) in text


@pytest.mark.parametrize(
    ("result", "kept"),
    [
        ("succeeded", {"done"}),
        ("failed", {"failed"}),
        ("cancelled", {"cancelled"}),
        ("active", {"queued", "paused"}),
        ("preview", {"preview"}),
        ("", {"done", "failed", "cancelled", "queued", "paused", "preview"}),
    ],
)
def test_the_result_filter(logged_in, connection, result, kept):
    jobs = {
        "done": make_job(connection, NOW),
        "failed": make_job(connection, NOW, status="failed"),
        "cancelled": make_job(connection, NOW, status="cancelled"),
        "queued": make_job(connection, NOW, status="queued"),
        "paused": make_job(connection, NOW, status="paused"),
        "preview": make_job(connection, NOW, dry_run=True),
    }

    shown = {row["job"].pk for row in logged_in.get(JOBS, {"result": result}).context["rows"]}

    assert shown == {jobs[name].pk for name in kept}


def test_the_connection_filter(logged_in, user, connection):
    fastmail = another_connection(user)
    mine = make_job(fastmail, NOW)
    make_job(connection, NOW)

    with time_machine.travel(NOW, tick=False):
        page = logged_in.get(JOBS, {"connection": fastmail.pk})

    assert [row["job"] for row in page.context["rows"]] == [mine]
    assert f'<option value="{fastmail.pk}" selected>' in page.content.decode()
    assert [item["chart"].connection for item in page.context["charts"]] == [fastmail]


@pytest.mark.parametrize(
    "query",
    [
        {"connection": "abc"},
        {"connection": "99999999999999999999999"},
        {"connection": "-1"},
        {"result": "everything"},
        {"result": "x" * 5000},
        {"page": "abc"},
        {"page": "99999999999"},
        {"page": "-3"},
        {"connection": ["1", "2"], "result": ["failed", "succeeded"]},
    ],
)
def test_bad_filters_are_ignored_never_a_500(logged_in, connection, query):
    make_job(connection, NOW)

    page = logged_in.get(JOBS, query)

    assert page.status_code == 200
    assert len(page.context["rows"]) == 1


def test_another_persons_connection_is_no_filter_and_shows_nothing_of_theirs(
    logged_in, connection, other_user
):
    theirs = another_connection(other_user, "todoist", "bob")
    make_job(theirs, NOW)
    mine = make_job(connection, NOW)

    page = logged_in.get(JOBS, {"connection": theirs.pk})

    assert [row["job"] for row in page.context["rows"]] == [mine]
    assert "bob" not in page.content.decode()


def test_the_list_is_paginated_and_pages_keep_the_filters(logged_in, connection):
    for minute in range(30):
        make_job(connection, NOW - dt.timedelta(minutes=minute), status="failed")

    first = logged_in.get(JOBS, {"result": "failed"})
    second = logged_in.get(JOBS, {"result": "failed", "page": 2})

    assert len(first.context["rows"]) == 25
    assert len(second.context["rows"]) == 5
    assert "?result=failed&amp;page=2" in first.content.decode()


def test_the_list_needs_signing_in(client):
    assert client.get(JOBS).status_code == 302


def _queries(client) -> int:
    with CaptureQueriesContext(db) as queries:
        assert client.get(JOBS).status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_jobs_or_connections(logged_in, user, connection):
    with time_machine.travel(NOW, tick=False):
        make_job(connection, NOW - dt.timedelta(days=1))
        few = _queries(logged_in)
        for index in range(4):
            extra = another_connection(user, account=f"acct-{index + 10}")
            for day in range(8):
                make_job(extra, NOW - dt.timedelta(days=day), status="failed")
        link = ItemLink.objects.create(connection=connection, item_type="task", remote_id="r")
        Conflict.objects.create(link=link, local={"title": "a"}, remote={"title": "b"})

        many = _queries(logged_in)

    assert many == few


# --- the charts -------------------------------------------------------------------------------
def test_the_chart_counts_each_day_in_the_database(logged_in, connection):
    with time_machine.travel(NOW, tick=False):
        make_job(connection, NOW - dt.timedelta(hours=1), local_created=2, remote_updated=1)
        make_job(connection, NOW - dt.timedelta(hours=2), took=90, local_updated=4)
        make_job(connection, NOW - dt.timedelta(days=3), status="failed")
        make_job(connection, NOW - dt.timedelta(days=3), dry_run=True, local_created=50)
        make_job(connection, NOW - dt.timedelta(days=31), local_created=99)  # too old

        chart = logged_in.get(JOBS).context["charts"][0]["chart"]

    assert len(chart.days) == 30
    assert chart.days[-1].day == dt.date(2026, 3, 20)
    today, three_days_ago = chart.days[-1], chart.days[-4]
    assert (today.jobs, today.changed, today.failures) == (2, 7, 0)
    assert today.duration == dt.timedelta(seconds=60)
    assert (three_days_ago.jobs, three_days_ago.changed, three_days_ago.failures) == (1, 0, 1)
    assert chart.total_changed == 7


def test_the_chart_days_are_the_servers_days(logged_in, connection, settings):
    settings.TIME_ZONE = "America/New_York"
    # 02:00 UTC on the 20th is still the evening of the 19th in New York
    with time_machine.travel(NOW, tick=False):
        make_job(connection, dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC), local_created=1)
        chart = logged_in.get(JOBS).context["charts"][0]["chart"]

    assert [day.day for day in chart.active_days] == [dt.date(2026, 3, 19)]


def test_the_chart_has_its_numbers_as_a_table(logged_in, connection):
    with time_machine.travel(NOW, tick=False):
        make_job(connection, NOW, local_created=5)
        text = logged_in.get(JOBS).content.decode()

    assert "<table" in text
    assert "Fri 20 Mar" in text
    assert 'aria-hidden="true"' in text  # the drawing; the table is what is read out


# --- words ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ({"local_created": 12}, "Imported 12 tasks"),
        (
            {"local_created": 1, "remote_created": 2, "conflicts": 1},
            "Imported 1 task, sent 2 changes to Todoist, 1 conflict",
        ),
        (
            {"local_updated": 3, "local_deleted": 1},
            "Updated 3 tasks in DayFlow, deleted 1 task in DayFlow",
        ),
        ({"remote_deleted": 1}, "Sent 1 change to Todoist"),
        ({"errors": 2}, "2 items not synced (errors)"),
        ({}, "Nothing to change"),
        ({"status": "failed"}, "Nothing changed"),
        ({"status": "queued"}, ""),
        (
            {
                "dry_run": True,
                "report": {
                    "preview": {
                        "local": {"create": 3},
                        "remote": {"update": 2},
                        "both": {"conflict": 0},
                    }
                },
            },
            "Would: import 3 tasks, send 2 changes to Todoist",
        ),
    ],
)
def test_a_jobs_summary_in_one_line(connection, fields, line):
    fields.setdefault("status", "succeeded")
    assert history.summary(SyncJob(connection=connection, **fields)) == line


@pytest.mark.parametrize(
    ("error", "status", "words", "action"),
    [
        ("rate limited: slow down", "connected", "It will retry by itself", ""),
        ("transient: 503", "connected", "It will retry by itself", ""),
        ("gave up after 5 retries: 503", "connected", "Try again later", "sync"),
        ("worker lost", "connected", "Sync again", "sync"),
        ("connection is paused", "paused", "paused", "resume"),
        ("token revoked", "needs_reauth", "no longer accepts", "reconnect"),
        ("Permanent: 400 bad list", "error", "Check the connection's settings", "settings"),
    ],
)
def test_an_error_in_words_with_what_to_do(connection, error, status, words, action):
    connection.status = status
    job = SyncJob(connection=connection, status="failed", error=error)

    advice = history.advice(job)

    assert words in advice.words
    assert advice.action == action


def test_field_changes_show_only_what_changed_and_stay_short():
    changes = history.field_changes(
        {"title": "a", "notes": "same", "due": None},
        {"title": "b", "notes": "same", "due": "x" * 500},
    )

    assert [change.field for change in changes] == ["Title", "Due"]
    assert changes[1].before == "—"
    assert len(changes[1].after) == history.VALUE_SHOWN


# --- the job's page ---------------------------------------------------------------------------
def journal(job: SyncJob, count: int = 1, **fields) -> None:
    JournalEntry.objects.bulk_create(
        JournalEntry(
            job=job,
            connection=job.connection,
            item_type="task",
            side=fields.get("side", "local"),
            op=fields.get("op", "update"),
            local_id=index + 1,
            before={"title": f"old {index}", "notes": "kept"},
            after={"title": f"new {index}", "notes": "kept"},
            reverted_at=fields.get("reverted_at"),
        )
        for index in range(count)
    )


def test_the_job_page_says_what_happened_and_when(logged_in, connection):
    job = make_job(connection, NOW, took=75, local_created=12, remote_updated=3, api_calls=9)
    journal(job)

    text = logged_in.get(reverse("sync:job", args=[job.pk])).content.decode()

    assert "Imported 12 tasks, sent 3 changes to Todoist" in text
    for moment in ("Queued", "Started", "Ended"):
        assert moment in text
    assert "1 min 15 s" in text
    assert "Requests to Todoist" in text  # the numbers stay, in words
    assert "api_calls" not in text
    assert "local_created" not in text
    assert "Changed in DayFlow" in text
    assert 'href="/tasks/#task-1"' in text
    assert "old 0" in text
    assert "new 0" in text


def test_the_job_page_lists_at_most_200_changes_and_counts_the_rest(logged_in, connection):
    job = make_job(connection, NOW)
    journal(job, count=205)

    page = logged_in.get(reverse("sync:job", args=[job.pk]))

    assert len(page.context["journal"]) == 200
    assert "and 5 more changes" in page.content.decode()


def test_undo_is_offered_until_the_job_is_undone(logged_in, connection):
    job = make_job(connection, NOW)
    journal(job)
    undo = reverse("sync:job-control", args=[job.pk, "undo"])
    assert undo in logged_in.get(reverse("sync:job", args=[job.pk])).content.decode()

    JournalEntry.objects.filter(job=job).update(reverted_at=NOW + dt.timedelta(hours=1))
    text = logged_in.get(reverse("sync:job", args=[job.pk])).content.decode()

    assert undo not in text
    assert "Undone" in text


def test_a_job_that_needs_reconnecting_offers_to_reconnect(logged_in, connection):
    Connection.objects.filter(pk=connection.pk).update(status="needs_reauth")
    job = make_job(connection, NOW, status="failed", error="invalid_grant")

    text = logged_in.get(reverse("sync:job", args=[job.pk])).content.decode()

    assert "no longer accepts" in text
    assert reverse("integrations:reconnect", args=[connection.pk]) in text


def test_the_job_page_queries_do_not_grow_with_the_journal(logged_in, connection):
    job = make_job(connection, NOW)
    journal(job, count=2)
    url = reverse("sync:job", args=[job.pk])
    with CaptureQueriesContext(db) as few:
        logged_in.get(url)
    journal(job, count=150)
    with CaptureQueriesContext(db) as many:
        logged_in.get(url)

    assert len(many) == len(few)


def test_another_persons_job_page_is_not_found(client, other_user, connection):
    job = make_job(connection, NOW)
    client.force_login(other_user)

    assert client.get(reverse("sync:job", args=[job.pk])).status_code == 404


# --- the navigation ---------------------------------------------------------------------------
def test_every_page_links_to_history_and_counts_open_conflicts(logged_in, connection):
    link = ItemLink.objects.create(connection=connection, item_type="task", remote_id="r1")
    other = ItemLink.objects.create(connection=connection, item_type="task", remote_id="r2")
    Conflict.objects.create(link=link, local={"title": "a"}, remote={"title": "b"})
    Conflict.objects.create(link=other, status="resolved")

    for url in ("/", "/tasks/", reverse("integrations:index"), JOBS):
        text = logged_in.get(url).content.decode()
        assert f'href="{JOBS}"' in text, url
        assert '<span class="visually-hidden">, 1 open</span>' in text, url


def test_no_count_without_open_conflicts_and_none_for_a_visitor(client, logged_in):
    text = logged_in.get("/").content.decode()
    assert "Conflicts</a>" in text
    assert "open</span>" not in text

    client.logout()
    assert "Conflicts" not in client.get(reverse("login")).content.decode()


def test_a_moves_container_ids_are_bookkeeping_not_shown():
    changes = history.field_changes(
        {"list": "Inbox", "_container": "p-home"}, {"list": "Work", "_container": "p-work"}
    )
    assert [(c.field, c.before, c.after) for c in changes] == [("List", "Inbox", "Work")]
