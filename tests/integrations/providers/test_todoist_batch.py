"""Todoist's batched writes (`TodoistProvider.write_batch`) at the HTTP seam, on the fixture
shapes (tests/fixtures/todoist/: item.json, command_error.json): one Sync call
per 100 commands, one result per write, a command's error that write's alone."""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.providers import errors
from integrations.providers.base import RemoteItem, Write
from integrations.providers.todoist.provider import TodoistProvider
from tests.integrations.providers.support import load

API = "https://api.todoist.com/api/v1"
SYNC = f"{API}/sync"
PROJECT = "6Jf8VQXxpwv56VQ7"
STAMP = "2026-03-01T09:00:00.000000Z"
# The recorded shape of a failed command (Sync `sync_status[uuid]`); the others follow it.
NOT_FOUND = load("todoist", "command_error.json")["sync_status"]["UUID"]
INVALID = {
    "error_code": 20,
    "error": "Invalid argument value",
    "error_tag": "INVALID_ARGUMENT_VALUE",
    "http_code": 400,
    "error_extra": {"argument": "content"},
}
RATE = {
    "error_code": 35,
    "error": "Too many requests",
    "error_tag": "LIMITS_REACHED",
    "http_code": 429,
    "error_extra": {"retry_after": 30},
}


def item(item_id: str, **changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(load("todoist", "item.json"))
    raw.update({"id": item_id, "updated_at": STAMP, **changes})
    return raw


def form(request: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body).items()}


class Todoist:
    """Sync and the task list, as documented: commands applied in order, each answered in
    `sync_status`; with a sync token the same call returns the items changed since it.
    `fail` answers chosen commands (by content or id) with an error object."""

    def __init__(self, mocked) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.fail: dict[str, dict[str, Any]] = {}
        self.seen: set[str] = set()
        self.syncs: list[dict[str, str]] = []
        self.lists: list[dict[str, list[str]]] = []
        self.changed: list[str] = []
        mocked.assert_all_requests_are_fired = False
        mocked.add_callback("POST", SYNC, callback=self.sync)
        mocked.add_callback("GET", re.compile(rf"{API}/tasks(\?.*)?$"), callback=self.list)
        mocked.add_callback("GET", re.compile(rf"{API}/tasks/\w+"), callback=self.get)

    def sync(self, request) -> tuple[int, dict, str]:
        sent = form(request)
        self.syncs.append(sent)
        statuses, mapping = {}, {}
        for command in json.loads(sent.get("commands", "[]")):
            if command["uuid"] in self.seen:
                statuses[command["uuid"]] = "ok"
                continue
            self.seen.add(command["uuid"])
            statuses[command["uuid"]] = self.apply(command, mapping)
        body: dict[str, Any] = {"sync_status": statuses, "temp_id_mapping": mapping}
        if "sync_token" in sent:
            body["items"] = [self.items[i] for i in self.changed]
        self.changed = []
        body["sync_token"] = f"tok{len(self.syncs)}"
        return 200, {}, json.dumps(body)

    def apply(self, command: dict[str, Any], mapping: dict[str, str]) -> Any:
        args = dict(command["args"])
        adding = command["type"] == "item_add"
        key = args["content"] if adding else mapping.get(args["id"], args["id"])
        if key in self.fail:
            return self.fail[key]
        if adding:
            new_id = f"t{len(self.items) + 1}"
            mapping[command["temp_id"]] = new_id
            args.pop("project_id")
            self.items[new_id] = item(new_id, **{"due": None, "description": "", **args})
            self.changed.append(new_id)
            return "ok"
        target = mapping.get(args["id"], args.pop("id"))
        if target not in self.items:
            return NOT_FOUND
        record = self.items[target]
        record["updated_at"] = "2026-03-01T10:00:00.000000Z"
        if command["type"] == "item_update":
            record.update(args)
        elif command["type"] == "item_close":
            record["checked"] = True
        elif command["type"] == "item_delete":
            record["is_deleted"] = True
        self.changed.append(target)
        return "ok"

    def list(self, request) -> tuple[int, dict, str]:
        query = parse_qs(urlsplit(request.url).query)
        self.lists.append(query)
        wanted = set(query["ids"][0].split(",")) if "ids" in query else set(self.items)
        found = [
            raw
            for raw in self.items.values()
            if raw["id"] in wanted and not raw["is_deleted"] and not raw["checked"]
        ]
        return 200, {}, json.dumps({"results": found, "next_cursor": None})

    def get(self, request) -> tuple[int, dict, str]:
        found = self.items.get(urlsplit(request.url).path.rsplit("/", 1)[1])
        return (200, {}, json.dumps(found)) if found else (404, {}, "{}")

    def commands(self, call: int) -> list[dict[str, Any]]:
        return json.loads(self.syncs[call]["commands"])


@pytest.fixture
def provider(connect, wired) -> TodoistProvider:
    connection = connect("todoist", project_id=PROJECT, write_id_marker=True, timezone="UTC")
    return TodoistProvider(connection, http=wired(connection, "todo_live"))


@pytest.fixture
def todoist(mocked) -> Todoist:
    return Todoist(mocked)


def creates(*titles: str, done: bool = False) -> list[Write]:
    status = "done" if done else "open"
    return [Write("create", {"title": t, "status": status}, dayflow_id=f"task-{t}") for t in titles]


