"""ClickUp with several lists of one workspace: each list pulled behind its own watermark, a new
task written to the list asked for, a status named by the task's own list, Move Task (API v3)
between them, and one workspace webhook for them all.

Shapes: tests/fixtures/clickup/ (documented API v2 responses, see SOURCE.md); Move Task:
https://developer.clickup.com/reference/movetask,
https://developer.clickup.com/docs/move-a-task-to-a-new-list.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.providers import errors
from integrations.providers.clickup.provider import ClickUpProvider
from integrations.providers.clickup.webhook import REGISTRAR
from integrations.providers.webhook_base import Registration
from tests.integrations.providers.support import body, load

API = "https://api.clickup.com/api/v2"
API_V3 = "https://api.clickup.com/api/v3"
TEAM = "9012345"
HOME, WORK = "901", "902"
TASK = load("clickup", "task.json")


def task(task_id: str, updated_ms: int, list_id: str, name: str = "Sprint") -> dict[str, Any]:
    raw = copy.deepcopy(TASK)
    raw.update(id=task_id, date_updated=str(updated_ms), name=f"Task {task_id}")
    raw["list"] = {"id": list_id, "name": name, "access": True}
    return raw


def tasks_url(list_id: str) -> str:
    return f"{API}/list/{list_id}/task"


def query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def the_list(list_id: str, closed: str) -> dict[str, Any]:
    raw = load("clickup", "list.json")
    raw["id"] = list_id
    for status in raw["statuses"]:
        if status["type"] == "closed":
            status["status"] = closed
    return raw


@pytest.fixture
def provider(connect, wired) -> ClickUpProvider:
    connection = connect("clickup", team_id=TEAM, list_id=[HOME, WORK])
    return ClickUpProvider(connection, http=wired(connection, "pk_live"))


# --- pull ---------------------------------------------------------------------------------
def test_a_full_pull_reads_each_list_in_turn_and_every_page_is_full(provider, mocked):
    mocked.get(tasks_url(HOME), json={"tasks": [task("h1", 1_767_000_000_100, HOME, "Home")]})
    mocked.get(tasks_url(WORK), json={"tasks": [task("w1", 1_767_000_000_200, WORK, "Work")]})

    first = provider.pull(None)
    second = provider.pull(first.next_cursor)

    assert [(i.remote_id, i.collection) for i in first.items] == [("h1", HOME)]
    assert [(i.remote_id, i.collection) for i in second.items] == [("w1", WORK)]
    assert (first.has_more, second.has_more) == (True, False)
    assert (first.full, second.full) == (True, True)  # deletions found by difference in both
    assert [i.read_only for i in first.items + second.items] == [
        {"list_name": "Home"},
        {"list_name": "Work"},
    ]
    assert json.loads(second.next_cursor) == {
        "each": {
            HOME: json.dumps({"since": 1_767_000_000_100, "page": 0}),
            WORK: json.dumps({"since": 1_767_000_000_200, "page": 0}),
        }
    }


def test_an_incremental_pull_filters_each_list_on_its_own_watermark(provider, mocked):
    cursor = json.dumps(
        {
            "each": {
                HOME: json.dumps({"since": 1_767_000_000_100, "page": 0}),
                WORK: json.dumps({"since": 1_767_000_000_200, "page": 0}),
            }
        }
    )
    mocked.get(tasks_url(HOME), json={"tasks": []})
    mocked.get(tasks_url(WORK), json={"tasks": [task("w1", 1_767_000_000_900, WORK)]})

    first = provider.pull(cursor)
    second = provider.pull(first.next_cursor)

    assert query(mocked.calls[0])["date_updated_gt"] == ["1767000000100"]
    assert query(mocked.calls[1])["date_updated_gt"] == ["1767000000200"]
    assert (first.full, second.full) == (False, False)
    each = json.loads(second.next_cursor)["each"]
    assert json.loads(each[HOME])["since"] == 1_767_000_000_100  # kept
    assert json.loads(each[WORK])["since"] == 1_767_000_000_900


def test_a_list_added_since_is_read_whole_without_making_the_round_full(provider, mocked):
    cursor = json.dumps({"each": {HOME: json.dumps({"since": 1_767_000_000_100, "page": 0})}})
    mocked.get(tasks_url(HOME), json={"tasks": []})
    mocked.get(tasks_url(WORK), json={"tasks": [task("w1", 1_767_000_000_300, WORK)]})

    first = provider.pull(cursor)
    second = provider.pull(first.next_cursor)

    assert "date_updated_gt" not in query(mocked.calls[1])
    assert [i.remote_id for i in second.items] == ["w1"]
    assert (first.full, second.full) == (False, False)  # no deletion found by difference


def test_a_list_of_many_pages_goes_on_where_it_stopped(provider, mocked):
    full_page = [task(f"h{i}", 1_767_000_000_000 + i, HOME) for i in range(100)]
    mocked.get(tasks_url(HOME), json={"tasks": full_page})
    mocked.get(tasks_url(HOME), json={"tasks": [task("h100", 1_767_000_000_500, HOME)]})
    mocked.get(tasks_url(WORK), json={"tasks": []})

    pages = [provider.pull(None)]
    while pages[-1].has_more:
        pages.append(provider.pull(pages[-1].next_cursor))

    assert len(pages) == 3
    assert [query(c)["page"] for c in mocked.calls] == [["0"], ["1"], ["0"]]
    assert [urlsplit(c.request.url).path.split("/")[-2] for c in mocked.calls] == [
        HOME,
        HOME,
        WORK,
    ]


@pytest.mark.parametrize(
    "cursor",
    [
        json.dumps({"each": {}, "round": {"queue": [], "at": None, "full": False, "done": {}}}),
        json.dumps({"each": {}, "round": {"queue": [7], "at": None, "full": False, "done": {}}}),
        json.dumps({"each": {}, "round": "x"}),
    ],
)
def test_a_round_we_cannot_read_is_expired_so_the_engine_lists_everything(provider, cursor):
    with pytest.raises(errors.CursorExpired):
        provider.pull(cursor)


def test_a_one_list_cursor_met_with_several_lists_starts_a_full_round(provider, mocked):
    mocked.get(tasks_url(HOME), json={"tasks": []})
    page = provider.pull(json.dumps({"since": 1_767_000_000_100, "page": 0}))
    assert page.full
    assert "date_updated_gt" not in query(mocked.calls[0])


# --- writes -------------------------------------------------------------------------------
def test_a_new_task_goes_to_the_list_asked_for_with_that_lists_statuses(provider, mocked):
    mocked.get(f"{API}/list/{WORK}", json=the_list(WORK, "Shipped"))
    mocked.post(tasks_url(WORK), json=task("new", 1_767_000_001_000, WORK, "Work"))

    item = provider.create({"title": "Ship it", "status": "done"}, collection=WORK)

    assert body(mocked.calls[1])["status"] == "Shipped"  # the Work list's own closed status
    assert (item.remote_id, item.collection) == ("new", WORK)


def test_a_status_change_is_named_by_the_tasks_own_list(provider, mocked):
    mocked.get(f"{API}/task/w1", json=task("w1", 1_767_000_000_200, WORK))
    mocked.get(f"{API}/list/{WORK}", json=the_list(WORK, "Shipped"))
    mocked.put(f"{API}/task/w1", json=task("w1", 1_767_000_000_300, WORK))

    provider.update("w1", {"status": "done"})

    assert body(mocked.calls[2]) == {"status": "Shipped"}


def test_move_task_uses_the_v3_endpoint_and_brings_the_custom_fields(provider, mocked):
    mocked.get(f"{API}/task/h1", json=task("h1", 1_767_000_000_100, HOME, "Home"))
    mocked.get(f"{API}/list/{WORK}", json=the_list(WORK, "Complete"))  # "in progress" too
    mocked.put(f"{API_V3}/workspaces/{TEAM}/tasks/h1/home_list/{WORK}", json={})
    mocked.get(f"{API}/task/h1", json=task("h1", 1_767_000_000_200, WORK, "Work"))

    item = provider.move("h1", WORK)

    moved = next(c for c in mocked.calls if c.request.method == "PUT")
    assert body(moved) == {"move_custom_fields": True}  # the status exists there: no mapping
    assert moved.request.headers["Authorization"] == "pk_live"
    assert (item.remote_id, item.collection, item.read_only) == ("h1", WORK, {"list_name": "Work"})


def test_a_status_the_new_list_lacks_is_mapped_to_its_own_of_the_same_kind(provider, mocked):
    work = the_list(WORK, "Shipped")
    for status in work["statuses"]:
        status["id"] = status["id"].replace("p901", "p902")
        if status["type"] == "custom":
            status["status"] = "doing"  # Work has no "in progress"
    mocked.get(f"{API}/task/h1", json=task("h1", 1_767_000_000_100, HOME, "Home"))
    mocked.get(f"{API}/list/{WORK}", json=work)
    mocked.get(f"{API}/list/{HOME}", json=the_list(HOME, "Complete"))
    mocked.put(f"{API_V3}/workspaces/{TEAM}/tasks/h1/home_list/{WORK}", json={})
    mocked.get(f"{API}/task/h1", json=task("h1", 1_767_000_000_200, WORK, "Work"))

    provider.move("h1", WORK)

    moved = next(c for c in mocked.calls if c.request.method == "PUT")
    assert body(moved)["status_mappings"] == [
        {"source_status": "p901_c", "destination_status": "p902_c"}
    ]


def test_a_move_of_a_task_changed_since_is_refused_before_any_write(provider, mocked):
    mocked.get(f"{API}/task/h1", json=task("h1", 1_767_000_000_999, HOME))
    with pytest.raises(errors.PreconditionFailed):
        provider.move("h1", WORK, version="1767000000100")
    assert [c.request.method for c in mocked.calls] == ["GET"]


def test_a_move_without_a_workspace_is_refused(connect, wired, mocked):
    connection = connect("clickup", list_id=[HOME, WORK])
    provider = ClickUpProvider(connection, http=wired(connection, "pk_live"))
    with pytest.raises(errors.Permanent):
        provider.move("h1", WORK)
    assert not mocked.calls


# --- webhooks -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lists", "filtered"),
    [([HOME], {"list_id": HOME}), ([HOME, WORK], {}), (HOME, {"list_id": HOME})],
)
def test_one_workspace_webhook_watches_every_chosen_list(connect, wired, mocked, lists, filtered):
    connection = connect("clickup", team_id=TEAM, list_id=lists)
    provider = ClickUpProvider(connection, http=wired(connection, "pk_live"))
    mocked.post(f"{API}/team/{TEAM}/webhook", json={"webhook": {"id": "wh", "secret": "s"}})

    REGISTRAR.create(provider, Registration(resource=TEAM, url="https://x/h", secret=""))

    sent = body(mocked.calls[0])
    assert {k: v for k, v in sent.items() if k == "list_id"} == filtered


@pytest.mark.parametrize(
    ("lists", "resource"), [([HOME], TEAM), (HOME, TEAM), ([HOME, WORK], f"{TEAM}/all-lists")]
)
def test_the_webhook_resource_says_whether_it_watches_one_list_or_the_workspace(
    connect, lists, resource
):
    connection = connect("clickup", team_id=TEAM, list_id=lists)
    assert REGISTRAR.wanted(ClickUpProvider(connection)) == [resource]


def test_the_workspace_webhook_is_made_and_checked_on_its_team(connect, wired, mocked):
    connection = connect("clickup", team_id=TEAM, list_id=[HOME, WORK])
    provider = ClickUpProvider(connection, http=wired(connection, "pk_live"))
    mocked.post(f"{API}/team/{TEAM}/webhook", json={"webhook": {"id": "wh", "secret": "s"}})
    mocked.get(f"{API}/team/{TEAM}/webhook", json={"webhooks": [{"id": "wh", "health": {}}]})
    registration = Registration(resource=f"{TEAM}/all-lists", url="https://x/h", secret="")

    REGISTRAR.create(provider, registration)

    assert "list_id" not in body(mocked.calls[0])
    assert (registration.remote_id, registration.secret) == ("wh", "s")
    assert REGISTRAR.health(provider, registration) == ""


def test_back_to_one_list_its_part_of_the_cursor_goes_on(connect, wired, mocked):
    connection = connect("clickup", team_id=TEAM, list_id=[HOME])
    provider = ClickUpProvider(connection, http=wired(connection, "pk_live"))
    mocked.get(tasks_url(HOME), json={"tasks": []})
    own = json.dumps({"since": 1_767_000_000_100, "page": 0})
    other = json.dumps({"since": 1, "page": 0})

    page = provider.pull(json.dumps({"each": {HOME: own, WORK: other}}))

    assert query(mocked.calls[0])["date_updated_gt"] == ["1767000000100"]
    assert json.loads(page.next_cursor) == {"since": 1_767_000_000_100, "page": 0}
    mid_round = {"each": {}, "round": {"queue": [WORK], "at": None, "full": True, "done": {}}}
    with pytest.raises(errors.CursorExpired):
        provider.pull(json.dumps(mid_round))
