"""The sandbox's refusals end to end, on `python3 run.py` with Chromium: "Deny" at the
authorize page, an expired authorization code, a 429 storm and a refresh token the service
revoked each end where a person can read them. The app is the one test_sandbox.py drives."""

from __future__ import annotations

import pytest

from tests.browser import screenshot
from tests.e2e.sandbox_helpers import (
    choose,
    connect_through_the_sandbox,
    connections,
    item_id,
    sandbox_rows,
    start_connecting,
    sync_now,
    wait_for,
)

pytestmark = pytest.mark.browser


def ensure_connected(page, app, key: str) -> int:
    """The id of a live connection to the service, connecting first when there is none."""
    live = [pk for pk, status in connections(app, key) if status == "connected"]
    if not live:
        connect_through_the_sandbox(page, app.url, key)
        live = [pk for pk, status in connections(app, key) if status == "connected"]
    return live[-1]


def test_deny_at_the_service_connects_nothing_and_says_so(demo_page, sandbox_app):
    before = connections(sandbox_app, "notion")
    start_connecting(demo_page, sandbox_app.url, "notion")
    demo_page.click("button:has-text('Deny')")

    demo_page.wait_for_url(f"{sandbox_app.url}/integrations/")
    assert "You declined access at Notion, so nothing was connected." in demo_page.inner_text(
        "main"
    )
    assert connections(sandbox_app, "notion") == before
    screenshot(demo_page, "e2e-sandbox-deny")


def test_an_expired_authorization_code_is_refused_and_connects_nothing(demo_page, sandbox_app):
    before = connections(sandbox_app, "linear")
    start_connecting(demo_page, sandbox_app.url, "linear")

    def expire_the_code_first(route):
        # The person took longer than the code's ten minutes: "Allow" issues the code, the
        # service lets it lapse, and only then does the browser follow the redirect back.
        if route.request.method != "POST":
            return route.continue_()
        issued = route.fetch(max_redirects=0)
        sandbox_rows(
            sandbox_app,
            "UPDATE sandbox_grant SET expires_at = '2000-01-01 00:00:00' WHERE kind = 'code'",
        )
        return route.fulfill(response=issued)

    demo_page.route("**/sandbox/linear/**", expire_the_code_first)
    try:
        demo_page.click("button:has-text('Allow')")
        demo_page.wait_for_url(f"{sandbox_app.url}/integrations/")
    finally:
        demo_page.unroute("**/sandbox/linear/**")  # the page serves the next tests too

    message = demo_page.inner_text("main")
    assert "Linear did not complete the connection" in message
    assert "Nothing was saved" in message
    assert connections(sandbox_app, "linear") == before
    screenshot(demo_page, "e2e-sandbox-expired-code")


def latest_job(app, connection: int) -> tuple[int, str]:
    return sandbox_rows(
        app,
        "SELECT id, status FROM sync_syncjob WHERE connection_id = ? ORDER BY id DESC",
        connection,
    )[0]


def wait_until_idle(app, connection: int) -> None:
    """No job of the connection is queued or running (it may have none)."""

    def idle() -> bool:
        rows = sandbox_rows(
            app,
            "SELECT count(*) FROM sync_syncjob WHERE connection_id = ? "
            "AND status IN ('queued', 'running')",
            connection,
        )
        return rows[0][0] == 0

    wait_for(idle, seconds=180, what="the first sync's end")


def test_a_429_storm_backs_off_and_the_sync_succeeds(demo_page, sandbox_app):
    connection = ensure_connected(demo_page, sandbox_app, "notion")
    source = item_id(sandbox_app, "notion", "data_source", "$.title[0].plain_text", "Tasks")
    choose(demo_page, sandbox_app.url, {"data_source_id": source}, service="Notion")
    wait_until_idle(sandbox_app, connection)  # the first sync, started by the setup
    jobs_before = sandbox_rows(
        sandbox_app, "SELECT count(*) FROM sync_syncjob WHERE connection_id = ?", connection
    )[0][0]
    sandbox_rows(sandbox_app, "UPDATE sandbox_account SET throttled = 3 WHERE service = 'notion'")

    sync_now(demo_page, "Notion")
    wait_for(
        lambda: (
            sandbox_rows(
                sandbox_app, "SELECT count(*) FROM sync_syncjob WHERE connection_id = ?", connection
            )[0][0]
            > jobs_before
            and latest_job(sandbox_app, connection)[1] in {"succeeded", "failed"}
        ),
        seconds=180,  # three 429s waited out, on a machine running three suites at once
        what="the sync's end",
    )
    assert latest_job(sandbox_app, connection)[1] == "succeeded"
    throttled = "SELECT throttled FROM sandbox_account WHERE service = 'notion'"
    assert sandbox_rows(sandbox_app, throttled) == [(0,)]  # every 429 was answered and waited out
    assert dict(connections(sandbox_app, "notion"))[connection] == "connected"


def test_a_refresh_token_the_service_revoked_ends_in_needs_reconnecting(demo_page, sandbox_app):
    connection = ensure_connected(demo_page, sandbox_app, "linear")
    team = item_id(sandbox_app, "linear", "team", "$.key", "ENG")
    choose(demo_page, sandbox_app.url, {"team_id": team}, service="Linear")
    wait_until_idle(sandbox_app, connection)  # the first sync, started by the setup
    # The person removed DayFlow's access in Linear's settings: every token of it is revoked.
    sandbox_rows(
        sandbox_app,
        "UPDATE sandbox_grant SET revoked_at = '2000-01-01 00:00:00' WHERE client_id IN "
        "(SELECT id FROM sandbox_client WHERE service = 'linear')",
    )
    demo_page.goto(f"{sandbox_app.url}/integrations/")
    # A reconnected connection registers its webhook in the background: that call may meet the
    # revoked token first, and then there is no "Sync now" left to click.
    if demo_page.locator(
        ".connections article:has-text('Linear') button:has-text('Sync now')"
    ).count():
        sync_now(demo_page, "Linear")

    wait_for(
        lambda: dict(connections(sandbox_app, "linear"))[connection] == "needs_reauth",
        what="Needs reconnecting",
    )
    demo_page.goto(f"{sandbox_app.url}/integrations/")
    row = demo_page.inner_text(f"#connection-{connection}")
    assert "Needs reconnecting" in row
    screenshot(demo_page, "e2e-sandbox-needs-reconnecting")
