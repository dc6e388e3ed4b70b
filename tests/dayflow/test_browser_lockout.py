"""The lockout page in Chromium: after too many wrong passwords the sign-in form answers with
the app's own page, in words, accessible and fitting a phone."""

from __future__ import annotations

import pytest

from tests.browser import PHONE, assert_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_lockout_page(browser, live_server, user, settings):
    settings.DAYFLOW_LOGIN_FAILURES_PER_USERNAME = 3
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    for _ in range(3):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "not-the-password")
        with page.expect_navigation() as answer:
            page.click("button[type=submit]")

    assert answer.value.status == 429
    assert "Too many failed sign-ins" in page.inner_text("main")
    assert "Try again in 15 minutes" in page.inner_text("main")
    sizes = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert sizes[0] <= sizes[1]
    screenshot(page, "locked-out")
    assert_accessible(page)
    context.close()
