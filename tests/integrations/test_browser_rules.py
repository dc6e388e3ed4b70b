"""A person sets what syncs on a connection's settings page in Chromium: the count of
DayFlow's items that match changes as they tick a rule, before saving; saved, the rule is
there when the page is opened again."""

from __future__ import annotations

import datetime as dt

import pytest

from dayflow.models import Event, Task
from tests.browser import assert_accessible, screenshot

DESKTOP = {"width": 1280, "height": 900}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_rule_is_previewed_then_saved(signed_in_page, live_server, connection, user):
    Task.objects.create(user=user, title="Call the plumber")
    Task.objects.create(user=user, title="Paid the rent", status="done")
    page = signed_in_page(user)
    url = f"{live_server.url}/integrations/connections/{connection.pk}/settings/"
    page.goto(url)
    preview = page.locator("#rules-preview")
    preview.get_by_text("2 of 2 tasks in DayFlow match.").wait_for()

    page.get_by_label("Only tasks not completed").check()

    preview.get_by_text("1 of 2 tasks in DayFlow matches.").wait_for()
    connection.refresh_from_db()
    assert connection.sync_rules == {}  # counted, not saved
    screenshot(page, "rules-preview-phone")
    assert_accessible(page)
    page.click("form.settings-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/integrations/")

    connection.refresh_from_db()
    assert connection.sync_rules == {"task": {"status": "open"}}
    page.goto(url)
    assert page.get_by_label("Only tasks not completed").is_checked()
    preview.get_by_text("1 of 2 tasks in DayFlow matches.").wait_for()
    page.set_viewport_size(DESKTOP)
    screenshot(page, "rules-saved-desktop")
    assert_accessible(page)


def test_a_calendars_window_in_days_is_previewed(
    signed_in_page, live_server, calendar_connection, user
):
    start = dt.datetime(2020, 1, 6, 9, tzinfo=dt.UTC)
    Event.objects.create(user=user, title="Long ago", start=start, end=start)
    page = signed_in_page(user)
    page.goto(f"{live_server.url}/integrations/connections/{calendar_connection.pk}/settings/")
    preview = page.locator("#rules-preview")
    preview.get_by_text("1 of 1 event in DayFlow matches.").wait_for()

    page.get_by_label("Events from").fill("30")

    preview.get_by_text("0 of 1 event in DayFlow match.").wait_for()
    screenshot(page, "rules-events-phone")
    assert_accessible(page)
