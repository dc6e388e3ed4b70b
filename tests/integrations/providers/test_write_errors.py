"""The six error cases against every write (create, update, delete) of the four task services.

The pull tests in each service's module cover reads; here the same failures hit the write
request itself. The client resends only what is safe to resend: a method that is idempotent, a
POST the provider marks so (a Notion PATCH, a Linear update, a Todoist command batch whose
uuids Todoist applies once), or a request the service turned away before doing anything (429).
A non-idempotent create that timed out or got a 5xx is not resent: it raises Transient and the
engine's retry looks for what it may have made.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from integrations.providers import PROVIDERS, errors
from integrations.providers.base import Provider, RemoteItem
from tests.integrations.providers.support import ERROR_CASES, load

NOTION = "https://api.notion.com/v1"
NOTION_SOURCE = "393abc1e-edcd-81a2-8d0b-000bae7f15dc"
CLICKUP = "https://api.clickup.com/api/v2"
LINEAR = "https://api.linear.app/graphql"
TODOIST = "https://api.todoist.com/api/v1"


# --- what each service answers when a write succeeds (documented shapes) ----------------------
def notion_page(page_id: str = "p1") -> dict[str, Any]:
    """A page in the read shape of https://developers.notion.com/reference/page."""
    title = [{"type": "text", "text": {"content": "T"}, "plain_text": "T"}]
    return {
        "object": "page",
        "id": page_id,
        "last_edited_time": "2026-07-06T08:00:00.000Z",
        "parent": {"type": "data_source_id", "data_source_id": NOTION_SOURCE},
        "in_trash": False,
        "url": f"https://www.notion.so/{page_id}",
        "properties": {"Name": {"id": "title", "type": "title", "title": title}},
    }


def clickup_task(task_id: str = "c1") -> dict[str, Any]:
    return {**copy.deepcopy(load("clickup", "task.json")), "id": task_id}


def linear_answer(mutation: str) -> dict[str, Any]:
    if mutation == "issueDelete":
        return {"data": {"issueDelete": {"success": True}}}
    issue = {**copy.deepcopy(load("linear", "issue.json")), "id": "l1"}
    return {"data": {mutation: {"success": True, "issue": issue}}}


def todoist_item(item_id: str = "t1") -> dict[str, Any]:
    return {**copy.deepcopy(load("todoist", "item.json")), "id": item_id}


def todoist_sync(request: Any) -> tuple[int, dict, str]:
    """Every command ok; an item_add's temp id mapped to t1 (Todoist's documented answer)."""
    commands = json.loads(parse_qs(request.body)["commands"][0])
    statuses = {command["uuid"]: "ok" for command in commands}
    mapping = {c["temp_id"]: "t1" for c in commands if c["type"] == "item_add"}
    return 200, {}, json.dumps({"sync_status": statuses, "temp_id_mapping": mapping})


# --- the table ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Write:
    """One write of one service: the request it sends, a good answer, and how to run it."""

    service: str
    operation: str
    method: str
    url: str
    ok: dict[str, Any] | Callable[[Any], tuple[int, dict, str]]
    act: Callable[[Provider], RemoteItem | None]
    idempotent: bool
    remote_id: str | None
    mapping: dict[str, Any] = field(default_factory=dict)
    prepare: Callable[[Provider, Any], None] = lambda provider, mocked: None

    def __str__(self) -> str:
        return f"{self.service}-{self.operation}"


def notion_schema(provider: Any, mocked: Any) -> None:
    title = {"Name": {"id": "title", "type": "title", "title": {}}}
    provider._sources[NOTION_SOURCE] = {"properties": title, "name": ""}


def clickup_statuses(provider: Any, mocked: Any) -> None:
    provider._statuses["901"] = {"open": "to do", "done": "complete"}


def todoist_current(provider: Any, mocked: Any) -> None:
    mocked.get(re.compile(rf"{TODOIST}/tasks/\w+"), json=todoist_item())


