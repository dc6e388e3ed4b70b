"""`python3 run.py` on the embedded defaults, with Chromium: the demo user connects each of the
eight services of the sandbox (clicking "Allow" at the emulator, or at the sandbox's CalDAV
server), sees the first sync import its data, and then, one service at a time:

1. changes an item at the service (the sandbox console; for CalDAV, another CalDAV client):
   it shows in DayFlow with no "Sync now", through the service's verified webhook (CalDAV
   servers send none: through the connection's scheduled poll, every minute here);
2. changes it in DayFlow: the service holds the change seconds later, with no "Sync now";
3. changes it on both sides (paused between the two): a conflict is shown;
4. disconnects: the grant is revoked at the service (CalDAV: the credentials are deleted).

Gunicorn, the worker and beat run as a user starts them; one app serves the whole module.
"""

from __future__ import annotations

import pytest

from tests.browser import screenshot
from tests.e2e.sandbox_helpers import (
    LOCAL_CHANGE,
    POLL,
    WEBHOOK,
    Sandboxed,
    a_conflict_is_shown,
    at_service,
    change_settings,
    choose,
    connect_at_the_caldav_server,
    connect_through_the_sandbox,
    connections,
    credentials,
    disconnect,
    item_id,
    live_grants,
    live_subscriptions,
    local_copy,
    newest_connection,
    pause_or_resume,
    rename_at_caldav,
    rename_in_dayflow,
    rename_in_the_caldav_desk,
    rename_in_the_console,
    sandbox_rows,
    summary_at_caldav,
    sync_now,
    sync_now_from_integrations,
    title_in_dayflow,
    verified_webhooks,
    wait_for,
    wait_for_text,
    wait_until_quiet,
)

pytestmark = pytest.mark.browser

SERVICES = [
    Sandboxed("todoist", "Todoist", ("project_id", "project", "$.name", "Inbox"), "task",
              "$.content", "Call the dentist"),
    Sandboxed("notion", "Notion",
              ("data_source_id", "data_source", "$.title[0].plain_text", "Tasks"), "page",
              "$.properties.Name.title[0].plain_text", "Plan the product launch"),
    Sandboxed("linear", "Linear", ("team_id", "team", "$.key", "ENG"), "issue", "$.title",
              "Fix the login redirect"),
    Sandboxed("clickup", "ClickUp", ("list_id", "list", "$.name", "Website relaunch"), "task",
              "$.name", "Write the homepage copy", revokes=False),
    # the primary calendar and the default one, when none is chosen
    Sandboxed("google-calendar", "Google Calendar", None, "event", "$.summary", "Lunch with Sam"),
    Sandboxed("outlook", "Outlook", None, "event", "$.subject", "Lunch with Sam", revokes=False),
]  # fmt: skip


# key, name on the page, a seeded event: its calendar object at the server and its title
CALDAV_SERVICES = [
    ("apple-calendar", "Apple Calendar", "dentist.ics", "Dentist"),
    ("fastmail", "Fastmail", "berlin.ics", "Call with the Berlin office"),
]


def caldav_connection(page, app, key: str, name: str) -> int:
    """The live connection to the CalDAV service, connected at the sandbox's server and set
    to poll every minute when there is none yet."""
    live = [pk for pk, status in connections(app, key) if status == "connected"]
    if live:
        return live[-1]
    connect_at_the_caldav_server(page, app.url, key, name)
    change_settings(page, app.url, name, {"#id_sync_interval": "1"})  # minutes
    sync_now(page, name)
    return newest_connection(app, key)


def test_the_caldav_services_connect_at_the_sandbox_server_and_import_its_events(
    demo_page, sandbox_app
):
    """First in the module: the CalDAV connections then poll while the other services' tests
    run, so a change at the server waits for the next minute's poll, not for the first one
    after the schedule is made."""
    for key, name, _, title in CALDAV_SERVICES:
        connection = caldav_connection(demo_page, sandbox_app, key, name)
        wait_for(lambda: local_copy(sandbox_app, "event", connection, title), what="the import")
    wait_for_text(demo_page, f"{sandbox_app.url}/events/", "Call with the Berlin office")
    screenshot(demo_page, "e2e-sandbox-caldav-events")


