"""ClickUp's emulator: the hand-built fixtures (tests/fixtures/clickup, webhooks/clickup), the
bare-token header, 429 with X-RateLimit-*, team webhooks signed with X-Signature, and the real
ClickUpProvider through it over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client as Browser

from integrations.providers.clickup.provider import ClickUpProvider
from integrations.providers.clickup.webhook import verify_clickup
from integrations.providers.http import HttpClient
from integrations.sandbox.models import Account, Delivery, Item
from tests.integrations.providers.support import load
from tests.sandbox.conftest import same_shape

KEY = "clickup"
API = "/sandbox/clickup/api/v2"


@pytest.fixture
def app(register):
    return register(KEY)


@pytest.fixture
def token(app, connect) -> str:
    return connect(KEY, app, "api/v2/oauth/token")["access_token"]


def api(token: str, method: str, path: str, data: Any = None):
    call = getattr(Browser(), method)
    if method in ("post", "put"):
        return call(
            f"{API}/{path}", data, content_type="application/json", HTTP_AUTHORIZATION=token
        )
    return call(f"{API}/{path}", data or {}, HTTP_AUTHORIZATION=token)


def a_list(token: str, name: str = "Marketing") -> str:
    return Item.objects.get(kind="list", data__name=name).remote_id


def test_tokens_have_no_refresh_token_and_do_not_expire(app, connect):
    body = connect(KEY, app, "api/v2/oauth/token")

    assert "refresh_token" not in body
    assert "expires_in" not in body


def test_a_task_page_holds_100_tasks_at_most(token):
    list_id = a_list(token)
    model = Item.objects.filter(kind="task", container=list_id).order_by("pk").first()
    Item.objects.bulk_create(
        Item(
            account=model.account,
            kind="task",
            remote_id=f"copy{n}",
            container=list_id,
            data={**model.data, "id": f"copy{n}"},
            seq=model.seq,
        )
        for n in range(101)
    )
    total = Item.objects.filter(kind="task", container=list_id, deleted=False).count()

    pages = [
        api(token, "get", f"list/{list_id}/task", {"include_closed": "true", "page": n}).json()
        for n in range(3)
    ]

    assert [len(p["tasks"]) for p in pages] == [100, total - 100, 0]
    assert [p["last_page"] for p in pages] == [False, True, True]


def test_a_task_and_a_list_have_the_fixtures_fields(token):
    list_id = a_list(token)
    tasks = api(token, "get", f"list/{list_id}/task", {"include_closed": "true"}).json()
    listed = api(token, "get", f"list/{list_id}").json()
    one = api(token, "get", f"task/{tasks['tasks'][0]['id']}").json()

    assert same_shape(load("clickup", "task.json"), one) == []
    assert same_shape(load("clickup", "list.json"), listed) == []
    assert tasks["last_page"] is True


def test_a_bad_token_is_the_fixtures_oauth_error(token):
    response = api("pk_nope", "get", "team")

    assert response.status_code == 401
    assert response.json() == load("clickup", "error_oauth.json")


def test_a_storm_has_the_rate_limit_headers(token):
    Account.objects.update(throttled=1)

    response = api(token, "get", "team")

    assert response.status_code == 429
    assert response["X-RateLimit-Remaining"] == "0"
    assert int(response["X-RateLimit-Reset"]) > 0


def test_date_updated_gt_filters_on_milliseconds(token):
    list_id = a_list(token)
    everything = api(
        token, "get", f"list/{list_id}/task", {"include_closed": "true", "order_by": "updated"}
    ).json()["tasks"]
    newest = everything[0]["date_updated"]

    later = api(
        token, "get", f"list/{list_id}/task", {"include_closed": "true", "date_updated_gt": newest}
    )

    assert later.json()["tasks"] == []
    assert int(everything[0]["date_updated"]) >= int(everything[-1]["date_updated"])


def test_a_team_webhook_gets_signed_task_events(token):
    team_id = api(token, "get", "team").json()["teams"][0]["id"]
    created = api(
        token,
        "post",
        f"team/{team_id}/webhook",
        {"endpoint": "http://127.0.0.1:8000/h", "events": ["taskUpdated"]},
    ).json()
    task = api(token, "get", f"list/{a_list(token)}/task").json()["tasks"][0]
    api(token, "put", f"task/{task['id']}", {"name": "Write the quarterly report"})

    sent = Delivery.objects.get()
    body = bytes(sent.body)
    assert same_shape(load("webhooks/clickup", "taskUpdated.json"), json.loads(body)) == []
    assert json.loads(body)["history_items"][0]["after"] == "Write the quarterly report"
    assert verify_clickup(sent.headers, body, created["webhook"]["secret"]).ok


# --- the real provider, over HTTP -------------------------------------------------------------
@pytest.fixture
def provider(transactional_db, live_server, app, connect, connection, monkeypatch):
    tokens = connect(KEY, app, "api/v2/oauth/token")
    monkeypatch.setattr(ClickUpProvider, "api_base", f"{live_server.url}/sandbox/clickup/api/v2")
    marketing = Item.objects.get(kind="list", data__name="Marketing")
    id_field = marketing.data["custom_fields"][0]["id"]
    connection.field_mapping = {"list_id": marketing.remote_id, "dayflow_id_field": id_field}
    http = HttpClient(
        KEY,
        auth_headers=lambda: {"Authorization": tokens["access_token"]},
        rate=(0, 1.0),
        sleep=lambda seconds: None,
    )
    yield ClickUpProvider(connection, http=http)
    http.session.close()


def pull_all(provider, cursor=None):
    items = []
    while True:
        page = provider.pull(cursor)
        items += page.items
        cursor = page.next_cursor
        if not page.has_more:
            return items, cursor


def test_the_provider_pulls_creates_updates_deletes_and_pulls_just_the_changes(provider):
    items, cursor = pull_all(provider)
    assert len(items) == 7
    assert {c.kind for c in provider.list_containers()} == {"workspace", "space", "folder", "list"}

    created = provider.create(
        {"title": "Try the sandbox", "status": "open", "priority": 2}, dayflow_id="df-5"
    )
    items, cursor = pull_all(provider, cursor)
    assert [i.remote_id for i in items] == [created.remote_id]
    assert items[0].dayflow_id == "df-5"

    updated = provider.update(
        created.remote_id, {"title": "Tried it", "status": "done"}, created.version
    )
    assert updated.fields["status"] == "done"
    items, cursor = pull_all(provider, cursor)
    assert [(i.remote_id, i.fields["title"]) for i in items] == [(created.remote_id, "Tried it")]

    provider.delete(created.remote_id, updated.version)
    # ClickUp's filters never show a deleted task: a full listing finds it by difference.
    assert pull_all(provider, cursor)[0] == []
    full, _ = pull_all(provider)
    assert created.remote_id not in {i.remote_id for i in full}


def test_the_provider_s_tags_round_trip_through_the_sandbox(provider):
    # given a task created with tags, in the list named "Marketing"
    created = provider.create(
        {"title": "Tag me", "status": "open", "priority": 0, "tags": ["launch", "q1"]}
    )
    assert created.fields["tags"] == ["launch", "q1"]
    assert created.read_only == {"list_name": "Marketing"}

    # when one tag is swapped for another
    updated = provider.update(created.remote_id, {"tags": ["launch", "web"]}, created.version)

    # then the sandbox holds exactly the new tags
    assert updated.fields["tags"] == ["launch", "web"]
    assert provider.get(created.remote_id).fields["tags"] == ["launch", "web"]


# --- Move Task (API v3) -----------------------------------------------------------------------
def move(token: str, team: str, task_id: str, list_id: str, body: dict):
    return Browser().put(
        f"/sandbox/clickup/api/v3/workspaces/{team}/tasks/{task_id}/home_list/{list_id}",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=token,
    )


def test_move_task_keeps_the_id_and_maps_a_status_the_new_list_lacks(token):
    team = api(token, "get", "team").json()["teams"][0]["id"]
    personal = Item.objects.get(kind="list", data__name="Personal")
    for status in personal.data["statuses"]:
        if status["status"] == "in progress":
            status["status"] = "doing"
    personal.save()
    task = Item.objects.get(kind="task", data__name="Customer story: Initech")  # in progress
    source = Item.objects.get(kind="list", remote_id=task.container)
    progress = next(s["id"] for s in source.data["statuses"] if s["status"] == "in progress")
    doing = next(s["id"] for s in personal.data["statuses"] if s["status"] == "doing")

    refused = move(token, team, task.remote_id, personal.remote_id, {})
    wrong_team = move(token, "1", task.remote_id, personal.remote_id, {})
    mapping = [{"source_status": progress, "destination_status": doing}]
    moved = move(token, team, task.remote_id, personal.remote_id, {"status_mappings": mapping})

    assert (refused.status_code, wrong_team.status_code, moved.status_code) == (400, 404, 200)
    after = api(token, "get", f"task/{task.remote_id}").json()
    assert (after["id"], after["list"]["id"], after["status"]["status"]) == (
        task.remote_id,
        personal.remote_id,
        "doing",
    )
    listed = api(token, "get", f"list/{personal.remote_id}/task").json()["tasks"]
    assert task.remote_id in {t["id"] for t in listed}
