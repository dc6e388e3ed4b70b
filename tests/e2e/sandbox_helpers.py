"""What the sandbox's end-to-end tests do in the pages and read at the emulators."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass

import requests

FIRST_SYNC = 60  # seconds for the worker to run the first sync
WEBHOOK = 30  # seconds for a service's webhook to be sent, verified and synced
# seconds for a change in DayFlow to reach the service (DAYFLOW_SYNC_LOCAL_DELAY, then the job)
LOCAL_CHANGE = 30
POLL = 150  # seconds for a connection that polls every minute to have polled


@dataclass(frozen=True)
class Sandboxed:
    """A service of the sandbox as the tests drive it: its key and name on the pages, the
    collection its settings choose (setting, kind at the service, JSON path, value), and
    a seeded item (kind at the service, the JSON path of its title, the title)."""

    key: str
    name: str
    collection: tuple[str, str, str, str] | None
    kind: str
    title_path: str
    title: str
    revokes: bool = True  # ClickUp and Graph have no revocation endpoint

    @property
    def model(self) -> str:
        """The DayFlow model its items become."""
        return "event" if self.kind == "event" else "task"

    @property
    def page(self) -> str:
        return f"/{self.model}s/"


def sign_in(browser, app, viewport: dict | None = None):
    """A fresh page of `app`, signed in as its demo user."""
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(f"{app.url}/accounts/login/")
    page.fill("#id_username", app.username)
    page.fill("#id_password", app.password)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Today')")
    return page


# --- the pages ------------------------------------------------------------------------------
def connect_through_the_sandbox(page, url: str, key: str) -> None:
    start_connecting(page, url, key)
    page.click("button:has-text('Allow')")
    wait_for_landing(page, url)
    said = page.inner_text("main")
    assert " is connected" in said or " is reconnected" in said, said


def wait_for_landing(page, url: str) -> None:
    """Where connecting or setting up leads (issue 15): the integrations page while the first
    sync runs, the settings to pick a container first (`?pick=1`), or the first sync's preview
    when DayFlow already has items of that kind."""

    def landed(at: str) -> bool:
        return (
            at == f"{url}/integrations/"
            or (at.startswith(f"{url}/integrations/connections/") and at.endswith("?pick=1"))
            or (at.startswith(f"{url}/sync/jobs/") and at.rstrip("/").split("/")[-1].isdigit())
        )

    page.wait_for_url(landed)


def start_connecting(page, url: str, key: str) -> None:
    page.goto(f"{url}/integrations/")
    page.click(f"#service-{key} button:has-text('Connect (sandbox)')")
    assert "Sandbox — not the real" in page.inner_text("body")


def connect_at_the_caldav_server(page, url: str, key: str, name: str) -> None:
    page.goto(f"{url}/integrations/")
    page.click(f"#service-{key} a:has-text('Connect (sandbox server)')")
    assert f"not the real {name}" in page.inner_text("main")
    page.fill("#id_password", "any-password")
    page.click("button:has-text('Check and connect')")
    wait_for_landing(page, url)
    assert "1 calendar(s) found" in page.inner_text("main")


def choose(page, url: str, mapping: dict, service: str = "") -> None:
    """The connection's settings: which project or calendar it syncs."""
    change_settings(page, url, service, {"#id_field_mapping": json.dumps(mapping)})


def change_settings(page, url: str, service: str, fields: dict[str, str]) -> None:
    page.goto(f"{url}/integrations/")
    page.click(f".connections article:has-text('{service}') a:has-text('Settings')")
    # The click returns once the settings page starts loading, not once it is parsed.
    page.wait_for_selector("details.advanced", state="attached")
    # The raw settings are under "Advanced" (the pickers left empty keep what it says).
    page.eval_on_selector("details.advanced", "details => { details.open = true; }")
    for selector, value in fields.items():
        page.fill(selector, value)
    page.click("form:has(#id_field_mapping) button[type=submit]")
    wait_for_landing(page, url)


def card_action(page, service: str, button: str) -> None:
    """Click a button of the service's card on the dashboard and wait for the answer: the
    card, swapped in place (htmx), following the job a "Sync now" started. A card offers
    "Sync now" only while no job of its runs (the first sync starts by itself on connecting):
    the card asks for itself meanwhile, so the button is waited for, not the page reloaded."""
    dashboard = "/".join(page.url.split("/")[:3]) + "/integrations/"
    if page.url != dashboard:  # e.g. setting up led to the first sync's preview
        page.goto(dashboard)
    selector = f".connections article:has-text('{service}') button:has-text('{button}')"
    page.wait_for_selector(selector, timeout=FIRST_SYNC * 1000)
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.click(selector)
    page.wait_for_selector(f".connections article:has-text('{service}') .card-note")


def sync_now(page, service: str) -> None:
    """Click "Sync now" on the service's card, wait for the card to say the sync started (or
    why not), then leave the dashboard, whose card asks for itself while the job runs."""
    card_action(page, service, "Sync now")
    page.goto("about:blank")


def pause_or_resume(page, url: str, service: str, action: str) -> None:
    page.goto(f"{url}/integrations/")
    card_action(page, service, action)