def test_three_creates_in_one_sync_call_one_failing_fails_alone(provider, todoist):
    provider.pull(None)  # as the engine does first: its sync token lets the writes read back
    todoist.fail["two"] = INVALID

    one, two, three = provider.write_batch(creates("one", "two", "three"))

    assert len(todoist.syncs) == 2  # the pull, then the three adds and their read-back
    assert todoist.lists == []
    assert todoist.syncs[1]["sync_token"] == "tok1"  # the pull's
    assert json.loads(todoist.syncs[1]["resource_types"]) == ["items"]
    assert [c["type"] for c in todoist.commands(1)] == ["item_add"] * 3
    assert isinstance(two, errors.Permanent)
    assert not isinstance(two, errors.NotFound)
    assert "Invalid argument value" in str(two)
    assert isinstance(one, RemoteItem)
    assert isinstance(three, RemoteItem)
    assert (one.fields["title"], one.dayflow_id) == ("one", "task-one")
    assert three.version == STAMP
    assert sorted(raw["content"] for raw in todoist.items.values()) == ["one", "three"]


def test_without_a_sync_token_the_written_items_are_read_in_one_list_call(provider, todoist):
    results = provider.write_batch(creates("one", "two", "three"))

    assert len(todoist.syncs) == 1
    assert "sync_token" not in todoist.syncs[0]
    assert todoist.lists == [{"ids": ["t1,t2,t3"], "limit": ["200"]}]
    assert [r.remote_id for r in results] == ["t1", "t2", "t3"]


STATUS_CASES = [
    ("ok", "ok", RemoteItem),
    ("not-found", NOT_FOUND, errors.NotFound),
    ("invalid-argument", INVALID, errors.Permanent),
    ("rate-limited", RATE, errors.RateLimited),
    ("not-an-object", "failed", errors.UnexpectedPayload),
]


@pytest.mark.parametrize(
    ("status", "expected"), [c[1:] for c in STATUS_CASES], ids=[c[0] for c in STATUS_CASES]
)
def test_a_command_s_status_is_its_write_s_result(provider, todoist, status, expected):
    todoist.items["t9"] = item("t9")
    if status != "ok":
        todoist.fail["t9"] = status
    other, result = provider.write_batch(
        [Write("create", {"title": "fine"}), Write("update", {"title": "x"}, remote_id="t9")]
    )
    assert isinstance(result, expected)
    assert isinstance(other, RemoteItem)  # the other write of the batch is untouched


def test_updates_read_their_items_in_one_call_and_a_newer_one_is_a_conflict(provider, todoist):
    recurring = {"date": "2026-03-02", "string": "every day", "is_recurring": True}
    todoist.items["t1"] = item("t1", description="old\n\n[dayflow:task-1]")
    todoist.items["t2"] = item("t2", updated_at="2026-03-01T09:30:00.000000Z")  # changed since
    todoist.items["t3"] = item("t3", due=recurring)
    due = provider.to_item(todoist.items["t3"]).fields["due"]

    one, two, three = provider.write_batch(
        [
            Write("update", {"notes": "new"}, remote_id="t1", version=STAMP),
            Write("update", {"title": "mine"}, remote_id="t2", version=STAMP),
            Write("update", {"title": "t3", "due": due, "status": "done"}, remote_id="t3"),
        ]
    )

    assert todoist.lists[0] == {"ids": ["t1,t2,t3"], "limit": ["200"]}  # all read at once
    assert len(todoist.syncs) == 1
    sent = todoist.commands(0)
    assert [(c["type"], c["args"]) for c in sent] == [
        ("item_update", {"id": "t1", "description": "new\n\n[dayflow:task-1]"}),  # marker kept
        ("item_update", {"id": "t3", "content": "t3"}),  # the recurring due not resent
        ("item_close", {"id": "t3"}),
    ]
    assert isinstance(two, errors.PreconditionFailed)
    assert todoist.items["t2"]["content"] == "Buy milk"  # the newer version stays
    assert one.fields["notes"] == "new"
    assert three.fields["status"] == "done"


def test_a_delete_of_a_task_already_gone_is_done(provider, todoist):
    todoist.items["t1"] = item("t1")
    results = provider.write_batch(
        [Write("delete", remote_id="t1"), Write("delete", remote_id="x")]
    )
    assert results == [None, None]
    assert todoist.items["t1"]["is_deleted"] is True


def test_more_than_100_commands_go_in_calls_that_never_split_a_write(provider, todoist):
    results = provider.write_batch(creates(*(f"n{i}" for i in range(60)), done=True))

    sizes = [len(todoist.commands(call)) for call in range(len(todoist.syncs))]
    assert sizes == [100, 20]  # 50 adds with their close, then 10
    first = todoist.commands(0)
    assert first[-1]["type"] == "item_close"
    assert first[-1]["args"]["id"] == first[-2]["temp_id"]
    assert all(isinstance(r, RemoteItem) and r.fields["status"] == "done" for r in results)


def test_a_batch_sent_again_is_applied_once_and_found_by_the_marker(provider, todoist):
    first = provider.write_batch(creates("one", "two"))

    again = provider.write_batch(creates("one", "two"))

    assert len(todoist.items) == 2  # the same uuids: Todoist applied nothing twice
    assert [r.remote_id for r in again] == [r.remote_id for r in first]
    scans = [q for q in todoist.lists if "project_id" in q]
    assert scans == [{"project_id": [PROJECT], "limit": ["200"]}]  # one scan for both
