"""What the console tests need per service: connect an app as the signed-in user, subscribe it
to the service's webhooks, read the change feed the real provider reads (over the emulator's
API, with the provider's own cursor), and check a queued webhook's signature."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from django.test import Client as Browser

from integrations.providers.clickup.webhook import verify_clickup
from integrations.providers.google_calendar.webhook import verify_google
from integrations.providers.graph_webhook import verify_graph
from integrations.providers.linear import provider as linear_provider
from integrations.providers.linear.webhook import verify_linear
from integrations.providers.notion.webhook import verify_notion
from integrations.providers.todoist.webhook import verify_todoist
from integrations.sandbox import notion
from integrations.sandbox.models import Account, Delivery
from tests.sandbox.conftest import challenge

PKCE = {"code_challenge": challenge(), "code_challenge_method": "S256"}
WINDOW = {"startDateTime": "2020-01-01T00:00:00Z", "endDateTime": "2035-01-01T00:00:00Z"}
NOTION_VERSION = {"HTTP_NOTION_VERSION": notion.API_VERSION}  # Notion refuses calls without it
Feed = tuple[set[str], Any]  # the remote ids the feed reports changed, and the next cursor


def json_call(token: str, method: str, url: str, data: Any = None, bare: bool = False) -> Any:
    auth = {"HTTP_AUTHORIZATION": token if bare else f"Bearer {token}", **NOTION_VERSION}
    answer = getattr(Browser(), method)(url, data, content_type="application/json", **auth)
    assert answer.status_code < 300, answer.content
    return answer.json()


def get(token: str, url: str, params: dict[str, Any] | None = None, bare: bool = False) -> Any:
    auth = {"HTTP_AUTHORIZATION": token if bare else f"Bearer {token}"}
    answer = Browser().get(url, params or {}, **auth)
    assert answer.status_code == 200, answer.content
    return answer.json()


@dataclasses.dataclass(frozen=True)
class Line:
    """One service, as a console test drives it."""

    key: str
    token_path: str
    connect: dict[str, str]
    app: dict[str, str]
    subscribe: Callable[[str, Any], str]  # token, live server (or None): the secret to verify
    start: Callable[[str, str], Any]  # token, container: the feed's first cursor
    feed: Callable[[str, str, Any], Feed]  # token, container, cursor
    verify: Callable[[Delivery, str], bool]
    live: bool = False  # its subscription handshake calls back over HTTP
    feed_shows_deletes: bool = True


# --- Todoist: the Sync endpoint's sync_token ----------------------------------------------
TODOIST = "/sandbox/todoist/api/v1/sync"


def todoist_start(token: str, container: str) -> Any:
    answer = Browser().post(TODOIST, {"sync_token": "*"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    return answer.json()["sync_token"]


def todoist_feed(token: str, container: str, cursor: Any) -> Feed:
    body = {"sync_token": cursor, "resource_types": '["items"]'}
    answer = Browser().post(TODOIST, body, HTTP_AUTHORIZATION=f"Bearer {token}").json()
    return {item["id"] for item in answer["items"]}, answer["sync_token"]


# --- Google Calendar: syncToken -----------------------------------------------------------
def google_events(calendar: str) -> str:
    return f"/sandbox/google-calendar/calendar/v3/calendars/{calendar}/events"


def google_subscribe(token: str, live: Any) -> str:
    watch = {"id": "chan-1", "type": "web_hook", "address": "http://127.0.0.1:8000/h", "token": "t"}
    json_call(token, "post", f"{google_events('primary')}/watch", watch)
    return "t"


def google_start(token: str, container: str) -> Any:
    return google_feed(token, container, None)[1]


def google_feed(token: str, container: str, cursor: Any) -> Feed:
    params = {"maxResults": 2500, **({"syncToken": cursor} if cursor else {})}
    changed: set[str] = set()
    while True:
        body = get(token, google_events(container), params)
        changed |= {event["id"] for event in body["items"]}
        if "nextSyncToken" in body:
            return changed, body["nextSyncToken"]
        params["pageToken"] = body["nextPageToken"]


# --- Notion: last_edited_time, and the trash ----------------------------------------------
def notion_query(token: str, source: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    url = f"/sandbox/notion/v1/data_sources/{source}/query"
    return json_call(token, "post", url, body)["results"]


def notion_start(token: str, container: str) -> Any:
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0).isoformat()


def notion_feed(token: str, container: str, cursor: Any) -> Feed:
    since = {"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": cursor}}
    pages = notion_query(token, container, {"filter": since}) + notion_query(
        token, container, {"filter": since, "in_trash": True}
    )
    return {page["id"] for page in pages}, cursor


# --- Linear: issues filtered on updatedAt -------------------------------------------------
def linear_start(token: str, container: str) -> Any:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat().replace("+00:00", "Z")


def linear_feed(token: str, container: str, cursor: Any) -> Feed:
    variables = {"filter": {"updatedAt": {"gt": cursor}}, "first": 50, "after": None}
    body = json.dumps({"query": linear_provider.ISSUES, "variables": variables})
    answer = json_call(token, "post", "/sandbox/linear/graphql", body)
    return {issue["id"] for issue in answer["data"]["issues"]["nodes"]}, cursor


# --- ClickUp: date_updated_gt -------------------------------------------------------------
CLICKUP = "/sandbox/clickup/api/v2"


def clickup_subscribe(token: str, live: Any) -> str:
    team = get(token, f"{CLICKUP}/team", bare=True)["teams"][0]["id"]
    events = ["taskCreated", "taskUpdated", "taskStatusUpdated", "taskDeleted"]
    body = json.dumps({"endpoint": "http://127.0.0.1:8000/h", "events": events})
    return json_call(token, "post", f"{CLICKUP}/team/{team}/webhook", body, bare=True)["webhook"][
        "secret"
    ]


def clickup_start(token: str, container: str) -> Any:
    return str(int(dt.datetime.now(dt.UTC).timestamp() * 1000) - 1)


def clickup_feed(token: str, container: str, cursor: Any) -> Feed:
    params = {"include_closed": "true", "date_updated_gt": cursor}
    tasks = get(token, f"{CLICKUP}/list/{container}/task", params, bare=True)["tasks"]
    return {task["id"] for task in tasks}, cursor


# --- Outlook: the calendar view's delta link ----------------------------------------------
GRAPH = "/sandbox/outlook/v1.0"


def outlook_subscribe(token: str, live: Any) -> str:
    expiry = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {
        "changeType": "created,updated,deleted",
        "notificationUrl": f"{live.url}/echo/",
        "resource": "me/events",
        "expirationDateTime": expiry,
        "clientState": "state-1",
    }
    json_call(token, "post", f"{GRAPH}/subscriptions", body)
    return "state-1"


def outlook_start(token: str, container: str) -> Any:
    return outlook_feed(token, container, None)[1]


def outlook_feed(token: str, container: str, cursor: Any) -> Feed:
    url = cursor or f"{GRAPH}/me/calendars/{container}/calendarView/delta"
    changed: set[str] = set()
    params: dict[str, Any] | None = None if cursor else WINDOW
    while True:
        body = get(token, url, params)
        changed |= {entry["id"] for entry in body["value"]}
        if "@odata.deltaLink" in body:
            return changed, body["@odata.deltaLink"]
        url, params = body["@odata.nextLink"], None


def no_subscription(token: str, live: Any) -> str:
    """An app-wide webhook: the app's registration (`Line.app`) is the subscription."""
    return ""