def sync_now_from_integrations(page, url: str, service: str) -> None:
    page.goto(f"{url}/integrations/")
    sync_now(page, service)


def rename_in_dayflow(page, url: str, model: str, pk: int, new_title: str) -> None:
    """A person renames a task or event in DayFlow (its admin pages)."""
    page.goto(f"{url}/admin/dayflow/{model}/{pk}/change/")
    page.fill("#id_title", new_title)
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")


def rename_in_the_console(
    page, app, service: Sandboxed, remote_id: str, new_title: str, *, from_the_index: bool = True
) -> None:
    """A person, acting as the service in the sandbox console, renames one of its items: from
    the console's index as a person finds it, or (`from_the_index=False`) at its edit page."""
    account, pk = sandbox_rows(
        app,
        "SELECT a.id, i.id FROM sandbox_item i JOIN sandbox_account a ON a.id = i.account_id "
        "WHERE a.service = ? AND i.kind = ? AND i.remote_id = ?",
        service.key,
        service.kind,
        remote_id,
    )[0]
    if from_the_index:
        page.goto(f"{app.url}/sandbox/console/")
        page.click(f"li.card:has(h2:text-is('{service.name}')) a.button")
        page.click(f"ul.items a[href$='/{pk}/']")
    else:
        page.goto(f"{app.url}/sandbox/{service.key}/console/{account}/{pk}/")
    page.fill("#id_title", new_title)
    page.click(f"button:has-text('Save at {service.name}')")
    page.wait_for_selector("ul.messages")
    assert "now sends its webhook" in page.inner_text("main")


def rename_in_the_caldav_desk(page, url: str, name: str, new_title: str) -> None:
    """A person renames an event at the sandbox's CalDAV server, in the console."""
    page.goto(f"{url}/sandbox/console/")
    page.click("li.card:has(h2:text-is('CalDAV server')) a.button")
    page.click(f"ul.items a[href$='/{name}/']")
    page.fill("#id_title", new_title)
    page.click("button:has-text('Save at the CalDAV server')")
    page.wait_for_selector("ul.messages")
    assert "CalDAV servers send no webhooks" in page.inner_text("main")


def disconnect(page, url: str, service: str) -> str:
    """Disconnect, keeping the items; what the page says then."""
    page.goto(f"{url}/integrations/")
    page.click(f".connections article:has-text('{service}') a:has-text('Disconnect')")
    page.check("input[value=keep]")
    page.click("button:has-text('Disconnect')")
    page.wait_for_url(f"{url}/integrations/")
    return page.inner_text("main")


def a_conflict_is_shown(page, url: str, title: str) -> None:
    wait_for_text(page, f"{url}/sync/conflicts/", title)
    assert "title" in page.inner_text("main").lower()  # what clashed, in words: "Title"


# --- waiting --------------------------------------------------------------------------------
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


# --- the database: DayFlow's tables and the emulators' ---------------------------------------
def sandbox_rows(app, sql: str, *params) -> list[tuple]:
    """Rows of the app's database (the sandbox's tables included), read as the service."""
    with sqlite3.connect(app.var_dir / "dayflow.sqlite3", timeout=10) as db:
        return db.execute(sql, params).fetchall()


def sandbox_project(app, name: str) -> str:
    """The id of a project at the sandbox's Todoist, as the person reads it there."""
    return item_id(app, "todoist", "project", "$.name", name)


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


def at_service(app, service: str, kind: str, path: str, remote_id: str) -> str:
    """A field of an item as the emulated service holds it now."""
    return sandbox_rows(
        app,
        "SELECT json_extract(i.data, ?) FROM sandbox_item i "
        "JOIN sandbox_account a ON a.id = i.account_id "
        "WHERE a.service = ? AND i.kind = ? AND i.remote_id = ?",
        path,
        service,
        kind,
        remote_id,
    )[0][0]


def access_token(app, service: str) -> str:
    """The newest live access token the emulated service issued."""
    return sandbox_rows(
        app,
        "SELECT g.value FROM sandbox_grant g JOIN sandbox_client c ON c.id = g.client_id "
        "WHERE c.service = ? AND g.kind = 'access' AND g.revoked_at IS NULL ORDER BY g.id DESC",
        service,
    )[0][0]


def live_grants(app, service: str) -> int:
    return sandbox_rows(
        app,
        "SELECT count(*) FROM sandbox_grant g JOIN sandbox_client c ON c.id = g.client_id "
        "WHERE c.service = ? AND g.kind != 'code' AND g.revoked_at IS NULL",
        service,
    )[0][0]


def live_subscriptions(app, key: str) -> int:
    """Webhooks the service would send to DayFlow: ClickUp's and Linear's API webhooks,
    Google's channels, Graph's subscriptions."""
    return sandbox_rows(
        app,
        "SELECT count(*) FROM sandbox_item i JOIN sandbox_account a ON a.id = i.account_id "
        "WHERE a.service = ? AND i.kind IN ('webhook', 'channel', 'subscription') "
        "AND NOT i.deleted",
        key,
    )[0][0]