NOTION_MAPPING = {"data_source_id": NOTION_SOURCE, "title_property": "Name"}
WRITES = [
    Write(
        "notion",
        "create",
        "POST",
        f"{NOTION}/pages",
        notion_page(),
        lambda p: p.create({"title": "T"}),
        idempotent=False,
        remote_id="p1",
        mapping=NOTION_MAPPING,
        prepare=notion_schema,
    ),
    Write(
        "notion",
        "update",
        "PATCH",
        f"{NOTION}/pages/p1",
        notion_page(),
        lambda p: p.update("p1", {"title": "T"}),
        idempotent=True,
        remote_id="p1",
        mapping=NOTION_MAPPING,
        prepare=notion_schema,
    ),
    Write(
        "notion",
        "delete",
        "PATCH",
        f"{NOTION}/pages/p1",
        {**notion_page(), "in_trash": True},
        lambda p: p.delete("p1"),
        idempotent=True,
        remote_id=None,
        mapping=NOTION_MAPPING,
    ),
    Write(
        "clickup",
        "create",
        "POST",
        f"{CLICKUP}/list/901/task",
        clickup_task(),
        lambda p: p.create({"title": "T"}),
        idempotent=False,
        remote_id="c1",
        mapping={"list_id": "901"},
        prepare=clickup_statuses,
    ),
    Write(
        "clickup",
        "update",
        "PUT",
        f"{CLICKUP}/task/c1",
        clickup_task(),
        lambda p: p.update("c1", {"title": "T"}),
        idempotent=True,
        remote_id="c1",
        mapping={"list_id": "901"},
        prepare=clickup_statuses,
    ),
    Write(
        "clickup",
        "delete",
        "DELETE",
        f"{CLICKUP}/task/c1",
        {},
        lambda p: p.delete("c1"),
        idempotent=True,
        remote_id=None,
        mapping={"list_id": "901"},
    ),
    Write(
        "linear",
        "create",
        "POST",
        LINEAR,
        linear_answer("issueCreate"),
        lambda p: p.create({"title": "T"}),
        idempotent=False,
        remote_id="l1",
        mapping={"team_id": "team-eng"},
    ),
    Write(
        "linear",
        "update",
        "POST",
        LINEAR,
        linear_answer("issueUpdate"),
        lambda p: p.update("l1", {"title": "T"}),
        idempotent=True,
        remote_id="l1",
        mapping={"team_id": "team-eng"},
    ),
    Write(
        "linear",
        "delete",
        "POST",
        LINEAR,
        linear_answer("issueDelete"),
        lambda p: p.delete("l1"),
        idempotent=True,
        remote_id=None,
        mapping={"team_id": "team-eng"},
    ),
    Write(
        "todoist",
        "create",
        "POST",
        f"{TODOIST}/sync",
        todoist_sync,
        lambda p: p.create({"title": "T"}),
        idempotent=True,  # the command uuids make a resent batch apply once
        remote_id="t1",
        mapping={"project_id": "6Jf8VQXxpwv56VQ7"},
        prepare=todoist_current,
    ),
    Write(
        "todoist",
        "update",
        "POST",
        f"{TODOIST}/sync",
        todoist_sync,
        lambda p: p.update("t1", {"title": "Renamed"}),
        idempotent=True,
        remote_id="t1",
        mapping={"project_id": "6Jf8VQXxpwv56VQ7"},
        prepare=todoist_current,
    ),
    Write(
        "todoist",
        "delete",
        "POST",
        f"{TODOIST}/sync",
        todoist_sync,
        lambda p: p.delete("t1"),
        idempotent=True,
        remote_id=None,
        mapping={"project_id": "6Jf8VQXxpwv56VQ7"},
    ),
]

UNAUTHORIZED = {"status": 401, "json": {"code": "unauthorized"}}
FAILURES: dict[str, list[dict[str, Any]]] = {
    "rate_limited": [{"status": 429, "headers": {"Retry-After": "2"}, "json": {}}],
    "server_error": [{"status": 500, "json": {}}],
    "timeout": [{"body": requests.ReadTimeout("read timed out")}],
    "malformed": [{"status": 200, "body": "<html>upstream error</html>"}],
    "refresh": [UNAUTHORIZED],
    "revoked": [UNAUTHORIZED, UNAUTHORIZED],
}


def expected(case: str, write: Write) -> tuple[type[Exception] | None, int]:
    """(the error the engine sees, or None for success; how many times the write was sent)."""
    if case in ("server_error", "timeout") and not write.idempotent:
        return errors.Transient, 1  # it may have been applied: never sent twice
    return {
        "rate_limited": (None, 2),
        "server_error": (None, 2),
        "timeout": (None, 2),
        "malformed": (errors.UnexpectedPayload, 1),
        "refresh": (None, 2),
        "revoked": (errors.AuthExpired, 2),
    }[case]


