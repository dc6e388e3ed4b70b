"""Todoist: the Sync endpoint for pulls and commands, mapping and errors, at the HTTP seam.

Shapes: tests/fixtures/todoist/ (built from the documented API v1 shapes, see SOURCE.md).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest
import time_machine

from integrations.providers import errors
from integrations.providers.todoist.provider import TodoistProvider
from tests.integrations.providers.support import (
    ERROR_CASES,
    arrange_error_case,
    assert_error_case,
    load,
)

API = "https://api.todoist.com/api/v1"
TASKS = f"{API}/tasks?"
SYNC = f"{API}/sync"
PROJECT = "6Jf8VQXxpwv56VQ7"
ITEM = load("todoist", "item.json")


def item(item_id: str, **changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(ITEM)
    raw.update(id=item_id, **changes)
    return raw


def form(call_or_request: Any) -> dict[str, Any]:
    request = getattr(call_or_request, "request", call_or_request)
    return {k: v[0] for k, v in parse_qs(request.body).items()}


def sent_commands(call: Any) -> list[dict[str, Any]]:
    return json.loads(form(call)["commands"])


class FakeTodoist:
    """Todoist's documented command semantics: uuids are applied once, temp ids mapped."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.seen: set[str] = set()
        self.clock = 0

    def install(self, mocked) -> None:
        mocked.assert_all_requests_are_fired = False  # a test may never read a task back
        mocked.add_callback("POST", SYNC, callback=self.sync)
        mocked.add_callback("GET", re.compile(rf"{API}/tasks/\w+"), callback=self.get)

    def sync(self, request) -> tuple[int, dict, str]:
        statuses, mapping = {}, {}
        for command in json.loads(form(request)["commands"]):
            statuses[command["uuid"]] = "ok"
            if command["uuid"] in self.seen:
                continue
            self.seen.add(command["uuid"])
            self.apply(command, mapping)
        return 200, {}, json.dumps({"sync_status": statuses, "temp_id_mapping": mapping})

    def apply(self, command: dict[str, Any], mapping: dict[str, str]) -> None:
        args, kind = dict(command["args"]), command["type"]
        self.clock += 1
        stamp = f"2026-03-01T10:00:{self.clock:02d}Z"
        if kind == "item_add":
            new_id = f"t{len(self.items) + 1}"
            mapping[command["temp_id"]] = new_id
            self.items[new_id] = item(
                new_id, **{"description": "", "due": None, "priority": 1, **args}
            )
            target = new_id
        else:
            target = mapping.get(args["id"], args.pop("id"))
        record = self.items[target]
        record["updated_at"] = stamp
        if kind == "item_update":
            record.update(args)
        elif kind == "item_close":
            record.update(checked=True, completed_at=stamp)
        elif kind == "item_uncomplete":
            record.update(checked=False, completed_at=None)
        elif kind == "item_delete":
            record["is_deleted"] = True

    def get(self, request) -> tuple[int, dict, str]:
        found = self.items.get(request.url.rsplit("/", 1)[1])
        return (200, {}, json.dumps(found)) if found else (404, {}, "{}")


@pytest.fixture
def provider(connect, wired) -> TodoistProvider:
    connection = connect(
        "todoist", project_id=PROJECT, write_id_marker=True, timezone="Europe/Madrid"
    )
    return TodoistProvider(connection, http=wired(connection, "todo_live"))


@pytest.fixture
def fake(mocked) -> FakeTodoist:
    server = FakeTodoist()
    server.install(mocked)
    return server


# --- pull ---------------------------------------------------------------------------------
def test_full_pull_uses_the_star_token_and_returns_the_new_token(provider, mocked):
    full = load("todoist", "sync_full.json") | {"items": [item("a"), item("b", project_id="other")]}
    mocked.post(SYNC, json=full)
    page = provider.pull(None)
    assert form(mocked.calls[0]) == {
        "sync_token": "*",
        "resource_types": '["items", "projects"]',
    }
    assert mocked.calls[0].request.headers["Authorization"] == "Bearer todo_live"
    assert [i.remote_id for i in page.items] == ["a"]
    assert page.next_cursor == full["sync_token"]
    assert not page.has_more
    assert not page.full  # a full sync leaves completed tasks out: absence is not deletion


