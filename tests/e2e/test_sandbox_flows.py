"""The sandbox's other flows end to end, on `python3 run.py` with Chromium: every remaining
service connects and imports its data; changes travel both ways, conflict and are disconnected;
and the services' refusals (Deny, an expired code, a 429 storm, a revoked refresh token) end
where a person can read them."""

from __future__ import annotations

import pytest

from tests.browser import screenshot
from tests.e2e.conftest import started_app
from tests.e2e.sandbox_helpers import (
    choose,
    connect_through_the_sandbox,
    sandbox_rows,
    sign_in,
    sync_now,
    wait_for_text,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def running_app(tmp_path_factory):
    with started_app(tmp_path_factory.mktemp("sandbox-flows-var")) as app:
        yield app


@pytest.fixture
def demo_page(browser, running_app):
    page = sign_in(browser, running_app)
    yield page
    page.context.close()


def item_id(app, service: str, kind: str, path: str, value: str) -> str:
    """The id of an item at the emulated service whose JSON has `value` at `path`."""
    return sandbox_rows(
        app,
        "SELECT i.remote_id FROM sandbox_item i JOIN sandbox_account a ON a.id = i.account_id "
        "WHERE a.service = ? AND i.kind = ? AND json_extract(i.data, ?) = ?",
        service,
        kind,
        path,
        value,
    )[0][0]


# service key, its name on the page, what its settings choose, a seeded item's title, the page
TASK_SERVICES = [
    (
        "notion",
        "Notion",
        ("data_source_id", "data_source", "$.title[0].plain_text", "Tasks"),
        "Plan the product launch",
    ),
    ("linear", "Linear", ("team_id", "team", "$.key", "ENG"), "Fix the login redirect"),
    (
        "clickup",
        "ClickUp",
        ("list_id", "list", "$.name", "Website relaunch"),
        "Write the homepage copy",
    ),
]


@pytest.mark.parametrize(
    ("key", "name", "collection", "title"), TASK_SERVICES, ids=[row[0] for row in TASK_SERVICES]
)
def test_a_task_service_connects_through_the_sandbox_and_its_tasks_are_imported(
    demo_page, running_app, key, name, collection, title
):
    connect_through_the_sandbox(demo_page, running_app.url, key)
    setting, kind, path, value = collection
    chosen = item_id(running_app, key, kind, path, value)
    choose(demo_page, running_app.url, {setting: chosen}, service=name)
    sync_now(demo_page, name)

    wait_for_text(demo_page, f"{running_app.url}/tasks/", title)
    screenshot(demo_page, f"e2e-sandbox-{key}-tasks")


def test_outlook_connects_through_the_sandbox_and_its_events_are_imported(demo_page, running_app):
    connect_through_the_sandbox(demo_page, running_app.url, "outlook")
    sync_now(demo_page, "Outlook")  # the default calendar, when none is chosen

    wait_for_text(demo_page, f"{running_app.url}/events/", "Weekly sync")
    screenshot(demo_page, "e2e-sandbox-outlook-events")


def test_fastmail_connects_at_the_sandbox_server_and_its_events_are_imported(
    demo_page, running_app
):
    demo_page.goto(f"{running_app.url}/integrations/")
    demo_page.click("#service-fastmail a:has-text('Connect (sandbox server)')")
    assert "not the real Fastmail" in demo_page.inner_text("main")
    demo_page.fill("#id_password", "any-password")
    demo_page.click("button:has-text('Check and connect')")

    demo_page.wait_for_url(f"{running_app.url}/integrations/")
    assert "1 calendar(s) found" in demo_page.inner_text("main")
    sync_now(demo_page, "Fastmail")

    wait_for_text(demo_page, f"{running_app.url}/events/", "Call with the Berlin office")
