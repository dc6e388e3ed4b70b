"""A person on a phone changes their password from the profile, then forgets it and resets it
with the link of the email DayFlow sends; each page fits the phone and passes axe."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from tests.browser import PHONE, assert_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHANGED = "Changed-passw0rd-77"
RESET = "Reset-passw0rd-88"


def _check(page, name: str) -> None:
    page.wait_for_load_state("load")
    sizes = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert sizes[0] <= sizes[1], f"{page.url} scrolls sideways: {sizes}"
    assert_accessible(page)
    screenshot(page, f"account-{name}-phone")


def test_a_password_is_changed_then_reset_by_email(signed_in_page, live_server, user):
    page = signed_in_page(user)
    page.goto(f"{live_server.url}/profile/")
    page.click("a:has-text('Change your password')")
    _check(page, "password-change")

    page.fill("#id_old_password", "not-my-password")
    page.fill("#id_new_password1", CHANGED)
    page.fill("#id_new_password2", CHANGED)
    page.click("button:has-text('Change password')")
    assert "Your old password was entered incorrectly" in page.inner_text("main")
    _check(page, "password-change-refused")

    page.fill("#id_old_password", "pw-alice-123")
    page.fill("#id_new_password1", CHANGED)
    page.fill("#id_new_password2", CHANGED)
    page.click("button:has-text('Change password')")
    assert "Password changed" in page.inner_text("main")
    _check(page, "password-change-done")
    user.refresh_from_db()
    assert user.check_password(CHANGED)

    # Forgotten: signed out, from the login page.
    page.click("button:has-text('Log out')")
    page.click("a:has-text('Forgot your password?')")
    _check(page, "password-reset")
    page.fill("#id_email", "alice@example.com")
    page.click("button:has-text('Send the link')")
    assert "Check your email" in page.inner_text("main")
    _check(page, "password-reset-done")

    (message,) = mail.outbox
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body).group(1)
    assert message.to == ["alice@example.com"]
    page.goto(live_server.url + link)
    _check(page, "password-reset-confirm")
    page.fill("#id_new_password1", RESET)
    page.fill("#id_new_password2", RESET)
    page.click("button:has-text('Set password')")
    assert "Password set" in page.inner_text("main")
    _check(page, "password-reset-complete")

    page.goto(live_server.url + link)
    assert "This link no longer works" in page.inner_text("main")
    _check(page, "password-reset-used")

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", RESET)
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"{live_server.url}/")
    assert "alice" in page.inner_text("header")
    assert page.viewport_size == PHONE