def connected_and_imported(page, app, service: Sandboxed) -> tuple[int, int, str]:
    """Connect through the redirect and let the first sync import the seeded item: the
    connection, the item's DayFlow copy and its id at the service."""
    connect_through_the_sandbox(page, app.url, service.key)
    if service.collection:
        setting, kind, path, value = service.collection
        chosen = item_id(app, service.key, kind, path, value)
        choose(page, app.url, {setting: chosen}, service=service.name)
    # The first sync started by itself (a preview when DayFlow already holds items of the kind,
    # as it does here from the services before): once it is done, Sync now runs a real one.
    sync_now_from_integrations(page, app.url, service.name)
    wait_for_text(page, f"{app.url}{service.page}", service.title)
    screenshot(page, f"e2e-sandbox-{service.key}-{service.model}s")
    connection = newest_connection(app, service.key)
    remote = item_id(app, service.key, service.kind, service.title_path, service.title)
    return connection, local_copy(app, service.model, connection, service.title), remote


@pytest.mark.parametrize("service", SERVICES, ids=[s.key for s in SERVICES])
def test_a_service_connects_imports_and_its_changes_travel_conflict_and_disconnect(
    demo_page, sandbox_app, service
):
    app, url, name = sandbox_app, sandbox_app.url, service.name
    connection, mine, remote = connected_and_imported(demo_page, app, service)
    assert mine, "the first sync linked the seeded item"

    # 1. at the service: its signed webhook is verified and DayFlow syncs, no "Sync now"
    webhooks_before = verified_webhooks(app, service.key)
    rename_in_the_console(demo_page, app, service, remote, f"{service.title} (at {name})")
    renamed = f"{service.title} (at {name})"
    wait_for(lambda: title_in_dayflow(app, service.model, mine) == renamed, WEBHOOK, "the webhook")
    wait_for_text(demo_page, f"{url}{service.page}", renamed, 5)
    assert verified_webhooks(app, service.key) > webhooks_before

    # 2. in DayFlow: the change reaches the service by itself, in seconds, no "Sync now"
    rename_in_dayflow(demo_page, url, service.model, mine, f"{service.title} (in DayFlow)")
    wait_for(
        lambda: (
            at_service(app, service.key, service.kind, service.title_path, remote)
            == f"{service.title} (in DayFlow)"
        ),
        LOCAL_CHANGE,
        f"the rename at {name}",
    )

    # 3. both sides, paused so that no sync comes between the two changes: the next sync
    # finds them both
    wait_until_quiet(app, service.key, connection)
    pause_or_resume(demo_page, url, name, "Pause")
    rename_in_dayflow(demo_page, url, service.model, mine, "Both sides: DayFlow's")
    rename_in_the_console(
        demo_page, app, service, remote, f"Both sides: {name}'s", from_the_index=False
    )
    pause_or_resume(demo_page, url, name, "Resume")
    sync_now(demo_page, name)
    a_conflict_is_shown(demo_page, url, "Both sides: DayFlow's")
    screenshot(demo_page, f"e2e-sandbox-{service.key}-conflict")

    # 4. disconnecting revokes the grant at the service, where it can be revoked, and removes
    # the webhooks subscribed there; the credentials are gone either way
    assert live_grants(app, service.key) > 0
    said = disconnect(demo_page, url, name)
    assert live_subscriptions(app, service.key) == 0
    assert credentials(app, connection) == 0
    if service.revokes:
        assert live_grants(app, service.key) == 0
    else:  # the person is told to remove the access at the service
        assert "Remove DayFlow's access in" in said
        assert f"{name} too." in said


