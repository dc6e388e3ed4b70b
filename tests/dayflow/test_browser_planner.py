"""A person plans in Chromium: a task made and completed; a weekly event made, one date changed
and another skipped; the pages fit a phone and a desktop, and pass the accessibility check."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings

from dayflow.models import Event, Profile, Task
from sync.models import ItemLink
from tests.browser import PHONE, assert_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MONDAY_MORNING = dt.datetime(2026, 3, 23, 7, 0, tzinfo=dt.UTC)  # 08:00 in Berlin
DESKTOP = {"width": 1280, "height": 900}


def _fits(page) -> None:
    page.wait_for_load_state("load")  # a click's navigation may still be on its way
    width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert width[0] <= width[1], f"{page.url} scrolls sideways: {width}"


def _check(page, name: str) -> None:
    _fits(page)
    assert_accessible(page)
    screenshot(page, f"planner-{name}-phone")
    page.set_viewport_size(DESKTOP)
    screenshot(page, f"planner-{name}-desktop")
    page.set_viewport_size(PHONE)


@pytest.fixture
def monday():
    with time_machine.travel(MONDAY_MORNING, tick=True):
        yield


def test_a_task_is_made_and_completed(signed_in_page, live_server, user, connection, monday):
    Profile.objects.create(user=user, timezone="Europe/Berlin")
    page = signed_in_page(user)

    page.goto(f"{live_server.url}/tasks/")
    page.click("text=New task")
    page.fill("#id_title", "Buy milk")
    page.fill("#id_due_day", "2026-03-23")
    page.fill("#id_due_time", "18:00")
    page.select_option("#id_priority", "3")
    page.click("button:has-text('Save task')")

    assert "Task “Buy milk” added." in page.inner_text("main")
    assert "due Mon 23 Mar 2026, 18:00" in page.inner_text("main")
    page.goto(f"{live_server.url}/")
    assert "Buy milk" in page.inner_text("section:has(h2:has-text('Due today'))")
    _check(page, "today-with-task")

    page.click("button:has-text('Done')")
    assert "Task “Buy milk” done." in page.inner_text("main")
    task = Task.objects.get(user=user)
    assert task.status == Task.Status.DONE
    ItemLink.objects.create(connection=connection, item_type="task", remote_id="r1", task=task)
    page.goto(f"{live_server.url}/tasks/")
    assert "Synced with Todoist (alice@todoist)" in page.inner_text("main")
    _check(page, "tasks")
    page.click(f"a[href='/tasks/{task.pk}/edit/']")
    _check(page, "task-form")


def test_a_weekly_event_with_one_date_changed_and_one_skipped(
    signed_in_page, live_server, user, monday
):
    Profile.objects.create(user=user, timezone="Europe/Berlin")
    page = signed_in_page(user)

    page.goto(f"{live_server.url}/events/new/")
    page.fill("#id_title", "Standup")
    page.fill("#id_start_day", "2026-03-23")
    page.fill("#id_start_time", "09:00")
    page.fill("#id_end_time", "09:30")
    assert page.input_value("#id_timezone") == "Europe/Berlin"  # the person's zone, preselected
    page.select_option("#id_repeat", "WEEKLY")
    page.check("#id_weekdays_0")
    page.check("#id_weekdays_2")
    _check(page, "event-form")
    page.click("button:has-text('Save event')")

    assert "Every week on Mon, Wed" in page.inner_text("main")
    master = Event.objects.get(user=user)
    assert master.rrule == "FREQ=WEEKLY;BYDAY=MO,WE"

    page.click("a:has-text('Standup')")
    page.click("a[href*='at=2026-03-30']:has-text('Change this date')")
    page.fill("#id_title", "Standup (late)")
    page.fill("#id_start_time", "11:00")
    page.fill("#id_end_time", "11:30")
    _check(page, "occurrence-form")
    page.click("button:has-text('Save event')")
    assert "This occurrence of “Standup” changed." in page.inner_text("main")

    page.click("a[href*='at=2026-04-01']:has-text('Skip this date')")
    page.click("button:has-text('Skip this date')")
    assert "skipped: Wed 1 Apr 2026, 09:00" in page.inner_text("main")
    assert "Changed: “Standup (late)”" in page.inner_text("main")
    _check(page, "series")

    exception = Event.objects.get(series=master)
    master.refresh_from_db()
    assert exception.recurrence_id == "2026-03-30T09:00:00+02:00"
    assert exception.start == dt.datetime(2026, 3, 30, 9, tzinfo=dt.UTC)  # 11:00 in Berlin
    assert master.exdates == ["2026-04-01T09:00:00+02:00"]

    page.goto(f"{live_server.url}/events/")
    assert "exception of Standup" in page.inner_text("main")
    _check(page, "events")
    page.goto(f"{live_server.url}/")
    assert "09:00–09:30 Standup" in page.inner_text("section:has(h2:has-text('events'))")
    _check(page, "today")


def test_the_profile_offers_the_browsers_zone(browser, live_server, client, user):
    client.force_login(user)
    context = browser.new_context(viewport=PHONE, timezone_id="America/Sao_Paulo")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    page = context.new_page()

    page.goto(f"{live_server.url}/profile/")
    assert page.input_value("#id_timezone") == "America/Sao_Paulo"
    assert "Times in UTC" in page.inner_text("main")
    _check(page, "profile")
    page.click("button:has-text('Save')")

    assert "Times in America/Sao_Paulo" in page.inner_text("main")
    assert Profile.objects.get(user=user).timezone == "America/Sao_Paulo"
    context.close()
