"""A CalDAV password changed at the server: the next sync fails to sign in, the connection
needs reconnecting, a notice appears under the bell (and by email), and the Activity page tells
the story. In Chromium, on a phone and a desktop, axe-clean, no sideways scrolling."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from integrations.models import Connection
from sync import engine
from sync.models import SyncJob
from tests.browser import assert_accessible, screenshot
from tests.radicale import RadicaleCalendar, RadicaleServer, connect_caldav

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}


def fits_the_width(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def change_password_at_the_server(server: RadicaleServer, username: str) -> None:
    lines = server.htpasswd.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith(f"{username}:")]
    server.htpasswd.write_text("\n".join([*kept, f"{username}:changed-elsewhere"]) + "\n")


def run_sync(connection: Connection) -> SyncJob:
    job = SyncJob.objects.create(connection=connection, kind=SyncJob.Kind.FULL)
    engine.run_job(job.pk)
    job.refresh_from_db()
    return job


@pytest.fixture
def fastmail(user, radicale_calendar: RadicaleCalendar) -> Connection:
    return connect_caldav(user, radicale_calendar, label="alice@fastmail")


def test_a_password_changed_at_the_server_raises_a_notice_and_shows_in_activity(
    signed_in_page, live_server, user, fastmail, radicale_server, radicale_calendar, eager_celery
):
    # given a connection that synced
    assert run_sync(fastmail).status == SyncJob.Status.SUCCEEDED

    # when the password changes at the server and the next sync runs
    change_password_at_the_server(radicale_server, radicale_calendar.username)
    failed = run_sync(fastmail)

    # then the sync failed to sign in, and the connection needs reconnecting
    assert failed.status == SyncJob.Status.FAILED
    fastmail.refresh_from_db()
    assert fastmail.status == Connection.Status.NEEDS_REAUTH
    [email] = mail.outbox
    assert email.subject == "DayFlow: Reconnect Fastmail: alice@fastmail"

    # and the bell counts one notice, read out in words
    page = signed_in_page(user)
    page.goto(f"{live_server.url}/")
    bell = page.get_by_role("link", name=re.compile(r"^Notifications\s*, 1 unread$"))
    assert bell.count() == 1
    bell.click()
    page.wait_for_selector("h1:has-text('Notifications')")
    notice = page.locator("li.notice.unread")
    assert notice.count() == 1
    assert "Reconnect Fastmail: alice@fastmail" in notice.inner_text()
    assert fits_the_width(page)
    screenshot(page, "notifications-phone")
    assert_accessible(page)
    page.set_viewport_size(DESKTOP)
    screenshot(page, "notifications-desktop")

    # the notice leads to where to act
    assert notice.get_by_role("link", name=re.compile("^Reconnect")).get_attribute("href") == (
        "/integrations/"
    )

    # when they mark it read, the bell has nothing more to say
    notice.get_by_role("button", name=re.compile("^Mark as read")).click()
    page.wait_for_selector("li.notice:not(.unread)")
    assert page.get_by_role("link", name=re.compile(r"unread")).count() == 0

    # and the Activity page tells the story, newest first (the engine marks the connection
    # before it records the job's end)
    page.set_viewport_size({"width": 390, "height": 844})
    page.click("nav >> text=Activity")
    page.wait_for_selector("h1:has-text('Activity')")
    story = page.locator("ol.activity").inner_text()
    assert story.index("Sync failed") < story.index("Needs reconnecting") < story.index("Synced")
    assert "Connected" in story
    assert radicale_calendar.password not in page.content()
    assert fits_the_width(page)
    screenshot(page, "activity-phone")
    assert_accessible(page)

    # filtered to what needs reconnecting
    page.select_option("#id_kind", "reconnect")
    page.click("form.activity-filters button")
    page.wait_for_url("**kind=reconnect**")
    assert page.locator("li.activity-entry").count() == 1
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/activity/")
    screenshot(page, "activity-desktop")
    assert_accessible(page)