def test_incremental_pull_sends_the_token_and_reports_deletions(provider, mocked):
    changes = {
        "items": [
            item("a", checked=True, completed_at="2026-02-22T09:00:00Z"),
            item("b", is_deleted=True),
            item("c", project_id="elsewhere"),  # moved out of our project
        ],
        "sync_token": "token-2",
        "full_sync": False,
    }
    mocked.post(SYNC, json=changes)
    page = provider.pull("token-1")
    assert form(mocked.calls[0])["sync_token"] == "token-1"
    assert [i.fields["status"] for i in page.items] == ["done"]
    assert page.deleted_ids == ["b", "c"]
    assert page.next_cursor == "token-2"


def test_an_item_without_checked_names_service_and_field(provider, mocked):
    broken = item("a")
    broken["checked"] = "yes"
    mocked.post(SYNC, json={"items": [broken], "sync_token": "t"})
    with pytest.raises(errors.UnexpectedPayload) as caught:
        provider.pull(None)
    assert (caught.value.service, caught.value.field) == ("todoist", "checked")


# --- mapping ------------------------------------------------------------------------------
def test_a_documented_item_maps_to_normalized_fields(provider):
    got = provider.to_item(ITEM)
    assert got.fields == {
        "title": "Buy milk",
        "notes": "Semi-skimmed",
        "status": "open",
        "due": dt.datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("Europe/Madrid")),
        "priority": 3,
        "completed_at": None,
        "tags": [],
        "url": "https://app.todoist.com/app/task/6X7rM8997g3RQmvh",
    }
    assert str(got.fields["due"].tzinfo) == "Europe/Madrid"
    assert got.version == "2026-02-21T21:28:43.841504Z"


def test_labels_come_in_as_sorted_distinct_tags_and_unfit_names_are_left_out(provider):
    labels = ["work", "home", "work", "x" * 101, " "]
    assert provider.to_item(item("x", labels=labels)).fields["tags"] == ["home", "work"]


def test_labels_that_are_not_a_list_are_an_unexpected_payload(provider):
    with pytest.raises(errors.UnexpectedPayload, match="labels"):
        provider.to_item(item("x", labels="home"))


def test_a_full_pull_names_each_task_s_list_from_the_projects_in_the_same_call(provider, mocked):
    projects = [{"id": PROJECT, "name": "Household"}, {"id": "other", "name": "Work"}]
    mocked.post(
        SYNC, json=load("todoist", "sync_full.json") | {"items": [item("a")], "projects": projects}
    )

    page = provider.pull(None)

    assert page.items[0].read_only == {"list_name": "Household"}
    assert len(mocked.calls) == 1


def test_an_incremental_pull_without_the_project_reports_no_list_name(provider, mocked):
    mocked.post(SYNC, json={"sync_token": "t2", "items": [item("a")]})

    page = provider.pull("t1")

    assert page.items[0].read_only == {}
    assert len(mocked.calls) == 1


def test_an_update_of_the_tags_sends_the_labels_by_name(provider, mocked, fake):
    fake.items["t1"] = item("t1", labels=["home"])

    updated = provider.update("t1", {"tags": ["home", "money"]})

    (update,) = [c for c in sent_commands(mocked.calls[1]) if c["type"] == "item_update"]
    assert update["args"] == {"id": "t1", "labels": ["home", "money"]}
    assert updated.fields["tags"] == ["home", "money"]


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        ({"date": "2026-03-02", "timezone": None}, dt.date(2026, 3, 2)),
        # floating: the user's local time (the connection's zone)
        (
            {"date": "2026-03-02T09:30:00", "timezone": None},
            dt.datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("Europe/Madrid")),
        ),
        (
            {"date": "2026-03-02T08:30:00.000000Z", "timezone": "Asia/Tokyo"},
            dt.datetime(2026, 3, 2, 17, 30, tzinfo=ZoneInfo("Asia/Tokyo")),
        ),
        (None, None),
    ],
)
def test_the_three_kinds_of_due_dates(provider, due, expected):
    assert provider.to_item(item("x", due=due)).fields["due"] == expected


ROUND_TRIPS = [
    {
        "title": "Pay rent 💶",
        "notes": "IBAN in the drive\nsecond line",
        "status": "done",
        "due": dt.datetime(2026, 3, 31, 18, 0, tzinfo=ZoneInfo("Europe/Berlin")),
        "priority": 4,
        "tags": ["home", "money"],
    },
    {
        "title": "Call",
        "notes": "",
        "status": "open",
        "due": dt.date(2026, 4, 1),
        "priority": 2,
        "tags": ["Café ☕"],
    },
    {"title": "Read", "notes": "n", "status": "open", "due": None, "priority": 0, "tags": []},
    {"title": "Plan", "notes": "x", "status": "open", "due": None, "priority": 3, "tags": []},
]


