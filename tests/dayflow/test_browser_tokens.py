"""In Chromium: a person makes an API token on its page, sees it once, a script uses it, the
person revokes it, and the script is refused. The page passes the accessibility check on a
phone and on a desktop."""

from __future__ import annotations

import pytest
import requests

from tests.browser import assert_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1280, "height": 800}


def _tokens(live_server, token: str) -> requests.Response:
    return requests.get(
        f"{live_server.url}/api/tokens", headers={"Authorization": f"Token {token}"}, timeout=10
    )


def test_a_token_made_on_the_page_works_until_it_is_revoked(signed_in_page, live_server, user):
    page = signed_in_page(user)
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("backup script")
    page.get_by_label("Expires").select_option(label="In 90 days")
    page.get_by_role("button", name="Make token").click()

    token = page.get_by_label("Copy it now").input_value().strip()
    assert token.startswith("dayflow_")
    assert_accessible(page)
    screenshot(page, "api-tokens-new-phone")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "api-tokens-new-desktop")

    answer = _tokens(live_server, token)
    assert answer.status_code == 200
    assert [t["name"] for t in answer.json()["results"]] == ["backup script"]

    page.goto(f"{live_server.url}/account/tokens/")
    assert token not in page.content()  # shown that once only
    row = page.locator("tr", has_text="backup script")
    assert "never" not in row.inner_text()  # it expires
    assert "ago" in row.inner_text()  # and was just used
    row.get_by_role("button", name="Revoke backup script").click()

    assert page.get_by_text("Revoked “backup script”").is_visible()
    assert page.get_by_text("No tokens yet.").is_visible()
    assert_accessible(page)
    screenshot(page, "api-tokens-revoked-desktop")
    assert _tokens(live_server, token).status_code == 401


def test_the_list_is_accessible_on_a_phone(signed_in_page, live_server, user):
    from dayflow.models import ApiToken

    ApiToken.objects.create(user=user, expiry=None, name="backup script")
    ApiToken.objects.create(user=user, expiry=None, name="a laptop with a rather long name")
    page = signed_in_page(user)
    page.goto(f"{live_server.url}/account/tokens/")

    assert_accessible(page)
    screenshot(page, "api-tokens-list-phone")
