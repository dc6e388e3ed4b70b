"""Direction per field, by table: what each side may contribute to a decision and its writes."""

from __future__ import annotations

import datetime as dt

import pytest

from sync.decisions import Op, Side, Strategy
from sync.directions import Blocked, blocked, decide_directed

BASE = {"title": "t", "notes": "n", "due": "2026-01-01"}
LOCAL_TITLE = {**BASE, "title": "mine"}
REMOTE_TITLE = {**BASE, "title": "theirs"}
LOCAL_BOTH = {**BASE, "title": "mine", "notes": "my notes"}
REMOTE_BOTH = {**BASE, "title": "theirs", "notes": "their notes"}
LOCAL_NOTES = {**BASE, "notes": "my notes"}
THEIRS_AND_MINE = {**BASE, "title": "theirs", "notes": "my notes"}
EARLY, LATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 2, tzinfo=dt.UTC)


def rule(**directions: str) -> Blocked:
    return blocked("task", {"task": directions})


TWO_WAY, FROM, TO, OFF = (
    rule(),
    rule(title="from_service"),
    rule(title="to_service"),
    rule(title="off"),
)
UNCHANGED = Side(BASE)


def edited(fields: dict) -> Side:
    return Side(fields, changed=True)


# (case, rule, local, remote, strategy) -> (op: fields written, base afterwards)
CASES = [
    (
        "two-way: a local edit goes out",
        TWO_WAY,
        edited(LOCAL_TITLE),
        UNCHANGED,
        Strategy.MANUAL,
        {Op.UPDATE_REMOTE: LOCAL_TITLE},
        LOCAL_TITLE,
    ),
    (
        "two-way: a service edit comes in",
        TWO_WAY,
        UNCHANGED,
        edited(REMOTE_TITLE),
        Strategy.MANUAL,
        {Op.UPDATE_LOCAL: REMOTE_TITLE},
        REMOTE_TITLE,
    ),
    (
        "from the service: a local edit of the field stays local",
        FROM,
        edited(LOCAL_TITLE),
        UNCHANGED,
        Strategy.MANUAL,
        {},
        BASE,
    ),
    (
        "from the service: a service edit comes in",
        FROM,
        UNCHANGED,
        edited(REMOTE_TITLE),
        Strategy.MANUAL,
        {Op.UPDATE_LOCAL: REMOTE_TITLE},
        REMOTE_TITLE,
    ),
    (
        "from the service: another local edit goes out with the service's value of the field",
        FROM,
        edited(LOCAL_BOTH),
        UNCHANGED,
        Strategy.MANUAL,
        {Op.UPDATE_REMOTE: {**BASE, "notes": "my notes"}},
        {**BASE, "notes": "my notes"},
    ),
    (
        "from the service: its edit of the field comes in when DayFlow's newer edit wins",
        FROM,
        Side(LOCAL_NOTES, changed=True, modified_at=LATE),
        Side(REMOTE_TITLE, changed=True, modified_at=EARLY),
        Strategy.LATEST,
        {Op.UPDATE_REMOTE: THEIRS_AND_MINE, Op.UPDATE_LOCAL: THEIRS_AND_MINE},
        THEIRS_AND_MINE,
    ),
    (
        "to the service: a service edit of the field is not taken",
        TO,
        UNCHANGED,
        edited(REMOTE_TITLE),
        Strategy.MANUAL,
        {},
        BASE,
    ),
    (
        "to the service: a local edit goes out",
        TO,
        edited(LOCAL_TITLE),
        UNCHANGED,
        Strategy.MANUAL,
        {Op.UPDATE_REMOTE: LOCAL_TITLE},
        LOCAL_TITLE,
    ),
    (
        "to the service: another service edit comes in without the field",
        TO,
        edited(LOCAL_TITLE),
        edited(REMOTE_BOTH),
        Strategy.SOURCE,
        {Op.UPDATE_LOCAL: {**LOCAL_TITLE, "notes": "their notes"}},
        {**BASE, "notes": "their notes"},
    ),
    (
        "off: a local edit of the field stays local",
        OFF,
        edited(LOCAL_TITLE),
        UNCHANGED,
        Strategy.MANUAL,
        {},
        BASE,
    ),
    (
        "off: a service edit of the field stays there, the base learns it",
        OFF,
        UNCHANGED,
        edited(REMOTE_TITLE),
        Strategy.MANUAL,
        {},
        REMOTE_TITLE,
    ),
    (
        "off: each side keeps its own value when both edit it and more",
        OFF,
        edited(LOCAL_BOTH),
        edited(REMOTE_TITLE),
        Strategy.MERGE,
        {Op.UPDATE_REMOTE: {**REMOTE_TITLE, "notes": "my notes"}},
        {**REMOTE_TITLE, "notes": "my notes"},
    ),
    (
        "off: a service edit elsewhere keeps the local value of the field",
        OFF,
        edited(LOCAL_TITLE),
        edited(REMOTE_BOTH),
        Strategy.SOURCE,
        {Op.UPDATE_LOCAL: {**LOCAL_TITLE, "notes": "their notes"}},
        REMOTE_BOTH,
    ),
    (
        "off: edits of the field on both sides are no conflict",
        OFF,
        edited(LOCAL_TITLE),
        edited(REMOTE_TITLE),
        Strategy.MANUAL,
        {},
        REMOTE_TITLE,
    ),
    (
        "a deletion still goes out whatever the fields' directions",
        OFF,
        Side(None, changed=True),
        UNCHANGED,
        Strategy.MANUAL,
        {Op.DELETE_REMOTE: None},
        None,
    ),
]


