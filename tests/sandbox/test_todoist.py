"""Todoist's emulator: the recorded shapes (tests/fixtures/todoist, webhooks/todoist), and the
real TodoistProvider pulling, creating, updating and deleting through it over HTTP."""

from __future__ import annotations

import json

import pytest
from django.test import Client as Browser

from integrations.providers.base import Write
from integrations.providers.errors import NotFound
from integrations.providers.http import HttpClient
from integrations.providers.todoist.provider import TodoistProvider
from integrations.providers.todoist.webhook import verify_todoist
from integrations.sandbox import outbox
from integrations.sandbox.models import Delivery, Item
from tests.integrations.providers.support import load
from tests.sandbox.conftest import account, same_shape
from webhooks.models import Delivery as ReceivedDelivery

SECRET = "todoist-secret"


@pytest.fixture
def token(register, connect) -> str:
    app = register("todoist", webhook_url="http://127.0.0.1:8000/api/webhooks/todoist/")
    return connect("todoist", app, "oauth/access_token")["access_token"]


def api(token: str, method: str, path: str, data=None):
    call = getattr(Browser(), method)
    return call(f"/sandbox/todoist/api/v1/{path}", data or {}, HTTP_AUTHORIZATION=f"Bearer {token}")


def a_task(token: str) -> dict:
    return api(token, "post", "sync", {"sync_token": "*", "resource_types": '["items"]'}).json()[
        "items"
    ][0]


# --- contract: the recordings win -------------------------------------------------------------
def test_a_task_has_the_recorded_fields(token):
    task = api(token, "get", f"tasks/{a_task(token)['id']}").json()

    assert same_shape(load("todoist", "item.json"), task) == []


def test_a_full_sync_has_the_recorded_fields(token):
    body = api(token, "post", "sync", {"sync_token": "*", "resource_types": '["items"]'}).json()

    assert same_shape(load("todoist", "sync_full.json"), body) == []
    assert body["full_sync"] is True
    assert not any(task["checked"] for task in body["items"])  # completed tasks are left out


def test_a_failed_command_has_the_recorded_status(token):
    command = {"type": "item_close", "uuid": "UUID", "args": {"id": "missing"}}
    body = api(token, "post", "sync", {"commands": json.dumps([command])}).json()

    assert body["sync_status"] == load("todoist", "command_error.json")["sync_status"]


def test_lists_are_cursor_paginated(token):
    first = api(token, "get", "tasks", {"limit": 5}).json()
    second = api(token, "get", "tasks", {"limit": 5, "cursor": first["next_cursor"]}).json()

    assert set(first) == {"results", "next_cursor"}
    assert len(first["results"]) == 5
    assert {t["id"] for t in first["results"]}.isdisjoint(t["id"] for t in second["results"])


def test_a_list_serves_200_at_most_and_refuses_a_larger_limit(token):
    owner = account("todoist")
    model = Item.objects.filter(account=owner, kind="task").order_by("pk").first()
    Item.objects.bulk_create(
        Item(
            account=owner,
            kind="task",
            remote_id=f"copy{n}",
            container=model.container,
            data={**model.data, "id": f"copy{n}", "checked": False},
            seq=owner.seq,
        )
        for n in range(201)
    )

    full = api(token, "get", "tasks", {"limit": 200}).json()
    refused = [api(token, "get", path, {"limit": 201}) for path in ("tasks", "projects")]

    assert len(full["results"]) == 200
    assert full["next_cursor"] is not None
    assert [r.status_code for r in refused] == [400, 400]
    assert {r.json()["error_extra"]["argument"] for r in refused} == {"limit"}


@pytest.mark.parametrize("limit", ["0", "-1", "ten", "2.5"])
def test_a_limit_that_is_no_count_is_refused(token, limit):
    response = api(token, "get", "tasks", {"limit": limit})

    assert response.status_code == 400
    assert response.json()["error_extra"]["argument"] == "limit"


def test_an_unknown_token_is_401(token):
    assert api("not-issued", "post", "sync", {"sync_token": "*"}).status_code == 401


def test_a_429_storm_carries_retry_after(token):
    account("todoist").__class__.objects.update(throttled=2)

    answers = [api(token, "get", "projects") for _ in range(3)]

    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].json()["error_extra"]["retry_after"] == 1


def test_a_change_sends_the_recorded_webhook_signed_with_the_client_secret(token):
    task = a_task(token)
    command = {"type": "item_update", "uuid": "u-1", "args": {"id": task["id"], "content": "New"}}
    api(token, "post", "sync", {"commands": json.dumps([command])})

    sent = Delivery.objects.get()
    body = bytes(sent.body)
    assert same_shape(load("webhooks/todoist", "item_updated.json"), json.loads(body)) == []
    assert json.loads(body)["event_data_extra"]["old_item"]["content"] == task["content"]
    assert verify_todoist(sent.headers, body, SECRET).ok