def verified_webhooks(app, key: str) -> int:
    """Deliveries of the service in DayFlow's inbox: only a verified one is stored there."""
    return sandbox_rows(
        app,
        "SELECT count(*) FROM webhooks_delivery d JOIN integrations_service s "
        "ON s.id = d.service_id WHERE s.key = ?",
        key,
    )[0][0]


def local_copy(app, model: str, connection: int, title: str) -> int:
    """The DayFlow task or event of `connection` with this title (titles repeat across
    services, and Apple Calendar and Fastmail read the same sandbox calendar); 0 when none."""
    rows = sandbox_rows(
        app,
        f"SELECT l.{model}_id FROM sync_itemlink l JOIN dayflow_{model} x ON x.id = l.{model}_id "
        "WHERE l.connection_id = ? AND x.title = ? ORDER BY l.id DESC",
        connection,
        title,
    )
    return rows[0][0] if rows else 0


def title_in_dayflow(app, model: str, pk: int) -> str:
    return sandbox_rows(app, f"SELECT title FROM dayflow_{model} WHERE id = ?", pk)[0][0]


def connections(app, key: str) -> list[tuple[int, str]]:
    """(id, status) of the demo user's connections to the service, as DayFlow holds them."""
    return sandbox_rows(
        app,
        "SELECT c.id, c.status FROM integrations_connection c "
        "JOIN integrations_service s ON s.id = c.service_id WHERE s.key = ? ORDER BY c.id",
        key,
    )


def newest_connection(app, key: str) -> int:
    return connections(app, key)[-1][0]


def credentials(app, connection: int) -> int:
    return sandbox_rows(
        app, "SELECT count(*) FROM integrations_credential WHERE connection_id = ?", connection
    )[0][0]


def quiet(app, key: str, connection: int) -> bool:
    """Nothing of the service's under way: every webhook it sent was received and processed,
    and no sync of the connection is queued or running (an echo of DayFlow's own change
    would otherwise push a later local change before the service's)."""
    return not any(
        sandbox_rows(app, sql, param)[0][0]
        for sql, param in (
            ("SELECT count(*) FROM sandbox_delivery WHERE service = ? AND sent_at IS NULL", key),
            (
                "SELECT count(*) FROM webhooks_delivery d JOIN integrations_service s "
                "ON s.id = d.service_id WHERE s.key = ? AND d.status = 'received'",
                key,
            ),
            (
                "SELECT count(*) FROM sync_syncjob WHERE connection_id = ? "
                "AND status IN ('queued', 'running')",
                connection,
            ),
        )
    )


def wait_until_quiet(app, key: str, connection: int) -> None:
    """`quiet` twice in a row, a second apart: a webhook's sync starts a moment after."""
    wait_for(lambda: quiet(app, key, connection), WEBHOOK, "quiet")
    time.sleep(1)
    wait_for(lambda: quiet(app, key, connection), WEBHOOK, "quiet")


# --- another app, at the service --------------------------------------------------------------
def rename_at_todoist(app, task: str, new_title: str) -> None:
    """Rename a task at the sandbox's Todoist through its Sync API, as another app would."""
    command = {"type": "item_update", "uuid": str(uuid.uuid4()), "args": {"id": task}}
    command["args"]["content"] = new_title
    response = requests.post(
        f"{app.url}/sandbox/todoist/api/v1/sync",
        data={"commands": json.dumps([command])},
        headers={"Authorization": f"Bearer {access_token(app, 'todoist')}"},
        timeout=10,
    )
    assert response.ok, response.text
    assert response.json()["sync_status"][command["uuid"]] == "ok", response.text


# --- another CalDAV client, at the sandbox's CalDAV server ------------------------------------
def caldav_object(app, name: str) -> str:
    """The URL of a calendar object in the demo user's sandbox calendar (seeded by
    manage.py sandbox_caldav)."""
    return f"{app.caldav_url}/{app.username}/sandbox/{name}"


def summary_at_caldav(app, name: str) -> str:
    response = requests.get(caldav_object(app, name), auth=(app.username, "any"), timeout=10)
    response.raise_for_status()
    unfolded = response.text.replace("\r\n ", "")
    return next(
        line.split(":", 1)[1] for line in unfolded.splitlines() if line.startswith("SUMMARY")
    )


def rename_at_caldav(app, name: str, new_title: str) -> None:
    """Rename the event as another CalDAV client would: GET, change SUMMARY, PUT If-Match."""
    url, auth = caldav_object(app, name), (app.username, "any")
    found = requests.get(url, auth=auth, timeout=10)
    found.raise_for_status()
    lines = [
        f"SUMMARY:{new_title}" if line.startswith("SUMMARY") else line
        for line in found.text.replace("\r\n ", "").splitlines()
    ]
    headers = {"Content-Type": "text/calendar; charset=utf-8", "If-Match": found.headers["ETag"]}
    put = requests.put(
        url, data="\r\n".join(lines) + "\r\n", headers=headers, auth=auth, timeout=10
    )
    assert put.status_code in (201, 204), put.text
