"""In Chromium: staff open the compliance report from the admin's index, at phone width, and
download its CSV. The page passes axe and does not scroll sideways."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from integrations.models import Connection, Service
from security.models import SecurityAlert
from tests.browser import assert_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_read_the_report_from_the_admin_and_download_it(
    signed_in_page, live_server, django_user_model, user
):
    staff = django_user_model.objects.create_user(
        "ops", "ops@example.com", "pw", is_staff=True, is_superuser=True
    )
    Connection.objects.create(
        user=user,
        service=Service.objects.get(key="todoist"),
        external_account_id="acct-1",
        label="alice@todoist",
        status=Connection.Status.NEEDS_REAUTH,
    )
    seen = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    SecurityAlert.objects.create(
        rule="signature_failures",
        severity="high",
        subject_key="ip:203.0.113.9",
        ip_address="203.0.113.9",
        first_seen=seen,
        last_seen=seen,
    )
    page = signed_in_page(staff)

    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Compliance report").click()

    page.get_by_role("heading", name="Compliance report").wait_for()
    body = page.inner_text("body")
    assert "Needs reconnecting" in body
    assert "signature_failures" in body
    screenshot(page, "compliance-report-phone")
    width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= viewport
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    assert download.value.suggested_filename.startswith("compliance-")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "connections,Todoist,Needs reconnecting,1" in text