def test_tasks_are_listed_by_ids(token):
    first, _second, third = api(token, "get", "tasks", {"limit": 3}).json()["results"]

    body = api(token, "get", "tasks", {"ids": f"{first['id']},{third['id']}"}).json()

    assert [t["id"] for t in body["results"]] == [first["id"], third["id"]]


# --- the real provider, over HTTP -------------------------------------------------------------
@pytest.fixture
def provider(transactional_db, live_server, register, connect, connection, monkeypatch):
    app = register("todoist")
    tokens = connect("todoist", app, "oauth/access_token")
    monkeypatch.setattr(TodoistProvider, "api_base", f"{live_server.url}/sandbox/todoist/api/v1")
    work = Item.objects.get(kind="project", data__name="Work").remote_id
    connection.field_mapping = {"project_id": work}
    waits: list[float] = []
    http = HttpClient(
        "todoist",
        auth_headers=lambda: {"Authorization": f"Bearer {tokens['access_token']}"},
        rate=(0, 1.0),
        sleep=waits.append,
    )
    found = TodoistProvider(connection, http=http)
    found.waits = waits
    yield found
    http.session.close()  # no kept-alive connection outlives the live server's database


def test_the_provider_pulls_creates_updates_deletes_and_pulls_just_the_changes(provider):
    full = provider.pull(None)
    assert len(full.items) == 7  # Work's open tasks; completed ones stay out of a full sync
    assert {i.fields["title"] for i in full.items} >= {"Weekly planning", "1:1 with Jordan"}

    created = provider.create({"title": "Write the sandbox docs", "priority": 3, "status": "open"})
    after_create = provider.pull(full.next_cursor)
    assert [i.remote_id for i in after_create.items] == [created.remote_id]

    updated = provider.update(created.remote_id, {"title": "Write the docs", "status": "done"})
    assert updated.fields["status"] == "done"
    after_update = provider.pull(after_create.next_cursor)
    assert [(i.remote_id, i.fields["title"]) for i in after_update.items] == [
        (created.remote_id, "Write the docs")
    ]

    provider.delete(created.remote_id)
    after_delete = provider.pull(after_update.next_cursor)
    assert (after_delete.items, after_delete.deleted_ids) == ([], [created.remote_id])


def test_the_provider_waits_out_a_429_storm(provider):
    account("todoist").__class__.objects.update(throttled=3)

    assert provider.list_containers()
    assert provider.waits == [1.0, 1.0, 1.0]


def test_the_webhook_reaches_dayflow_and_is_verified(provider, live_server, settings):
    settings.DAYFLOW_OAUTH_CLIENTS = {
        **settings.DAYFLOW_OAUTH_CLIENTS,
        "todoist": {"client_id": "todoist-client", "client_secret": SECRET},
    }
    app = account("todoist").grant_set.first().client
    app.webhook_url = f"{live_server.url}/api/webhooks/todoist/"
    app.save()
    provider.connection.external_account_id = account("todoist").external_id
    provider.connection.save()

    provider.create({"title": "Seen by webhook", "status": "open"})
    outbox.deliver_pending()

    assert list(Delivery.objects.values_list("status", flat=True)) == [200]
    assert ReceivedDelivery.objects.filter(service__key="todoist").count() == 1


def test_the_provider_s_labels_round_trip_through_the_sandbox(provider):
    full = provider.pull(None)
    assert {i.read_only.get("list_name") for i in full.items} == {"Work"}
    created = provider.create({"title": "Label me", "status": "open", "tags": ["home"]})
    assert created.fields["tags"] == ["home"]

    updated = provider.update(created.remote_id, {"tags": ["errands", "home"]})

    assert updated.fields["tags"] == ["errands", "home"]


def test_the_provider_s_batched_writes_go_through_the_sandbox(provider):
    provider.pull(None)  # the run's sync token: the write call reads its items back
    kept = provider.create({"title": "Kept", "status": "open"})
    gone = provider.create({"title": "Gone", "status": "open"})
    writes = [
        Write("create", {"title": "Batched", "status": "done"}),
        Write("update", {"title": "Kept, renamed"}, remote_id=kept.remote_id, version=kept.version),
        Write("delete", remote_id=gone.remote_id),
        Write("update", {"title": "x"}, remote_id="missing"),
    ]

    made, renamed, deleted, missing = provider.write_batch(writes)

    assert (made.fields["title"], made.fields["status"]) == ("Batched", "done")
    assert renamed.fields["title"] == "Kept, renamed"
    assert deleted is None
    assert isinstance(missing, NotFound)
    assert provider.get(made.remote_id).fields["title"] == "Batched"