@pytest.mark.parametrize("fields", ROUND_TRIPS)
def test_every_normalized_field_round_trips(connect, make_client, mocked, fake, fields):
    provider = TodoistProvider(connect("todoist", project_id=PROJECT), http=make_client("todoist"))
    created = provider.create(fields)
    got = dict(created.fields)
    completed_at, url = got.pop("completed_at"), got.pop("url")
    assert got == fields
    assert url == f"https://app.todoist.com/app/task/{created.remote_id}"
    assert (completed_at is not None) == (fields["status"] == "done")


def test_low_priority_has_no_todoist_level_and_reads_back_as_none(provider):
    assert provider.to_args({"priority": 1}) == {"priority": 1}
    assert provider.to_item(item("x", priority=1)).fields["priority"] == 0


# --- writes -------------------------------------------------------------------------------
def test_create_sends_item_add_and_close_with_uuids_and_our_marker(provider, mocked, fake):
    mocked.get(f"{API}/tasks", json={"results": [], "next_cursor": None})
    got = provider.create(
        {
            "title": "New",
            "notes": "Body",
            "status": "done",
            "priority": 2,
            "due": dt.date(2026, 3, 3),
        },
        dayflow_id="task-8",
    )
    # a first attempt sends the add at once: no scan of the project for our marker
    assert [call.request.method for call in mocked.calls] == ["POST", "GET"]
    add, close = sent_commands(mocked.calls[0])
    assert add["type"] == "item_add"
    assert add["args"] == {
        "project_id": PROJECT,
        "content": "New",
        "description": "Body\n\n[dayflow:task-8]",
        "priority": 2,
        "due": {"date": "2026-03-03"},
    }
    assert close == {"type": "item_close", "uuid": close["uuid"], "args": {"id": add["temp_id"]}}
    assert len({add["uuid"], close["uuid"], add["temp_id"]}) == 3
    assert got.dayflow_id == "task-8"
    assert got.fields["notes"] == "Body"
    assert got.fields["status"] == "done"


def test_a_create_retried_after_a_crash_is_applied_once(provider, mocked, fake):
    # given a first attempt that reached Todoist, then the worker died before saving the id
    first = provider.create({"title": "Once"}, dayflow_id="task-9")
    # when the job runs again and the lookup (active tasks) finds it
    mocked.get(f"{API}/tasks", json={"results": [fake.items[first.remote_id]], "next_cursor": None})
    again = provider.create({"title": "Once"}, dayflow_id="task-9")
    # then
    assert again.remote_id == first.remote_id
    assert len(fake.items) == 1
    lookups = [call.request for call in mocked.calls if call.request.url.startswith(TASKS)]
    assert [parse_qs(r.url.split("?")[1]) for r in lookups] == [
        {"project_id": [PROJECT], "limit": ["200"]}
    ]


def test_a_replayed_add_command_is_not_applied_twice(connect, make_client, mocked, fake):
    # given the marker is off, so no lookup is possible: only the derived uuid protects us
    provider = TodoistProvider(connect("todoist", project_id=PROJECT), http=make_client("todoist"))
    with time_machine.travel(dt.datetime(2026, 3, 1, 23, 59, 58, tzinfo=dt.UTC), tick=False):
        provider.create({"title": "Once"}, dayflow_id="task-10")
        with pytest.raises(errors.UnexpectedPayload, match="temp_id_mapping"):
            provider.create({"title": "Once"}, dayflow_id="task-10")
    assert len(fake.items) == 1
    adds = [
        c for call in mocked.calls if call.request.method == "POST" for c in sent_commands(call)
    ]
    assert adds[0]["uuid"] == adds[1]["uuid"]


def test_a_timeout_after_the_send_resends_the_same_uuid(connect, make_client, mocked):
    # given Todoist applied the batch but the answer was lost
    import requests

    provider = TodoistProvider(connect("todoist", project_id=PROJECT), http=make_client("todoist"))
    mocked.post(SYNC, body=requests.ReadTimeout())
    mocked.post(SYNC, json={"sync_status": {}, "temp_id_mapping": {}})
    with pytest.raises(errors.UnexpectedPayload):
        provider.delete("t1")
    first, second = (sent_commands(call)[0]["uuid"] for call in mocked.calls)
    assert first == second


def test_update_closes_and_reopens_through_commands(provider, fake):
    fake.items["t1"] = item("t1", project_id=PROJECT, updated_at="2026-03-01T09:00:00Z")
    done = provider.update(
        "t1", {"status": "done", "title": "Renamed"}, version="2026-03-01T09:00:00Z"
    )
    assert done.fields["status"] == "done"
    assert done.fields["title"] == "Renamed"
    reopened = provider.update("t1", {"status": "open"})
    assert reopened.fields["status"] == "open"
    assert reopened.fields["completed_at"] is None


