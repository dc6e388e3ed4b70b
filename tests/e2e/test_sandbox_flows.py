"""The sandbox's other flows end to end, on `python3 run.py` with Chromium: every remaining
service connects and imports its data; changes travel both ways, conflict and are disconnected;
and the services' refusals (Deny, an expired code, a 429 storm, a revoked refresh token) end
where a person can read them."""

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
    wait_for,
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


# key, name on the page, the collection its settings choose (setting, kind, JSON path, value at
# the service), a seeded task's title
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
    screenshot(demo_page, "e2e-sandbox-fastmail-events")


def access_token(app, service: str) -> str:
    """The newest live access token the emulated service issued."""
    return sandbox_rows(
        app,
        "SELECT g.value FROM sandbox_grant g JOIN sandbox_client c ON c.id = g.client_id "
        "WHERE c.service = ? AND g.kind = 'access' AND g.revoked_at IS NULL ORDER BY g.id DESC",
        service,
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


def live_grants(app, service: str) -> int:
    return sandbox_rows(
        app,
        "SELECT count(*) FROM sandbox_grant g JOIN sandbox_client c ON c.id = g.client_id "
        "WHERE c.service = ? AND g.kind != 'code' AND g.revoked_at IS NULL",
        service,
    )[0][0]


def local_copy(app, model: str, remote_id: str) -> int:
    """The DayFlow task or event synced with the remote item (titles repeat across services);
    a calendar's links name the item `<calendar>/<id>`."""
    rows = sandbox_rows(
        app,
        f"SELECT {model}_id FROM sync_itemlink WHERE remote_id = ? OR remote_id LIKE '%/' || ?",
        remote_id,
        remote_id,
    )
    return rows[0][0] if rows else 0


def rename_in_dayflow(page, url: str, model: str, pk: int, new_title: str) -> None:
    """A person renames a task or event in DayFlow (its admin pages)."""
    page.goto(f"{url}/admin/dayflow/{model}/{pk}/change/")
    page.fill("#id_title", new_title)
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")


def rename_at_todoist(app, task: str, new_title: str) -> None:
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


def rename_at_google(app, event: str, new_title: str) -> None:
    calendar = sandbox_rows(
        app, "SELECT container FROM sandbox_item WHERE kind = 'event' AND remote_id = ?", event
    )[0][0]
    url = f"{app.url}/sandbox/google-calendar/calendar/v3/calendars/{calendar}/events/{event}"
    headers = {"Authorization": f"Bearer {access_token(app, 'google-calendar')}"}
    body = requests.get(url, headers=headers, timeout=10).json()
    response = requests.put(url, json=body | {"summary": new_title}, headers=headers, timeout=10)
    assert response.ok, response.text


def disconnect(page, url: str, service: str) -> None:
    page.goto(f"{url}/integrations/")
    page.click(f"table.connections tr:has-text('{service}') a:has-text('Disconnect')")
    page.check("input[value=keep]")
    page.click("button:has-text('Disconnect')")
    page.wait_for_url(f"{url}/integrations/")


def a_conflict_is_shown(page, url: str, title: str) -> None:
    wait_for_text(page, f"{url}/sync/conflicts/", title)
    assert "title" in page.inner_text("main")


def test_todoist_changes_travel_both_ways_conflict_and_disconnecting_revokes_the_grant(
    demo_page, running_app
):
    url = running_app.url
    connect_through_the_sandbox(demo_page, url, "todoist")
    choose(demo_page, url, {"project_id": sandbox_project(running_app, "Inbox")}, "Todoist")
    sync_now(demo_page, "Todoist")
    task = item_id(running_app, "todoist", "task", "$.content", "Call the dentist")
    wait_for(lambda: local_copy(running_app, "task", task), what="the first sync")
    mine = local_copy(running_app, "task", task)

    # DayFlow -> the service
    rename_in_dayflow(demo_page, url, "task", mine, "Call the dentist at 9")
    demo_page.goto(f"{url}/integrations/")
    sync_now(demo_page, "Todoist")
    wait_for(
        lambda: (
            at_service(running_app, "todoist", "task", "$.content", task) == "Call the dentist at 9"
        ),
        what="the rename at Todoist",
    )

    # both sides at once: a conflict for the person to settle
    rename_in_dayflow(demo_page, url, "task", mine, "Dentist: DayFlow's")
    rename_at_todoist(running_app, task, "Dentist: Todoist's")
    demo_page.goto(f"{url}/integrations/")
    sync_now(demo_page, "Todoist")
    a_conflict_is_shown(demo_page, url, "Dentist: DayFlow's")
    screenshot(demo_page, "e2e-sandbox-todoist-conflict")

    assert live_grants(running_app, "todoist") > 0
    disconnect(demo_page, url, "Todoist")
    assert live_grants(running_app, "todoist") == 0


def test_google_changes_travel_both_ways_conflict_and_disconnecting_revokes_the_grant(
    demo_page, running_app
):
    url = running_app.url
    connect_through_the_sandbox(demo_page, url, "google-calendar")
    sync_now(demo_page, "Google Calendar")
    event = item_id(running_app, "google-calendar", "event", "$.summary", "Lunch with Sam")
    wait_for(lambda: local_copy(running_app, "event", event), what="the first sync")
    mine = local_copy(running_app, "event", event)

    rename_in_dayflow(demo_page, url, "event", mine, "Lunch with Sam and Kim")
    demo_page.goto(f"{url}/integrations/")
    sync_now(demo_page, "Google Calendar")
    wait_for(
        lambda: (
            at_service(running_app, "google-calendar", "event", "$.summary", event)
            == "Lunch with Sam and Kim"
        ),
        what="the rename at Google",
    )

    rename_in_dayflow(demo_page, url, "event", mine, "Lunch: DayFlow's")
    rename_at_google(running_app, event, "Lunch: Google's")
    demo_page.goto(f"{url}/integrations/")
    sync_now(demo_page, "Google Calendar")
    a_conflict_is_shown(demo_page, url, "Lunch: DayFlow's")
    screenshot(demo_page, "e2e-sandbox-google-conflict")

    assert live_grants(running_app, "google-calendar") > 0
    disconnect(demo_page, url, "Google Calendar")
    assert live_grants(running_app, "google-calendar") == 0


def connections(app, key: str) -> list[tuple[int, str]]:
    """(id, status) of the demo user's connections to the service, as DayFlow holds them."""
    return sandbox_rows(
        app,
        "SELECT c.id, c.status FROM integrations_connection c "
        "JOIN integrations_service s ON s.id = c.service_id WHERE s.key = ? ORDER BY c.id",
        key,
    )


def ensure_connected(page, app, key: str) -> int:
    """The id of a live connection to the service, connecting first when there is none."""
    live = [pk for pk, status in connections(app, key) if status == "connected"]
    if not live:
        connect_through_the_sandbox(page, app.url, key)
        live = [pk for pk, status in connections(app, key) if status == "connected"]
    return live[-1]


def start_connecting(page, url: str, key: str) -> None:
    page.goto(f"{url}/integrations/")
    page.click(f"#service-{key} button:has-text('Connect (sandbox)')")
    assert "Sandbox — not the real" in page.inner_text("body")


def test_deny_at_the_service_connects_nothing_and_says_so(demo_page, running_app):
    before = connections(running_app, "notion")
    start_connecting(demo_page, running_app.url, "notion")
    demo_page.click("button:has-text('Deny')")

    demo_page.wait_for_url(f"{running_app.url}/integrations/")
    assert "You declined access at Notion, so nothing was connected." in demo_page.inner_text(
        "main"
    )
    assert connections(running_app, "notion") == before
    screenshot(demo_page, "e2e-sandbox-deny")


def test_an_expired_authorization_code_is_refused_and_connects_nothing(demo_page, running_app):
    before = connections(running_app, "linear")
    start_connecting(demo_page, running_app.url, "linear")

    def expire_the_code_first(route):
        # The person took longer than the code's ten minutes: "Allow" issues the code, the
        # service lets it lapse, and only then does the browser follow the redirect back.
        if route.request.method != "POST":
            return route.continue_()
        issued = route.fetch(max_redirects=0)
        sandbox_rows(
            running_app,
            "UPDATE sandbox_grant SET expires_at = '2000-01-01 00:00:00' WHERE kind = 'code'",
        )
        return route.fulfill(response=issued)

    demo_page.route("**/sandbox/linear/**", expire_the_code_first)
    demo_page.click("button:has-text('Allow')")

    demo_page.wait_for_url(f"{running_app.url}/integrations/")
    message = demo_page.inner_text("main")
    assert "Linear did not complete the connection" in message
    assert "Nothing was saved" in message
    assert connections(running_app, "linear") == before
    screenshot(demo_page, "e2e-sandbox-expired-code")


def latest_job(app, connection: int) -> tuple[int, str]:
    return sandbox_rows(
        app,
        "SELECT id, status FROM sync_syncjob WHERE connection_id = ? ORDER BY id DESC",
        connection,
    )[0]


def test_a_429_storm_backs_off_and_the_sync_succeeds(demo_page, running_app):
    connection = ensure_connected(demo_page, running_app, "notion")
    source = item_id(running_app, "notion", "data_source", "$.title[0].plain_text", "Tasks")
    choose(demo_page, running_app.url, {"data_source_id": source}, service="Notion")
    jobs_before = sandbox_rows(
        running_app, "SELECT count(*) FROM sync_syncjob WHERE connection_id = ?", connection
    )[0][0]
    sandbox_rows(running_app, "UPDATE sandbox_account SET throttled = 3 WHERE service = 'notion'")

    sync_now(demo_page, "Notion")
    wait_for(
        lambda: (
            sandbox_rows(
                running_app, "SELECT count(*) FROM sync_syncjob WHERE connection_id = ?", connection
            )[0][0]
            > jobs_before
            and latest_job(running_app, connection)[1] in {"succeeded", "failed"}
        ),
        what="the sync's end",
    )
    assert latest_job(running_app, connection)[1] == "succeeded"
    throttled = "SELECT throttled FROM sandbox_account WHERE service = 'notion'"
    assert sandbox_rows(running_app, throttled) == [(0,)]  # every 429 was answered and waited out
    assert dict(connections(running_app, "notion"))[connection] == "connected"


def test_a_refresh_token_the_service_revoked_ends_in_needs_reconnecting(demo_page, running_app):
    connection = ensure_connected(demo_page, running_app, "linear")
    # The person removed DayFlow's access in Linear's settings: every token of it is revoked.
    sandbox_rows(
        running_app,
        "UPDATE sandbox_grant SET revoked_at = '2000-01-01 00:00:00' WHERE client_id IN "
        "(SELECT id FROM sandbox_client WHERE service = 'linear')",
    )
    team = item_id(running_app, "linear", "team", "$.key", "ENG")
    choose(demo_page, running_app.url, {"team_id": team}, service="Linear")
    sync_now(demo_page, "Linear")

    wait_for(
        lambda: dict(connections(running_app, "linear"))[connection] == "needs_reauth",
        what="Needs reconnecting",
    )
    demo_page.goto(f"{running_app.url}/integrations/")
    row = demo_page.inner_text(f"#connection-{connection}")
    assert "Needs reconnecting" in row
    screenshot(demo_page, "e2e-sandbox-needs-reconnecting")