LINES = {
    line.key: line
    for line in (
        Line(
            "todoist",
            "oauth/access_token",
            {},
            {"webhook_url": "http://127.0.0.1:8000/api/webhooks/todoist/"},
            no_subscription,
            todoist_start,
            todoist_feed,
            lambda sent, _: verify_todoist(sent.headers, bytes(sent.body), "todoist-secret").ok,
        ),
        Line(
            "google-calendar",
            "token",
            PKCE,
            {},
            google_subscribe,
            google_start,
            google_feed,
            lambda sent, secret: verify_google(sent.headers, "chan-1", secret).ok,
        ),
        Line(
            "notion",
            "v1/oauth/token",
            {},
            {"webhook_url": "http://127.0.0.1:8000/api/webhooks/notion/", "webhook_secret": "ns"},
            no_subscription,
            notion_start,
            notion_feed,
            lambda sent, _: verify_notion(sent.headers, bytes(sent.body), "ns").ok,
        ),
        Line(
            "linear",
            "oauth/token",
            {"scope": "read,write", **PKCE},
            {"webhook_url": "http://127.0.0.1:8000/api/webhooks/linear/", "webhook_secret": "ls"},
            no_subscription,
            linear_start,
            linear_feed,
            lambda sent, _: verify_linear(sent.headers, bytes(sent.body), "ls").ok,
        ),
        Line(
            "clickup",
            "api/v2/oauth/token",
            {},
            {},
            clickup_subscribe,
            clickup_start,
            clickup_feed,
            lambda sent, secret: verify_clickup(sent.headers, bytes(sent.body), secret).ok,
            feed_shows_deletes=False,  # a deleted task leaves the list: the webhook says so
        ),
        Line(
            "outlook",
            "common/oauth2/v2.0/token",
            {"scope": "offline_access openid", **PKCE},
            {},
            outlook_subscribe,
            outlook_start,
            outlook_feed,
            lambda sent, secret: verify_graph(json.loads(bytes(sent.body))["value"], secret).ok,
            live=True,
        ),
    )
}


def connector(register, connect, user) -> Callable[[str], tuple[Account, str]]:
    """For a module's `at_service` fixture: connect `key` as `user` (who clicked "Allow"),
    giving their sandbox account and an access token."""

    def run(key: str) -> tuple[Account, str]:
        line = LINES[key]
        app = register(key, **line.app)
        token = connect(key, app, line.token_path, **line.connect)["access_token"]
        account = Account.objects.get(service=key)
        account.user = user
        account.save(update_fields=["user"])
        return account, token

    return run
