"""`python3 run.py` on the embedded defaults, with Chromium: the demo user connects services of
the sandbox through the real redirect (clicking "Allow" at the emulator) and sees the first
sync import the sandbox's data. Gunicorn, the worker and beat run as a user starts them."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from tests.browser import screenshot
from tests.e2e.conftest import started_app
from tests.e2e.sandbox_helpers import (
    choose,
    connect_through_the_sandbox,
    sandbox_project,
    sandbox_rows,
    sign_in,
    sync_now,
    wait_for_text,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def running_app(tmp_path_factory):
    """An app of these tests' own: the session's is stopped by test_run_command."""
    with started_app(tmp_path_factory.mktemp("sandbox-run-var")) as app:
        yield app


@pytest.fixture
def demo_page(browser, running_app):
    page = sign_in(browser, running_app)
    yield page
    page.context.close()


def change_at_todoist(app, title: str, new_title: str) -> None:
    """Rename a task at the sandbox's Todoist through its Sync API, as another app would."""
    token = sandbox_rows(
        app,
        "SELECT value FROM sandbox_grant WHERE kind = 'access' AND revoked_at IS NULL "
        "ORDER BY id DESC",
    )[0][0]
    task = sandbox_rows(
        app,
        "SELECT remote_id FROM sandbox_item WHERE kind = 'task' "
        "AND json_extract(data, '$.content') = ?",
        title,
    )[0][0]
    command = {"type": "item_update", "uuid": str(uuid.uuid4()), "args": {"id": task}}
    command["args"]["content"] = new_title
    response = requests.post(
        f"{app.url}/sandbox/todoist/api/v1/sync",
        data={"commands": json.dumps([command])},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.ok, response.text


def test_todoist_connects_through_the_sandbox_its_tasks_are_imported_and_follow_changes(
    demo_page, running_app
):
    connect_through_the_sandbox(demo_page, running_app.url, "todoist")
    choose(demo_page, running_app.url, {"project_id": sandbox_project(running_app, "Inbox")})
    sync_now(demo_page, "Todoist")

    wait_for_text(demo_page, f"{running_app.url}/tasks/", "Call the dentist")
    screenshot(demo_page, "e2e-sandbox-todoist-tasks")

    # a change at the service: Todoist's signed webhook reaches DayFlow, which syncs again
    change_at_todoist(running_app, "Call the dentist", "Call the dentist about Friday")
    wait_for_text(demo_page, f"{running_app.url}/tasks/", "Call the dentist about Friday")


def test_apple_calendar_connects_at_the_sandbox_server_and_its_events_are_imported(
    demo_page, running_app
):
    demo_page.goto(f"{running_app.url}/integrations/")
    demo_page.click("#service-apple-calendar a:has-text('Connect (sandbox server)')")
    assert "not the real Apple Calendar" in demo_page.inner_text("main")
    demo_page.fill("#id_password", "any-password")
    demo_page.click("button:has-text('Check and connect')")

    demo_page.wait_for_url(f"{running_app.url}/integrations/")
    assert "1 calendar(s) found" in demo_page.inner_text("main")
    sync_now(demo_page, "Apple Calendar")

    wait_for_text(demo_page, f"{running_app.url}/events/", "Call with the Berlin office")


def test_google_calendar_connects_through_the_sandbox_and_its_events_are_imported(
    demo_page, running_app
):
    connect_through_the_sandbox(demo_page, running_app.url, "google-calendar")
    sync_now(demo_page, "Google Calendar")  # the primary calendar, when none is chosen

    wait_for_text(demo_page, f"{running_app.url}/events/", "Lunch with Sam")
    screenshot(demo_page, "e2e-sandbox-google-events")
