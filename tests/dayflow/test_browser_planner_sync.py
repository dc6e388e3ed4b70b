"""A person makes a task in DayFlow's page, syncs from the page, and the task is at the service:
a real Radicale CalDAV server holds it as a to-do (VTODO), read back over HTTP, not through
our provider. The sync runs as the worker would, on the job the page queued."""

from __future__ import annotations

import base64
import datetime as dt
import urllib.parse
import urllib.request

import pytest
import time_machine

from dayflow.models import Profile, Task
from integrations.models import Connection
from sync import engine
from sync.models import ItemLink, SyncJob
from tests.browser import assert_accessible, screenshot
from tests.radicale import RadicaleCalendar, connect_caldav

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MONDAY_MORNING = dt.datetime(2026, 3, 23, 7, 0, tzinfo=dt.UTC)  # 08:00 in Berlin


@pytest.fixture
def fastmail(user, radicale_calendar: RadicaleCalendar) -> Connection:
    """A CalDAV connection to the Radicale calendar, its to-dos synced as tasks."""
    return connect_caldav(user, radicale_calendar, label="alice@fastmail", sync_todos=True)


def _at_the_server(calendar: RadicaleCalendar, href: str) -> str:
    """The item's iCalendar text as the server answers a plain GET."""
    account = calendar.account
    token = base64.b64encode(f"{account.username}:{account.password}".encode()).decode()
    url = urllib.parse.urljoin(calendar.url, href)
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.read().decode()


def test_a_task_made_in_dayflow_reaches_the_caldav_server(
    signed_in_page, live_server, user, fastmail, radicale_calendar, celery_sent
):
    Profile.objects.create(user=user, timezone="Europe/Berlin")
    with time_machine.travel(MONDAY_MORNING, tick=True):
        page = signed_in_page(user)
        page.goto(f"{live_server.url}/tasks/new/")
        page.fill("#id_title", "Buy oat milk")
        page.fill("#id_due_day", "2026-03-24")
        page.click("button:has-text('Save task')")
        assert "Task “Buy oat milk” added." in page.inner_text("main")
        assert "Not synced" in page.inner_text("li.item:has-text('Buy oat milk')")

        page.goto(f"{live_server.url}/integrations/")
        card = ".connections article:has-text('Fastmail')"
        page.click(f"{card} button:has-text('Sync now')")
        page.wait_for_selector(f"{card} .card-note")  # the card answers in place
        job = SyncJob.objects.get(connection=fastmail)
        assert [args for args, _ in celery_sent] == [(job.pk,)]

        engine.run_job(job.pk)  # what the worker does with the queued message

        job.refresh_from_db()
        assert job.status == SyncJob.Status.SUCCEEDED, job.error
        assert job.remote_created == 1
        page.goto(f"{live_server.url}/sync/jobs/{job.pk}/")
        assert "Buy oat milk" in page.inner_text("main")

        task = Task.objects.get(user=user, title="Buy oat milk")
        link = ItemLink.objects.get(connection=fastmail, task=task)
        stored = _at_the_server(radicale_calendar, link.remote_id)
        assert "BEGIN:VTODO" in stored
        assert "SUMMARY:Buy oat milk" in stored
        assert "DUE;VALUE=DATE:20260324" in stored

        page.goto(f"{live_server.url}/tasks/")
        row = page.inner_text("li.item:has-text('Buy oat milk')")
        assert "Synced with Fastmail (alice@fastmail)" in row
        assert "Open in" not in row  # CalDAV items have no page of their own
        assert_accessible(page)
        screenshot(page, "planner-task-synced-to-caldav-phone")