# --- helpers -----------------------------------------------------------------------------------
@pytest.fixture
def build(connect, make_client) -> Callable[[Write, list[str]], Provider]:
    def make(write: Write, refreshed: list[str]) -> Provider:
        connection = connect(write.service, **write.mapping)
        client = make_client(write.service, refresh=refreshed.append)
        return PROVIDERS[write.service](connection, http=client)

    return make


def answer(mocked: Any, write: Write, failures: list[dict[str, Any]]) -> None:
    """The failures first, then the good answer (responses replays them in that order)."""
    mocked.assert_all_requests_are_fired = False  # a write that gives up leaves the rest
    for failure in failures:
        mocked.add(write.method, write.url, **failure)
    if callable(write.ok):
        mocked.add_callback(write.method, write.url, callback=write.ok)
    else:
        mocked.add(write.method, write.url, json=write.ok)


def sent(mocked: Any, write: Write) -> list[Any]:
    return [
        call.request
        for call in mocked.calls
        if call.request.method == write.method and call.request.url == write.url
    ]


def run(write: Write, provider: Provider, error: type[Exception] | None) -> None:
    if error is not None:
        with pytest.raises(error):
            write.act(provider)
        return
    result = write.act(provider)
    assert (result.remote_id if result else None) == write.remote_id


# --- the tests ---------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ERROR_CASES)
@pytest.mark.parametrize("write", WRITES, ids=str)
def test_error_cases_on_a_write(build, mocked, clock, write, case):
    # given a write whose first answer is one of the failures
    refreshed: list[str] = []
    provider = build(write, refreshed)
    write.prepare(provider, mocked)
    answer(mocked, write, FAILURES[case])
    error, sends = expected(case, write)
    # when
    run(write, provider, error)
    # then it was sent as often as is safe, each time the same request
    requests_sent = sent(mocked, write)
    assert len(requests_sent) == sends
    assert len({request.body for request in requests_sent}) == 1
    # and the waits were on the injected clock: the server's Retry-After, one backoff, or none
    if case == "rate_limited":
        assert clock.sleeps == [2.0]
    elif error is None and case in ("server_error", "timeout"):
        assert len(clock.sleeps) == 1
    else:
        assert clock.sleeps == []
    assert refreshed == (["Bearer tok-live"] if case in ("refresh", "revoked") else [])


NON_IDEMPOTENT_CREATES = [w for w in WRITES if w.operation == "create" and not w.idempotent]


@pytest.mark.parametrize("write", NON_IDEMPOTENT_CREATES, ids=str)
def test_a_timed_out_create_is_transient_and_never_duplicated(build, mocked, write):
    # given a create whose answer is lost after the service may have made the item
    provider = build(write, [])
    write.prepare(provider, mocked)
    answer(mocked, write, FAILURES["timeout"])
    # when / then: the engine sees Transient and the create went out exactly once
    with pytest.raises(errors.Transient, match="not resent"):
        write.act(provider)
    assert len(sent(mocked, write)) == 1


LINEAR_WRITES = [w for w in WRITES if w.service == "linear"]
LINEAR_AUTH_ERROR = {"status": 400, "json": load("linear", "error_auth.json")}


@pytest.mark.parametrize("write", LINEAR_WRITES, ids=str)
@pytest.mark.parametrize("refused_twice", [False, True])
def test_a_linear_write_refused_with_400_authentication_error_refreshes_once(
    build, mocked, write, refused_twice
):
    # given Linear answers AUTHENTICATION_ERROR with HTTP 400 (once, or again after refresh)
    refreshed: list[str] = []
    provider = build(write, refreshed)
    answer(mocked, write, [LINEAR_AUTH_ERROR] * (2 if refused_twice else 1))
    # when
    run(write, provider, errors.AuthExpired if refused_twice else None)
    # then the refresh hook ran once and the same mutation was resent once
    assert refreshed == ["Bearer tok-live"]
    requests_sent = sent(mocked, write)
    assert len(requests_sent) == 2
    assert requests_sent[0].body == requests_sent[1].body
