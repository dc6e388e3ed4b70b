"""`python3 run.py` on the embedded defaults, with Chromium: the demo user connects services of
the sandbox through the real redirect (clicking "Allow" at the emulator) and sees the first
sync import the sandbox's data. Gunicorn, the worker and beat run as a user starts them."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid

import pytest
import requests

from tests.browser import screenshot
from tests.e2e.conftest import started_app

pytestmark = pytest.mark.browser
FIRST_SYNC = 60  # seconds for the worker to run the first sync


@pytest.fixture(scope="module")
def running_app(tmp_path_factory):
    """An app of these tests' own: the session's is stopped by test_run_command."""
    with started_app(tmp_path_factory.mktemp("sandbox-run-var")) as app:
        yield app


@pytest.fixture
def demo_page(browser, running_app):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{running_app.url}/accounts/login/")
    page.fill("#id_username", running_app.username)
    page.fill("#id_password", running_app.password)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Today')")
    yield page
    context.close()


def connect_through_the_sandbox(page, url: str, key: str) -> None:
    page.goto(f"{url}/integrations/")
    page.click(f"#service-{key} button:has-text('Connect (sandbox)')")
    assert "Sandbox — not the real" in page.inner_text("body")
    page.click("button:has-text('Allow')")
    page.wait_for_url(f"{url}/integrations/")
    assert "is connected" in page.inner_text("main")


def sandbox_project(app, name: str) -> str:
    """The id of a project at the sandbox's Todoist, as the person reads it there."""
    with sqlite3.connect(app.var_dir / "dayflow.sqlite3") as db:
        row = db.execute(
            "SELECT remote_id FROM sandbox_item WHERE kind = 'project' "
            "AND json_extract(data, '$.name') = ?",
            (name,),
        ).fetchone()
    return row[0]


def change_at_todoist(app, title: str, new_title: str) -> None:
    """Rename a task at the sandbox's Todoist through its Sync API, as another app would."""
    with sqlite3.connect(app.var_dir / "dayflow.sqlite3") as db:
        token = db.execute(
            "SELECT value FROM sandbox_grant WHERE kind = 'access' AND revoked_at IS NULL "
            "ORDER BY id DESC"
        ).fetchone()[0]
        task = db.execute(
            "SELECT remote_id FROM sandbox_item WHERE kind = 'task' "
            "AND json_extract(data, '$.content') = ?",
            (title,),
        ).fetchone()[0]
    command = {"type": "item_update", "uuid": str(uuid.uuid4()), "args": {"id": task}}
    command["args"]["content"] = new_title
    response = requests.post(
        f"{app.url}/sandbox/todoist/api/v1/sync",
        data={"commands": json.dumps([command])},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.ok, response.text


def choose(page, url: str, mapping: dict) -> None:
    """The connection's settings: which project or calendar it syncs."""
    page.goto(f"{url}/integrations/")
    page.click("table.connections a:has-text('Settings')")
    page.fill("#id_field_mapping", json.dumps(mapping))
    page.click("form:has(#id_field_mapping) button[type=submit]")
    page.wait_for_url(f"{url}/integrations/")


def sync_now(page, service: str) -> None:
    page.click(f"table.connections tr:has-text('{service}') button:has-text('Sync now')")


def wait_for_text(page, url: str, text: str) -> None:
    deadline = time.monotonic() + FIRST_SYNC
    while time.monotonic() < deadline:
        page.goto(url)
        if text in page.inner_text("main"):
            return
        time.sleep(1)
    raise AssertionError(f"{text!r} not on {url} after {FIRST_SYNC}s:\n{page.inner_text('main')}")


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
