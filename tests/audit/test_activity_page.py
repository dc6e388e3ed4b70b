"""The Activity page: one timeline of what the person and DayFlow did, filtered, paged in a
constant number of queries, with undo from a sync's line and never a secret."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from audit import activity
from audit.writer import record
from integrations.models import Connection
from integrations.tokens import mark_needs_reauth
from notifications.models import Kind, Notification
from sync import jobs
from sync.models import Conflict, ItemLink, JournalEntry, SyncJob

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def _synced_job(connection: Connection, n: int = 0) -> SyncJob:
    job = SyncJob.objects.create(
        connection=connection, status=SyncJob.Status.RUNNING, local_created=2, remote_updated=1
    )
    link = ItemLink.objects.create(connection=connection, item_type="task", remote_id=f"r{n}")
    JournalEntry.objects.create(
        job=job,
        connection=connection,
        link=link,
        item_type="task",
        side="remote",
        op="update",
        before={"title": f"Old title {n}"},
        after={"title": f"New title {n}"},
    )
    jobs.finish(job, SyncJob.Status.SUCCEEDED)
    return job


def _page(client, query: str = "") -> str:
    response = client.get(f"/activity/{query}")
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_the_timeline_tells_the_whole_story(client, user, connection):
    with time_machine.travel(T0, tick=True):
        job = _synced_job(connection)
        link = ItemLink.objects.create(connection=connection, item_type="task", remote_id="c1")
        Conflict.objects.create(
            link=link, local={"title": "Dentist"}, remote={"title": "Dentist!"}, fields=["title"]
        )
        record("sync.conflict.resolved", actor=user, connection=connection)
        mark_needs_reauth(connection, "401")
        user.set_password("a-new-long-password-1")
        user.save()
    client.force_login(user)

    page = _page(client)

    assert "Connected" in page
    assert "Synced" in page
    assert "2 added in DayFlow, 1 changed at the service" in page
    assert "New title 0: Changed in Todoist" in page
    assert "Old title 0" in page
    assert "Conflict raised: Dentist" in page
    assert "Conflict resolved" in page
    assert '<a href="/integrations/">Needs reconnecting</a>' in page
    assert "Your password was changed" in page
    assert f'href="/sync/jobs/{job.pk}/"' in page
    # newest first: the password change came after the sync
    assert page.index("Your password was changed") < page.index("2 added in DayFlow")


def test_someone_else_s_activity_is_not_shown(client, user, other_user, service):
    theirs = Connection.objects.create(
        user=other_user, service=service, external_account_id="b", label="bob@todoist"
    )
    _synced_job(theirs, 7)
    Notification.objects.create(user=other_user, kind=Kind.SECURITY, title="Bob's alert")
    client.force_login(user)

    page = _page(client)

    assert "bob@todoist" not in page
    assert "New title 7" not in page
    assert "Bob" not in page


def test_secrets_in_audit_details_never_reach_the_page(client, user, connection):
    record(
        "connection.settings_changed",
        actor=user,
        connection=connection,
        details={
            "password": "hunter2-very-secret",
            "api_key": "sk_live_abcdef123456",
            "note": "sent Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.secret-token-value",
            "url": "https://x.example/cb?code=s3cr3t-auth-code&state=1",
            "calendar": "Work",
        },
    )
    client.force_login(user)

    page = _page(client)

    assert "Settings changed" in page
    assert "Work" in page
    for secret in ("hunter2", "sk_live_abcdef", "eyJhbGciOiJIUzI1NiJ9", "s3cr3t-auth-code"):
        assert secret not in page
    assert "[redacted]" in page


@pytest.mark.parametrize(
    ("kind", "shown", "hidden"),
    [
        ("change", "New title 0", "Synced"),
        ("sync", "Synced", "New title 0"),
        ("reconnect", "Needs reconnecting", "New title 0"),
    ],
)
def test_the_kind_filter_keeps_one_kind(client, user, connection, kind, shown, hidden):
    _synced_job(connection)
    mark_needs_reauth(connection, "401")
    client.force_login(user)

    page = _page(client, f"?kind={kind}")

    listed = page.split('<ol class="activity">', 1)[1]
    assert shown in listed
    assert hidden not in listed


def test_the_connection_and_date_filters(client, user, connection, service):
    second = Connection.objects.create(
        user=user, service=service, external_account_id="2", label="second@todoist"
    )
    with time_machine.travel(T0, tick=False):
        _synced_job(connection, 1)
    with time_machine.travel(T0 + dt.timedelta(days=3), tick=False):
        _synced_job(second, 2)
    client.force_login(user)

    only_second = _page(client, f"?connection={second.pk}")
    assert "New title 2" in only_second
    assert "New title 1" not in only_second

    first_days = _page(client, "?since=2026-03-09&until=2026-03-11")
    assert "New title 1" in first_days
    assert "New title 2" not in first_days


@pytest.mark.parametrize(
    "query",
    [
        "?connection=999999",  # nobody's, or someone else's
        "?connection=abc",
        "?connection=99999999999999999999999999",
        "?kind=" + "x" * 5000,
        "?kind=everything",
        "?since=2026-13-45",
        "?since=3000-01-01",
        "?since=2026-03-10&until=2026-03-01",
        "?since=2001-01-01&until=2026-01-01",  # more than five years at once
        "?before=not-a-cursor",
        "?before=2026-03-10T09:00:00~9~1",
        "?before=2026-03-10T09:00:00~4~99999999999999999999",
        "?before=2026-03-10T09:00:00~4~1",  # no zone
    ],
)
def test_bad_filters_are_a_400_with_the_form_s_words(client, user, connection, query):
    client.force_login(user)
    response = client.get(f"/activity/{query}")
    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()


def test_someone_else_s_connection_is_refused(client, user, other_user, service):
    theirs = Connection.objects.create(user=other_user, service=service, external_account_id="b")
    client.force_login(user)
    assert client.get(f"/activity/?connection={theirs.pk}").status_code == 400


def _entry_ids(page: str) -> list[str]:
    return re.findall(r'id="(activity-\d-\d+)"', page)


def test_the_cursor_pages_through_everything_once(client, user, connection, monkeypatch):
    monkeypatch.setattr(activity, "PAGE_SIZE", 4)
    with time_machine.travel(T0, tick=False):  # many rows share one instant
        for n in range(5):
            _synced_job(connection, n)
    client.force_login(user)

    seen: list[str] = []
    query = ""
    for _ in range(10):
        page = _page(client, query)
        seen += _entry_ids(page)
        older = re.search(r'href="\?([^"]*)" rel="next"', page)
        if older is None:
            break
        query = "?" + older.group(1).replace("&amp;", "&")
    # connected + 5 x (synced + one change)
    assert len(seen) == len(set(seen)) == 11


@pytest.mark.parametrize("count", [2, 20])
def test_the_page_costs_the_same_queries_however_long_the_lists(
    client, user, connection, django_assert_max_num_queries, count
):
    for n in range(count):
        _synced_job(connection, n)
        link = ItemLink.objects.create(connection=connection, item_type="task", remote_id=f"c{n}")
        Conflict.objects.create(link=link, local={"title": f"C{n}"}, fields=["title"])
        Notification.objects.create(user=user, kind=Kind.SECURITY, title=f"Alert {n}")
    client.force_login(user)

    # session, user, nav counts, 4 sources, the jobs' undo state, the connection choices
    with django_assert_max_num_queries(10):
        page = _page(client, f"?connection={connection.pk}")
    assert "Alert" not in page  # alerts have no connection: filtered out
    with django_assert_max_num_queries(10):
        _page(client)


def test_undo_is_offered_on_a_sync_that_allows_it_and_posts_to_the_job_control(
    client, user, connection
):
    job = _synced_job(connection)
    failed = SyncJob.objects.create(connection=connection, status=SyncJob.Status.RUNNING)
    jobs.finish(failed, SyncJob.Status.FAILED, error="boom")
    client.force_login(user)

    page = _page(client)

    assert page.count("Undo this sync") == 1
    assert f'action="/sync/jobs/{job.pk}/undo/"' in page

    JournalEntry.objects.filter(job=job).update(reverted_at=T0)  # undone already
    assert "Undo this sync" not in _page(client)


def test_signed_out_people_are_sent_to_log_in(client):
    assert client.get("/activity/").status_code == 302
