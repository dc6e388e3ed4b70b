"""The accessibility check used by the browser tests finds what it should (so a page that
passes it has really been checked), and the pages a person lands on pass it."""

from __future__ import annotations

import pytest

from tests.browser import assert_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_check_fails_on_a_page_with_violations(browser):
    page = browser.new_page()
    page.set_content("<html><body><img src='x.png'><button></button></body></html>")

    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page)
    page.close()


@pytest.mark.parametrize("path", ["/", "/tasks/", "/events/", "/integrations/", "/sync/conflicts/"])
def test_a_signed_in_page_is_accessible(signed_in_page, live_server, user, path):
    page = signed_in_page(user)
    page.goto(f"{live_server.url}{path}")

    assert_accessible(page)
    screenshot(page, "page" + path.replace("/", "-").rstrip("-"))


def test_the_login_page_is_accessible(browser, live_server):
    page = browser.new_page()
    page.goto(f"{live_server.url}/accounts/login/")

    assert_accessible(page)
    page.close()
