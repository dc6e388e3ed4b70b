"""What the sandbox's end-to-end tests do in the pages and read at the emulators."""

from __future__ import annotations

import json
import sqlite3
import time

FIRST_SYNC = 60  # seconds for the worker to run the first sync


def sign_in(browser, app):
    """A fresh page of `app`, signed in as its demo user."""
    page = browser.new_context().new_page()
    page.goto(f"{app.url}/accounts/login/")
    page.fill("#id_username", app.username)
    page.fill("#id_password", app.password)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Today')")
    return page


def connect_through_the_sandbox(page, url: str, key: str) -> None:
    page.goto(f"{url}/integrations/")
    page.click(f"#service-{key} button:has-text('Connect (sandbox)')")
    assert "Sandbox — not the real" in page.inner_text("body")
    page.click("button:has-text('Allow')")
    page.wait_for_url(f"{url}/integrations/")
    assert "is connected" in page.inner_text("main")


def sandbox_rows(app, sql: str, *params) -> list[tuple]:
    """Rows of the app's database (the sandbox's tables included), read as the service."""
    with sqlite3.connect(app.var_dir / "dayflow.sqlite3") as db:
        return db.execute(sql, params).fetchall()


def sandbox_project(app, name: str) -> str:
    """The id of a project at the sandbox's Todoist, as the person reads it there."""
    return sandbox_rows(
        app,
        "SELECT remote_id FROM sandbox_item WHERE kind = 'project' "
        "AND json_extract(data, '$.name') = ?",
        name,
    )[0][0]


def choose(page, url: str, mapping: dict, service: str = "") -> None:
    """The connection's settings: which project or calendar it syncs."""
    page.goto(f"{url}/integrations/")
    page.click(f"table.connections tr:has-text('{service}') a:has-text('Settings')")
    page.fill("#id_field_mapping", json.dumps(mapping))
    page.click("form:has(#id_field_mapping) button[type=submit]")
    page.wait_for_url(f"{url}/integrations/")


def sync_now(page, service: str) -> None:
    page.click(f"table.connections tr:has-text('{service}') button:has-text('Sync now')")


def wait_for_text(page, url: str, text: str, seconds: float = FIRST_SYNC) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page.goto(url)
        if text in page.inner_text("main"):
            return
        time.sleep(1)
    raise AssertionError(f"{text!r} not on {url} after {seconds}s:\n{page.inner_text('main')}")


def wait_for(probe, seconds: float = FIRST_SYNC, what: str = "") -> None:
    """Poll `probe` until it is true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.5)
    raise AssertionError(f"not {what or probe} after {seconds}s")
