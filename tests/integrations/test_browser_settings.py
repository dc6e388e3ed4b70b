"""A person saves a connection's settings in Chromium: out-of-bounds values are refused on the
page, in words, and nothing is saved."""

from __future__ import annotations

import json

import pytest

from tests.browser import assert_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_oversized_settings_are_refused_on_the_page(
    signed_in_page, live_server, calendar_connection, user
):
    page = signed_in_page(user)
    page.goto(f"{live_server.url}/integrations/connections/{calendar_connection.pk}/settings/")

    page.fill("#id_sync_interval", "4611686018427387904")
    page.fill("#id_field_mapping", json.dumps({"calendars": ["x" * 200_000]}))
    # the browser's own min/max check would stop the form first; the server must refuse too
    page.eval_on_selector("form:has(#id_field_mapping)", "form => form.noValidate = true")
    page.click("form:has(#id_field_mapping) button[type=submit]")

    text = page.inner_text("main")
    assert "at most 255 characters long" in text
    assert text.count("must be at most 10080 minutes (7 days)") == 1  # named once
    assert "DAYFLOW_" not in text  # a person reads words, not setting names
    screenshot(page, "settings-refused")
    assert_accessible(page)
    calendar_connection.refresh_from_db()
    assert calendar_connection.field_mapping == {"calendars": ["primary"]}
    assert calendar_connection.sync_interval != 4611686018427387904
