"""Notion's emulator: the recorded cassettes (tests/fixtures/notion), its OAuth (Basic client
auth, JSON body, the workspace in the token response), the watermark and the trash, the
verification token and signed events, and the real NotionProvider through it over HTTP."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import Client as Browser

from integrations.providers.http import HttpClient
from integrations.providers.notion.provider import NotionProvider
from integrations.providers.notion.webhook import verify_notion
from integrations.sandbox import notion
from integrations.sandbox.models import Account, Delivery, Item
from tests.integrations.providers.support import FIXTURES
from tests.sandbox.conftest import cassette, same_shape

KEY = "notion"
API = "/sandbox/notion/v1"
HEADERS = {"HTTP_NOTION_VERSION": "2025-09-03"}


def recorded(name: str, method: str, ends: str, status: int = 200) -> Any:
    for verb, uri, code, body in cassette(FIXTURES / "notion" / name):
        if verb == method and uri.split("?")[0].endswith(ends) and code == status:
            return body
    raise LookupError(f"{name}: no {method} …{ends}")


@pytest.fixture
def app(register):
    return register(KEY, webhook_url="http://127.0.0.1:8000/api/webhooks/notion/")


@pytest.fixture
def token(app, connect) -> str:
    return connect(KEY, app, "v1/oauth/token")["access_token"]


def api(token: str, method: str, path: str, data: Any = None, **headers: str):
    call = getattr(Browser(), method)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}", **HEADERS, **headers}
    if method in ("post", "patch"):
        return call(f"{API}/{path}", data or {}, content_type="application/json", **auth)
    return call(f"{API}/{path}", **auth)


def without(body: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in names}


def tasks_source(token: str) -> dict[str, Any]:
    body = api(token, "post", "search", {"filter": {"property": "object", "value": "data_source"}})
    return next(s for s in body.json()["results"] if s["title"][0]["plain_text"] == "Tasks")


# --- OAuth ----------------------------------------------------------------------------------
def test_the_token_endpoint_takes_basic_auth_and_json_and_names_the_workspace(app, authorize):
    code = authorize(KEY, app)["code"]
    basic = base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode()
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri}

    response = Browser().post(
        f"{API}/oauth/token",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )

    answer = response.json()
    assert answer["token_type"] == "bearer"
    assert {"bot_id", "workspace_id", "workspace_name", "owner", "refresh_token"} <= answer.keys()
    assert answer["owner"]["user"]["person"]["email"] == "alice@sandbox.test"


# --- contract: the recordings win -------------------------------------------------------------
def test_a_page_has_the_recorded_fields(token):
    source = tasks_source(token)
    page_id = api(token, "post", f"data_sources/{source['id']}/query").json()["results"][0]["id"]

    page = api(token, "get", f"pages/{page_id}").json()

    # The recording is a page under a page, titled "title"; ours live in a data source.
    expected = recorded("test_pages_retrieve.yaml", "GET", "")
    assert same_shape(without(expected, "parent", "properties"), page) == []
    assert same_shape(expected["properties"]["title"], page["properties"]["Name"]) == []
    assert page["parent"]["data_source_id"] == source["id"]


def more_pages(source_id: str, count: int) -> None:
    """`count` more live pages in the data source, copies of its first, in one insert."""
    model = Item.objects.filter(kind=notion.PAGE, container=source_id).order_by("pk").first()
    Item.objects.bulk_create(
        Item(
            account=model.account,
            kind=notion.PAGE,
            remote_id=f"copy-{n}",
            container=source_id,
            data={**model.data, "id": f"copy-{n}", "in_trash": False},
            seq=model.seq,
        )
        for n in range(count)
    )


def test_a_query_and_a_search_serve_100_at_most_and_refuse_more(token):
    source = tasks_source(token)
    more_pages(source["id"], notion.PAGE_MAX + 1)
    query = f"data_sources/{source['id']}/query"

    full = api(token, "post", query, {"page_size": 100}).json()
    searched = api(token, "post", "search", {"page_size": 100}).json()
    refused = [api(token, "post", path, {"page_size": 101}) for path in (query, "search")]

    assert (len(full["results"]), full["has_more"]) == (100, True)
    assert (len(searched["results"]), searched["has_more"]) == (100, True)
    assert [r.status_code for r in refused] == [400, 400]
    assert {r.json()["code"] for r in refused} == {"validation_error"}


@pytest.mark.parametrize("size", [0, -5, "ten", 2.5, True])
def test_a_page_size_that_is_no_count_is_a_validation_error(token, size):
    response = api(token, "post", "search", {"page_size": size})

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_a_data_source_and_a_query_have_the_recorded_fields(token):
    source = tasks_source(token)
    retrieved = api(token, "get", f"data_sources/{source['id']}").json()
    queried = api(token, "post", f"data_sources/{source['id']}/query", {"page_size": 5}).json()

    data_source = recorded("test_data_sources_retrieve.yaml", "GET", "")
    assert same_shape({**data_source, "icon": None, "database_parent": None}, retrieved) == []
    assert same_shape(recorded("test_data_sources_query.yaml", "POST", "/query"), queried) == []
    assert queried["has_more"] is True
    assert len(queried["results"]) == 5


def test_search_has_the_recorded_fields(token):
    body = api(token, "post", "search", {"query": "nothing like this"}).json()

    assert same_shape(recorded("test_search.yaml", "POST", "/search"), body) == []


def test_the_error_bodies_are_as_recorded(token):
    unauthorized = api("ntn_nope", "get", "users/me")
    missing = api(token, "get", "pages/00000000-0000-0000-0000-000000000000")

    expected = recorded("test_api_response_error.yaml", "GET", "/users", 401)
    assert unauthorized.status_code == 401
    assert same_shape(expected, unauthorized.json()) == []
    assert {k: v for k, v in unauthorized.json().items() if k != "request_id"} == {
        k: v for k, v in expected.items() if k != "request_id"
    }
    assert missing.json()["code"] == "object_not_found"


def test_users_me_has_the_recorded_fields(token):
    me = api(token, "get", "users/me").json()

    expected = recorded("test_users_me.yaml", "GET", "/users/me")
    # Recorded with an internal integration (owned by the workspace); an OAuth bot is owned
    # by the user who installed it.
    bot = without(expected["bot"], "owner")
    assert same_shape({**expected, "bot": bot}, me) == []
    assert me["bot"]["owner"]["type"] == "user"


def test_a_missing_notion_version_is_refused(token):
    response = Browser().get(f"{API}/users/me", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 400
    assert response.json()["code"] == "missing_version"


def test_a_429_carries_retry_after(token):
    Account.objects.update(throttled=1)

    response = api(token, "get", "users/me")

    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    assert response.json()["code"] == "rate_limited"


# --- webhooks -------------------------------------------------------------------------------
def test_the_verification_token_then_signed_events(app, token):
    secret = notion.send_verification(app)
    source = tasks_source(token)
    page_id = api(token, "post", f"data_sources/{source['id']}/query").json()["results"][0]["id"]
    api(
        token,
        "patch",
        f"pages/{page_id}",
        {"properties": {"Name": {"title": [{"text": {"content": "Renamed"}}]}}},
    )

    handshake, event = Delivery.objects.order_by("pk")
    assert json.loads(bytes(handshake.body)) == {"verification_token": secret}
    body = bytes(event.body)
    recorded_event = json.loads(
        (FIXTURES / "webhooks/notion/page.properties_updated.json").read_text()
    )
    assert same_shape(recorded_event, json.loads(body)) == []
    assert json.loads(body)["entity"] == {"id": page_id, "type": "page"}
    assert verify_notion(event.headers, body, secret).ok


# --- the real provider, over HTTP -------------------------------------------------------------
MAPPING = {
    "title_property": "Name",
    "status_property": "Status",
    "due_property": "Due",
    "notes_property": "Notes",
    "priority_property": "Priority",
    "completed_property": "Completed",
    "dayflow_id_property": "DayFlow ID",
}


@pytest.fixture
def provider(transactional_db, live_server, app, connect, connection, monkeypatch):
    tokens = connect(KEY, app, "v1/oauth/token")
    monkeypatch.setattr(NotionProvider, "api_base", f"{live_server.url}/sandbox/notion/v1")
    source = Item.objects.get(kind="data_source", data__title__0__plain_text="Tasks")
    connection.field_mapping = {"data_source_id": source.remote_id, **MAPPING}
    http = HttpClient(
        KEY,
        auth_headers=lambda: {
            "Authorization": f"Bearer {tokens['access_token']}",
            **NotionProvider.default_headers,
        },
        rate=(0, 1.0),
        sleep=lambda seconds: None,
    )
    yield NotionProvider(connection, http=http)
    http.session.close()


def pull_all(provider, cursor=None):
    items, deleted = [], []
    while True:
        page = provider.pull(cursor)
        items += page.items
        deleted += page.deleted_ids
        cursor = page.next_cursor
        if not page.has_more:
            return items, deleted, cursor


def test_tags_are_the_multi_select_the_mapping_names_and_a_new_name_becomes_an_option(
    provider,
):
    provider.connection.field_mapping = {**provider.field_mapping, "tags_property": "Tags"}
    created = provider.create(
        {"title": "Buy paint", "status": "open", "tags": ["Errand", "Side project"]},
        dayflow_id="df-10",
    )
    assert sorted(created.fields["tags"]) == ["Errand", "Side project"]
    source = Item.objects.get(kind="data_source", data__title__0__plain_text="Tasks")
    options = [o["name"] for o in source.data["properties"]["Tags"]["multi_select"]["options"]]
    assert options == ["Work", "Home", "Errand", "Side project"]  # the new name, added

    updated = provider.update(created.remote_id, {"tags": ["Home"]}, created.version)
    items, _, _ = pull_all(provider)

    assert updated.fields["tags"] == ["Home"]
    assert {i.remote_id: i.fields["tags"] for i in items}[created.remote_id] == ["Home"]


def test_a_tag_with_a_comma_is_left_out_not_the_whole_page(provider):
    provider.connection.field_mapping = {**provider.field_mapping, "tags_property": "Tags"}

    created = provider.create(
        {"title": "t", "status": "open", "tags": ["Home", "a, b"]}, dayflow_id="df-11"
    )

    assert created.fields["tags"] == ["Home"]
    assert any("a, b" in note for note in provider.notes)


@pytest.mark.parametrize("name", ["a, b", "x" * 101])
def test_the_emulator_refuses_a_multi_select_name_notion_would(token, name):
    source = Item.objects.get(kind="data_source", data__title__0__plain_text="Tasks")
    page = {
        "parent": {"data_source_id": source.remote_id},
        "properties": {
            "Name": {"title": [{"text": {"content": "t"}}]},
            "Tags": {"multi_select": [{"name": name}]},
        },
    }

    answer = api(token, "post", "pages", page)

    assert (answer.status_code, answer.json()["code"]) == (400, "validation_error")


def test_the_provider_pulls_creates_updates_deletes_and_pulls_just_the_changes(provider):
    items, _, cursor = pull_all(provider)
    assert len(items) == 18
    assert sum(i.fields["status"] == "done" for i in items) == 5
    newest = max(items, key=lambda i: i.version)

    created = provider.create(
        {"title": "Try the sandbox", "status": "open", "priority": 3}, dayflow_id="df-9"
    )
    items, _, cursor = pull_all(provider, cursor)
    # last_edited_time is rounded to the minute: the page edited in the watermark's minute is
    # read again by design (NotionProvider.pull); nothing older is.
    assert {i.remote_id for i in items} == {created.remote_id, newest.remote_id}
    assert next(i for i in items if i.remote_id == created.remote_id).dayflow_id == "df-9"

    updated = provider.update(
        created.remote_id, {"title": "Tried it", "status": "done"}, created.version
    )
    assert (updated.fields["title"], updated.fields["status"]) == ("Tried it", "done")
    items, deleted, cursor = pull_all(provider, cursor)
    assert ([i.remote_id for i in items], deleted) == ([created.remote_id], [])

    provider.delete(created.remote_id, updated.version)
    items, deleted, cursor = pull_all(provider, cursor)
    assert (items, deleted) == ([], [created.remote_id])
