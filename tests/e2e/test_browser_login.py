"""A person logs in with Debian's Chromium (driven by Playwright) on gunicorn."""

import pytest

pytestmark = pytest.mark.browser


def test_login_with_the_demo_account_shows_today(browser, running_app, tmp_path):
    page = browser.new_page()
    page.goto(f"{running_app.url}/")  # redirected to the login page

    page.fill("#id_username", running_app.username)
    page.fill("#id_password", running_app.password)
    page.click("button[type=submit]")

    page.wait_for_selector("h1:has-text('Today')")
    assert page.url == f"{running_app.url}/"
    page.screenshot(path=str(tmp_path / "today.png"))


def test_a_wrong_password_is_refused_with_a_message(browser, running_app):
    page = browser.new_page()
    page.goto(f"{running_app.url}/accounts/login/")

    page.fill("#id_username", running_app.username)
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")

    assert "didn't match" in page.inner_text("main")
