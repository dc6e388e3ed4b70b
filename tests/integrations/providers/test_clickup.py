"""ClickUp: list tasks, page numbering, writes and mapping, at the HTTP seam.

Shapes: tests/fixtures/clickup/ (built from the documented API v2 responses, see SOURCE.md).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from integrations.providers import errors
from integrations.providers.clickup.provider import ClickUpProvider
from tests.integrations.providers.support import (
    ERROR_CASES,
    arrange_error_case,
    assert_error_case,
    body,
    load,
)

API = "https://api.clickup.com/api/v2"
LIST = "901"
TASKS = f"{API}/list/{LIST}/task"
ID_FIELD = "5dc86497-098d-4bb0-87d6-cf28e43812e7"
TASK = load("clickup", "task.json")


def task(task_id: str, updated_ms: int, **changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(TASK)
    raw.update(id=task_id, date_updated=str(updated_ms), url=f"https://app.clickup.com/t/{task_id}")
    raw.update(changes)
    return raw


def query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


@pytest.fixture
def provider(connect, wired) -> ClickUpProvider:
    connection = connect(
        "clickup", list_id=LIST, dayflow_id_field=ID_FIELD, timezone="Europe/Paris"
    )
    return ClickUpProvider(connection, http=wired(connection, "pk_live"))


# --- pull ---------------------------------------------------------------------------------
def test_full_pull_pages_from_zero_until_a_short_page(provider, mocked):
    # given a full first page of 100 tasks and a short second page
    mocked.get(TASKS, json={"tasks": [task(f"t{i}", 1_767_000_000_000 + i) for i in range(100)]})
    mocked.get(TASKS, json={"tasks": [task("t100", 1_767_000_000_500)]})
    # when
    first = provider.pull(None)
    second = provider.pull(first.next_cursor)
    # then
    assert len(first.items) + len(second.items) == 101
    assert first.has_more
    assert not second.has_more
    assert first.full
    assert query(mocked.calls[0]) == {
        "page": ["0"],
        "include_closed": ["true"],
        "subtasks": ["true"],
        "order_by": ["updated"],
    }
    assert query(mocked.calls[1])["page"] == ["1"]
    assert mocked.calls[0].request.headers["Authorization"] == "pk_live"  # no "Bearer"
    assert json.loads(second.next_cursor) == {"since": 1_767_000_000_500, "page": 0}


def test_incremental_pull_filters_on_date_updated_in_milliseconds(provider, mocked):
    mocked.get(TASKS, json={"tasks": [task("t1", 1_767_400_000_000, name="Changed")]})
    page = provider.pull(json.dumps({"since": 1_767_300_000_000, "page": 0}))
    assert query(mocked.calls[0])["date_updated_gt"] == ["1767300000000"]
    assert not page.full
    assert [i.fields["title"] for i in page.items] == ["Changed"]
    assert json.loads(page.next_cursor)["since"] == 1_767_400_000_000


def test_an_empty_incremental_pull_keeps_the_watermark(provider, mocked):
    mocked.get(TASKS, json={"tasks": []})
    page = provider.pull(json.dumps({"since": 1_767_300_000_000, "page": 0}))
    assert json.loads(page.next_cursor)["since"] == 1_767_300_000_000


def test_a_deleted_task_is_missing_from_a_full_listing(provider, mocked):
    # ClickUp has no tombstones: the engine finds deletions by difference on full pages
    mocked.get(TASKS, json={"tasks": [task("kept", 1_767_000_000_000)]})
    page = provider.pull(None)
    assert page.full
    assert [i.remote_id for i in page.items] == ["kept"]
    assert page.deleted_ids == []


def test_a_task_without_status_names_service_and_field(provider, mocked):
    broken = task("t1", 1)
    del broken["status"]
    mocked.get(TASKS, json={"tasks": [broken]})
    with pytest.raises(errors.UnexpectedPayload) as caught:
        provider.pull(None)
    assert (caught.value.service, caught.value.field) == ("clickup", "status")


# --- mapping ------------------------------------------------------------------------------
def test_a_documented_task_maps_to_normalized_fields(provider):
    item = provider.to_item(TASK)
    assert item.fields == {
        "title": "Prepare quarterly report",
        "notes": "Numbers from finance",
        "status": "open",
        "due": dt.datetime(2026, 1, 8, 11, 0, tzinfo=dt.UTC),
        "priority": 3,
        "completed_at": None,
        "tags": [],
        "url": "https://app.clickup.com/t/86a1b2c3d",
    }
    assert item.dayflow_id == "task-7"
    assert item.read_only == {"list_name": "Sprint"}
    assert item.version == "1767312000000"
    assert item.collection == "901"


def echo_task(request) -> tuple[int, dict, str]:
    """What ClickUp stores for a written task, returned in its read shape."""
    sent = json.loads(request.body)
    statuses = {s["status"]: s for s in load("clickup", "list.json")["statuses"]}
    status = statuses[sent["status"]]
    closed = status["type"] == "closed"
    priority = sent.get("priority")
    raw = task(
        "new-task",
        1_767_500_000_000,
        name=sent["name"],
        description=sent.get("description", ""),
        status={k: status[k] for k in ("status", "color", "orderindex", "type")},
        priority={"id": str(priority), "priority": "x", "color": "", "orderindex": str(priority)}
        if priority
        else None,
        due_date=str(sent["due_date"]) if sent["due_date"] is not None else None,
        due_date_time=sent["due_date_time"],
        date_done="1767500000000" if closed else None,
        date_closed="1767500000000" if closed else None,
        custom_fields=[],
        tags=[{"name": name, "tag_fg": "#fff", "tag_bg": "#000"} for name in sent.get("tags", [])],
    )
    return 200, {}, json.dumps(raw)


ROUND_TRIPS = [
    {
        "title": "Ship it",
        "notes": "multi\nline ✓",
        "status": "done",
        "due": dt.datetime(2026, 3, 1, 9, 15, tzinfo=ZoneInfo("Europe/Paris")),
        "priority": 4,
        "tags": ["q1", "release"],
    },
    {"title": "Someday", "notes": "", "status": "open", "due": None, "priority": 0, "tags": []},
    {
        "title": "Dated",
        "notes": "x",
        "status": "open",
        "due": dt.date(2026, 3, 29),
        "priority": 1,
        "tags": ["ops & infra"],
    },
    {
        "title": "Normal",
        "notes": "y",
        "status": "open",
        "due": dt.date(2026, 10, 25),
        "priority": 2,
        "tags": [],
    },
]


@pytest.mark.parametrize("fields", ROUND_TRIPS)
def test_every_normalized_field_round_trips(provider, mocked, fields):
    mocked.get(TASKS, json={"tasks": []})  # no task carries our id yet
    mocked.get(f"{API}/list/{LIST}", json=load("clickup", "list.json"))
    mocked.add_callback("POST", TASKS, callback=echo_task)
    item = provider.create(fields, dayflow_id="task-1")
    got = dict(item.fields)
    completed_at, url = got.pop("completed_at"), got.pop("url")
    assert got == fields
    # completion time and url are ClickUp's own
    expected_done = (
        dt.datetime(2026, 1, 4, 4, 13, 20, tzinfo=dt.UTC) if fields["status"] == "done" else None
    )
    assert completed_at == expected_done
    assert url == "https://app.clickup.com/t/new-task"


# --- writes -------------------------------------------------------------------------------
def test_create_sends_the_documented_body_with_our_custom_field(provider, mocked):
    mocked.get(TASKS, json={"tasks": []})
    mocked.get(f"{API}/list/{LIST}", json=load("clickup", "list.json"))
    mocked.add_callback("POST", TASKS, callback=echo_task)
    provider.create(
        {"title": "New", "status": "done", "priority": 3, "due": None}, dayflow_id="task-9"
    )
    lookup = query(mocked.calls[0])
    assert json.loads(lookup["custom_fields"][0]) == [
        {"field_id": ID_FIELD, "operator": "=", "value": "task-9"}
    ]
    assert body(mocked.calls[2]) == {
        "name": "New",
        "status": "Complete",  # the list's own closed status
        "priority": 2,
        "due_date": None,
        "due_date_time": False,
        "custom_fields": [{"id": ID_FIELD, "value": "task-9"}],
    }


def test_a_retried_create_finds_the_task_it_already_made(provider, mocked):
    mocked.get(TASKS, json={"tasks": [task("made", 1_767_000_000_000)]})
    item = provider.create({"title": "New"}, dayflow_id="task-7")
    assert item.remote_id == "made"
    assert len(mocked.calls) == 1


def test_update_checks_the_version_and_puts_the_changes(provider, mocked):
    mocked.get(f"{API}/task/t1", json=task("t1", 1_767_000_000_000))
    mocked.put(f"{API}/task/t1", json=task("t1", 1_767_000_009_000, name="Renamed"))
    item = provider.update("t1", {"title": "Renamed", "notes": "n"}, version="1767000000000")
    assert body(mocked.calls[1]) == {"name": "Renamed", "description": "n"}
    assert item.version == "1767000009000"


def test_update_after_a_remote_edit_is_a_conflict(provider, mocked):
    mocked.get(f"{API}/task/t1", json=task("t1", 1_767_000_005_000))
    with pytest.raises(errors.PreconditionFailed):
        provider.update("t1", {"title": "x"}, version="1767000000000")


def test_delete_deletes_the_task(provider, mocked):
    mocked.delete(f"{API}/task/t1", status=204)
    provider.delete("t1")
    assert mocked.calls[0].request.method == "DELETE"


# --- containers ---------------------------------------------------------------------------
def test_list_containers_walks_workspaces_spaces_folders_and_lists(provider, mocked):
    mocked.get(
        f"{API}/team", json={"teams": [{"id": "1", "name": "Acme", "color": "#000", "members": []}]}
    )
    mocked.get(
        f"{API}/team/1/space", json={"spaces": [{"id": "789", "name": "Eng", "private": False}]}
    )
    mocked.get(
        f"{API}/space/789/folder",
        json={"folders": [{"id": "456", "name": "Q1", "lists": [{"id": "901", "name": "Sprint"}]}]},
    )
    mocked.get(f"{API}/space/789/list", json={"lists": [{"id": "902", "name": "Inbox"}]})
    containers = provider.list_containers()
    assert [(c.kind, c.id, c.parent) for c in containers] == [
        ("workspace", "1", ""),
        ("space", "789", "1"),
        ("folder", "456", "789"),
        ("list", "901", "456"),
        ("list", "902", "789"),
    ]
    assert query(mocked.calls[1]) == {"archived": ["false"]}


# --- errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ERROR_CASES)
def test_error_cases_on_a_pull(connect, make_client, mocked, clock, case):
    refreshed: list[str] = []
    client = make_client("clickup", refresh=refreshed.append)
    provider = ClickUpProvider(connect("clickup", list_id=LIST), http=client)
    if case in ("refresh", "revoked"):
        mocked.get(TASKS, status=401, json=load("clickup", "error_oauth.json"))
        second = {"status": 401, "json": load("clickup", "error_oauth.json")}
        mocked.get(TASKS, **(second if case == "revoked" else {"json": {"tasks": []}}))
    else:
        arrange_error_case(case, mocked, "GET", TASKS, {"tasks": []})
    assert_error_case(case, lambda: provider.pull(None), clock, refreshed)


def test_429_waits_until_the_rate_limit_reset(provider, mocked, clock):
    reset = int(clock.now) + 15
    mocked.get(
        TASKS,
        status=429,
        headers={
            "X-RateLimit-Limit": "100",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
        },
    )
    mocked.get(TASKS, json={"tasks": []})
    provider.pull(None)
    assert clock.sleeps == [pytest.approx(15.0, abs=1)]


def test_get_refetches_one_task(provider, mocked):
    mocked.get(f"{API}/task/t1", json=task("t1", 1_767_000_000_000, name="Fresh"))
    assert provider.get("t1").fields["title"] == "Fresh"


@pytest.mark.parametrize("cursor", ["not json", "[1, 2]"])
def test_an_unreadable_cursor_is_expired_so_the_engine_lists_everything(provider, cursor):
    with pytest.raises(errors.CursorExpired):
        provider.pull(cursor)


# --- tags ---------------------------------------------------------------------------------
def test_tags_come_in_by_name_sorted(provider):
    raw = task("t", 1, tags=[{"name": "urgent", "tag_fg": "#fff"}, {"name": "backend"}, "junk"])
    assert provider.to_item(raw).fields["tags"] == ["backend", "urgent"]


def test_tags_not_a_list_are_an_unexpected_payload(provider):
    with pytest.raises(errors.UnexpectedPayload, match="tags"):
        provider.to_item(task("t", 1, tags="urgent"))


def test_an_update_adds_and_removes_only_the_changed_tags_then_puts_the_rest(provider, mocked):
    current = task("t1", 5, tags=[{"name": "keep"}, {"name": "old tag"}])
    mocked.get(f"{API}/task/t1", json=current)
    mocked.post(f"{API}/task/t1/tag/new%2Ftag", json={})
    mocked.delete(f"{API}/task/t1/tag/old%20tag", json={})
    after = task("t1", 6, tags=[{"name": "keep"}, {"name": "new/tag"}])
    mocked.put(f"{API}/task/t1", json=after)

    item = provider.update("t1", {"title": "x", "tags": ["keep", "new/tag"]}, version="5")

    methods = [(c.request.method, c.request.url.removeprefix(API)) for c in mocked.calls]
    assert methods == [
        ("GET", "/task/t1"),
        ("POST", "/task/t1/tag/new%2Ftag"),
        ("DELETE", "/task/t1/tag/old%20tag"),
        ("PUT", "/task/t1"),
    ]
    assert "tags" not in json.loads(mocked.calls[-1].request.body)
    assert item.fields["tags"] == ["keep", "new/tag"]


def test_an_update_with_the_same_tags_makes_no_tag_call(provider, mocked):
    mocked.get(f"{API}/task/t1", json=task("t1", 5, tags=[{"name": "keep"}]))
    mocked.put(f"{API}/task/t1", json=task("t1", 6, tags=[{"name": "keep"}]))

    provider.update("t1", {"notes": "n", "tags": ["keep"]})

    assert [c.request.method for c in mocked.calls] == ["GET", "PUT"]
