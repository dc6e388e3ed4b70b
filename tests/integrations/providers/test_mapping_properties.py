"""Property tests: any normalized task survives each service's mapping, written then read back.

Each `stored_*` function turns what we write into what the service documents it returns, so
the test covers both directions of the mapping with no HTTP in between.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from integrations.providers.clickup.provider import ClickUpProvider
from integrations.providers.linear.provider import LinearProvider
from integrations.providers.notion.provider import NotionProvider
from integrations.providers.todoist.provider import TodoistProvider

ZONES = [
    ZoneInfo(name)
    for name in ("UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "Pacific/Apia")
]
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=4500)
dates = st.dates(min_value=dt.date(1971, 1, 1), max_value=dt.date(2199, 12, 31))
moments = st.datetimes(
    min_value=dt.datetime(1971, 1, 1),
    max_value=dt.datetime(2199, 12, 31),
    timezones=st.sampled_from(ZONES),
)


def task_fields(due: st.SearchStrategy, priorities: list[int]) -> st.SearchStrategy:
    return st.fixed_dictionaries(
        {
            "title": text,
            "notes": text,
            "status": st.sampled_from(["open", "done"]),
            "due": st.one_of(st.none(), due),
            "priority": st.sampled_from(priorities),
        }
    )


def connection(**mapping: Any) -> SimpleNamespace:
    return SimpleNamespace(pk=1, field_mapping=mapping)


def assert_round_trip(written: dict[str, Any], read: dict[str, Any]) -> None:
    due = written["due"]
    if isinstance(due, dt.datetime):
        # The same instant, still aware. (A local time in a DST gap never compares equal
        # across zones, PEP 495, so instants are compared.)
        assert isinstance(read["due"], dt.datetime)
        assert read["due"].utcoffset() is not None
        assert read["due"].timestamp() == due.timestamp()
        written, read = {**written, "due": None}, {**read, "due": None}
    assert {k: read[k] for k in written} == written


# --- Notion -------------------------------------------------------------------------------
NOTION_SCHEMA = {
    "Name": {"type": "title"},
    "Status": {
        "type": "status",
        "status": {
            "options": [{"id": "a", "name": "Not started"}, {"id": "b", "name": "Done"}],
            "groups": [
                {"name": "To-do", "option_ids": ["a"]},
                {"name": "In progress", "option_ids": []},
                {"name": "Complete", "option_ids": ["b"]},
            ],
        },
    },
    "Due": {"type": "date"},
    "Notes": {"type": "rich_text"},
    "Priority": {"type": "select"},
}


def stored_notion(properties: dict[str, Any]) -> dict[str, Any]:
    read = {}
    for name, value in properties.items():
        kind = NOTION_SCHEMA[name]["type"]
        if kind in ("title", "rich_text"):
            value = {kind: [{"plain_text": run["text"]["content"]} for run in value[kind]]}
        read[name] = {"type": kind, **value}
    return {
        "id": "p",
        "last_edited_time": "2026-01-01T00:00:00.000Z",
        "url": "https://app.notion.com/p/p",
        "properties": read,
    }


@settings(max_examples=150, deadline=None)
@given(task_fields(st.one_of(dates, moments), [0, 1, 2, 3, 4]))
def test_notion_mapping_round_trips(fields):
    mapping = {"data_source_id": "ds", "status_property": "Status", "due_property": "Due"}
    mapping |= {"notes_property": "Notes", "priority_property": "Priority"}
    provider = NotionProvider(connection(**mapping))
    provider._sources["ds"] = {"properties": NOTION_SCHEMA, "name": ""}
    raw = stored_notion(provider.to_properties(fields, "ds"))
    assert_round_trip(fields, provider.to_item(raw, "ds").fields)


# --- ClickUp ------------------------------------------------------------------------------
def stored_clickup(payload: dict[str, Any]) -> dict[str, Any]:
    closed = payload["status"] == "complete"
    priority = payload["priority"]
    return {
        "id": "t",
        "name": payload["name"],
        "description": payload["description"],
        "status": {"status": payload["status"], "type": "closed" if closed else "open"},
        "priority": {"id": str(priority), "priority": "x"} if priority else None,
        "due_date": str(payload["due_date"]) if payload["due_date"] is not None else None,
        "due_date_time": payload["due_date_time"],
        "date_updated": "1767225600000",
        "url": "https://app.clickup.com/t/t",
    }


@settings(max_examples=150, deadline=None)
@given(
    task_fields(
        st.one_of(
            dates, moments.map(lambda m: m.replace(microsecond=m.microsecond // 1000 * 1000))
        ),
        [0, 1, 2, 3, 4],
    ),
    st.sampled_from(ZONES),
)
@example(  # 270777600.016 * 1000 is 270777600015.99997 as a float: a millisecond was lost
    {
        "title": "",
        "notes": "",
        "status": "open",
        "due": dt.datetime(1978, 8, 1, 0, 0, 0, 16000, tzinfo=ZoneInfo("UTC")),
        "priority": 0,
    },
    ZoneInfo("UTC"),
)
def test_clickup_mapping_round_trips(fields, zone):
    provider = ClickUpProvider(connection(list_id="l", timezone=zone.key))
    provider._statuses["l"] = {"open": "to do", "done": "complete"}
    assert_round_trip(
        fields, provider.to_item(stored_clickup(provider.to_payload(fields, "l"))).fields
    )


# --- Linear -------------------------------------------------------------------------------
def stored_linear(issue_input: dict[str, Any]) -> dict[str, Any]:
    done = issue_input["stateId"] == "s-done"
    return {
        "id": "i",
        "title": issue_input["title"],
        "description": issue_input["description"],
        "priority": issue_input["priority"],
        "dueDate": issue_input["dueDate"],
        "updatedAt": "2026-01-01T00:00:00.000Z",
        "state": {"id": issue_input["stateId"], "type": "completed" if done else "unstarted"},
        "team": {"id": "team"},
        "url": "https://linear.app/x/issue/X-1",
    }


@settings(max_examples=150, deadline=None)
@given(task_fields(dates, [0, 1, 2, 3, 4]))  # Linear due dates carry no time
def test_linear_mapping_round_trips(fields):
    provider = LinearProvider(connection(team_id="team"))
    provider._states = {"team": {"open": "s-open", "done": "s-done"}}
    node = stored_linear(provider.to_input(fields, "team"))
    assert_round_trip(fields, provider.to_item(node).fields)


# --- Todoist ------------------------------------------------------------------------------
def stored_todoist(args: dict[str, Any], done: bool) -> dict[str, Any]:
    return {
        "id": "t",
        "project_id": "p",
        "content": args["content"],
        "description": args["description"],
        "priority": args["priority"],
        "due": args["due"] and {**args["due"], "timezone": args["due"].get("timezone")},
        "checked": done,
        "labels": args.get("labels", []),
        "updated_at": "2026-01-01T00:00:00Z",
    }


@settings(max_examples=150, deadline=None)
@given(task_fields(st.one_of(dates, moments.map(lambda m: m.replace(microsecond=0))), [0, 2, 3, 4]))
def test_todoist_mapping_round_trips(fields):
    provider = TodoistProvider(connection(project_id="p"))
    raw = stored_todoist(provider.to_args(fields), fields["status"] == "done")
    assert_round_trip(fields, provider.to_item(raw).fields)