@pytest.mark.parametrize(
    ("case", "blocked_fields", "local", "remote", "strategy", "writes", "base"),
    CASES,
    ids=[row[0] for row in CASES],
)
def test_each_field_flows_only_its_way(
    case, blocked_fields, local, remote, strategy, writes, base
) -> None:
    decision = decide_directed(blocked_fields, BASE, local, remote, strategy)

    assert {action.op: action.fields for action in decision.actions} == writes
    assert decision.base == base


# (case, kind, field_directions) -> blocked incoming, blocked outgoing
RULES = [
    ("nothing named: all two-way", "task", {}, set(), set()),
    ("two-way named", "task", {"task": {"title": "two_way"}}, set(), set()),
    (
        "status carries its completion time",
        "task",
        {"task": {"status": "off"}},
        *2 * [{"status", "completed_at"}],
    ),
    (
        "an event's time is its start, end, all-day flag and zone",
        "event",
        {"event": {"time": "from_service"}},
        set(),
        {"start", "end", "all_day", "timezone"},
    ),
    (
        "a list kept from the service: its moves stay out",
        "task",
        {"task": {"list": "to_service"}},
        {"list"},
        set(),
    ),
    (
        "a list only from the service: DayFlow's moves stay here",
        "task",
        {"task": {"list": "from_service"}},
        set(),
        {"list"},
    ),
    ("another kind's directions do not apply", "event", {"task": {"title": "off"}}, set(), set()),
    ("an unknown field is ignored", "task", {"task": {"colour": "off"}}, set(), set()),
]


@pytest.mark.parametrize(
    ("case", "kind", "directions", "incoming", "outgoing"), RULES, ids=[r[0] for r in RULES]
)
def test_directions_name_codec_fields(case, kind, directions, incoming, outgoing) -> None:
    rule_ = blocked(kind, directions)

    assert (set(rule_.incoming), set(rule_.outgoing)) == (incoming, outgoing)


def test_a_new_item_is_copied_whole() -> None:
    decision = decide_directed(OFF, None, Side(None), Side(REMOTE_TITLE))

    assert [(a.op, a.fields) for a in decision.actions] == [(Op.CREATE_LOCAL, REMOTE_TITLE)]