def titled(app, event: int, title: str):
    return lambda: title_in_dayflow(app, "event", event) == title


def test_the_caldav_services_poll_changes_conflict_and_disconnect(demo_page, sandbox_app):
    """Apple Calendar's and Fastmail's steps side by side: each change at the server waits for
    a poll, and two polls waited for at once cost one wait."""
    app, url = sandbox_app, sandbox_app.url
    mine = {}
    for key, name, _, title in CALDAV_SERVICES:
        connection = caldav_connection(demo_page, app, key, name)
        wait_for(lambda: local_copy(app, "event", connection, title), what="the first sync")
        mine[key] = (connection, local_copy(app, "event", connection, title))

    # 1. at the server, by another CalDAV client (the console's CalDAV desk in the browser, or
    # a PUT): the scheduled poll brings it, no "Sync now"
    (_, _, by_hand, title), (_, _, by_put, other) = CALDAV_SERVICES
    rename_in_the_caldav_desk(demo_page, url, by_hand, f"{title} (at the server)")
    rename_at_caldav(app, by_put, f"{other} (at the server)")
    for key, _, _, title in CALDAV_SERVICES:
        wait_for(titled(app, mine[key][1], f"{title} (at the server)"), POLL, f"{key}'s poll")
    wait_for_text(demo_page, f"{url}/events/", "Call with the Berlin office (at the server)", 5)

    for key, name, href, title in CALDAV_SERVICES:
        connection, event = mine[key]
        # 2. in DayFlow: the change reaches the server by itself, no "Sync now"
        rename_in_dayflow(demo_page, url, "event", event, f"{title} (in DayFlow)")
        wait_for(
            lambda: summary_at_caldav(app, href) == f"{title} (in DayFlow)",
            LOCAL_CHANGE,
            f"the rename at the server ({name})",
        )

        # 3. both sides, paused so that no poll comes between the two changes
        wait_until_quiet(app, key, connection)
        pause_or_resume(demo_page, url, name, "Pause")
        rename_in_dayflow(demo_page, url, "event", event, f"{name}: DayFlow's")
        rename_at_caldav(app, href, f"{name}: the server's")
        pause_or_resume(demo_page, url, name, "Resume")
        sync_now(demo_page, name)
        a_conflict_is_shown(demo_page, url, f"{name}: DayFlow's")

        # 4. no grant to revoke: disconnecting deletes the credentials and the schedule
        assert credentials(app, connection) == 1
        disconnect(demo_page, url, name)
        assert credentials(app, connection) == 0
        status = "SELECT status FROM integrations_connection WHERE id = ?"
        assert sandbox_rows(app, status, connection) == [("disconnected",)]
        scheduled = "SELECT count(*) FROM django_celery_beat_periodictask WHERE name = ?"
        assert sandbox_rows(app, scheduled, f"sync connection {connection}") == [(0,)]


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_the_integrations_page_links_to_the_sandbox_console(demo_page, sandbox_app, width, height):
    demo_page.set_viewport_size({"width": width, "height": height})
    try:
        demo_page.goto(f"{sandbox_app.url}/integrations/")
        size = "phone" if width < 600 else "desktop"
        screenshot(demo_page, f"e2e-sandbox-integrations-{size}")
        demo_page.click("a:has-text('Sandbox console')")
        demo_page.wait_for_url(f"{sandbox_app.url}/sandbox/console/")
        assert "Your sandbox accounts" in demo_page.inner_text("main")
        screenshot(demo_page, f"e2e-sandbox-console-{size}")
        demo_page.click("li.card:has(h2:text-is('CalDAV server')) a.button")
        assert "Weekly planning" in demo_page.inner_text("main")
        screenshot(demo_page, f"e2e-sandbox-console-caldav-{size}")
    finally:
        demo_page.set_viewport_size({"width": 1280, "height": 720})