def test_update_keeps_the_marker_on_the_description(provider, mocked, fake):
    fake.items["t1"] = item("t1", description="old\n\n[dayflow:task-3]")
    provider.update("t1", {"notes": "new"})
    update = sent_commands(mocked.calls[1])[0]
    assert update["args"] == {"id": "t1", "description": "new\n\n[dayflow:task-3]"}


def test_update_of_a_task_changed_since_is_a_conflict(provider, fake):
    fake.items["t1"] = item("t1", updated_at="2026-03-01T09:05:00Z")
    with pytest.raises(errors.PreconditionFailed):
        provider.update("t1", {"title": "x"}, version="2026-03-01T09:00:00Z")


def test_delete_sends_item_delete(provider, mocked, fake):
    fake.items["t1"] = item("t1")
    provider.delete("t1")
    assert sent_commands(mocked.calls[0])[0]["type"] == "item_delete"
    assert fake.items["t1"]["is_deleted"] is True


def test_a_failed_command_raises_a_typed_error(provider, mocked):
    def answer(request):
        uid = sent_commands(request)[0]["uuid"]
        failed = load("todoist", "command_error.json")
        failed["sync_status"] = {uid: failed["sync_status"]["UUID"]}
        return 200, {}, json.dumps(failed)

    mocked.add_callback("POST", SYNC, callback=answer)
    with pytest.raises(errors.NotFound, match="Item not found"):
        provider.delete("gone")


def test_list_containers_pages_through_projects(provider, mocked):
    mocked.get(
        f"{API}/projects",
        json={"results": [{"id": "p1", "name": "Inbox", "parent_id": None}], "next_cursor": "n2"},
    )
    mocked.get(
        f"{API}/projects",
        json={"results": [{"id": "p2", "name": "Work", "parent_id": "p1"}], "next_cursor": None},
    )
    containers = provider.list_containers()
    assert [(c.id, c.name, c.parent) for c in containers] == [
        ("p1", "Inbox", ""),
        ("p2", "Work", "p1"),
    ]
    assert "cursor=n2" in mocked.calls[1].request.url
    assert all("limit=200" in call.request.url for call in mocked.calls)  # the largest page


# --- errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ERROR_CASES)
def test_error_cases_on_a_pull(connect, make_client, mocked, clock, case):
    refreshed: list[str] = []
    provider = TodoistProvider(
        connect("todoist", project_id=PROJECT),
        http=make_client("todoist", refresh=refreshed.append),
    )
    arrange_error_case(case, mocked, "POST", SYNC, load("todoist", "sync_full.json"))
    assert_error_case(case, lambda: provider.pull(None), clock, refreshed)


def test_an_unchanged_recurring_due_is_not_resent(provider, mocked, fake):
    recurring = {
        "date": "2026-03-02",
        "timezone": None,
        "string": "every monday",
        "is_recurring": True,
    }
    fake.items["t1"] = item("t1", due=recurring)
    provider.update("t1", {"title": "Gym", "due": dt.date(2026, 3, 2)})
    update = sent_commands(mocked.calls[1])[0]
    assert update["args"] == {"id": "t1", "content": "Gym"}
    assert fake.items["t1"]["due"]["string"] == "every monday"


def test_recreating_an_item_deleted_in_todoist_makes_a_new_one(provider, mocked, fake):
    # given our task was added, then deleted in Todoist (so no active task carries our marker)
    mocked.get(f"{API}/tasks", json={"results": [], "next_cursor": None})
    first = provider.create({"title": "Again"}, dayflow_id="task-11")
    fake.items[first.remote_id]["is_deleted"] = True
    # when the engine creates it again the same day
    again = provider.create({"title": "Again"}, dayflow_id="task-11")
    # then the replayed add is skipped by Todoist and a fresh one makes a new task
    assert again.remote_id != first.remote_id
    assert again.dayflow_id == "task-11"
    assert [i["is_deleted"] for i in fake.items.values()] == [True, False]


def test_without_the_marker_a_later_day_is_not_taken_for_a_replay(
    connect, make_client, mocked, fake
):
    provider = TodoistProvider(connect("todoist", project_id=PROJECT), http=make_client("todoist"))
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)):
        provider.create({"title": "Daily"}, dayflow_id="task-12")
    with time_machine.travel(dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)):
        provider.create({"title": "Daily"}, dayflow_id="task-12")
    assert len(fake.items) == 2
