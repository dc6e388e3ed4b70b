"""Whether an item passes its connection's rules (`sync.rules.matches`), by table, at a fixed
day: the status filter, the due-date window with or without undated tasks, tags, and the
events' window."""

from __future__ import annotations

import datetime as dt

import pytest

from sync.rules import Outcome, day_of, matches, outcome, windows_moved

TODAY = dt.date(2026, 3, 10)
OPEN = {"task": {"status": "open"}}
DUE_7 = {"task": {"due_within_days": 7, "undated": True}}
DUE_7_DATED = {"task": {"due_within_days": 7, "undated": False}}
TAGGED = {"task": {"tags": ["Work", "home"]}}
WINDOW = {"event": {"past_days": 30, "future_days": 365}}

# (case, kind, fields, rules) -> whether it matches
CASES = [
    ("no rules: everything", "task", {"status": "done"}, {}, True),
    ("rules of the other kind only", "task", {"status": "done"}, WINDOW, True),
    ("empty rules of its kind", "task", {"status": "done"}, {"task": {}}, True),
    ("open only: an open task", "task", {"status": "open"}, OPEN, True),
    ("open only: a completed task", "task", {"status": "done"}, OPEN, False),
    ("any status: a completed task", "task", {"status": "done"}, {"task": {"status": "any"}}, True),
    ("due today", "task", {"due": "2026-03-10"}, DUE_7, True),
    ("due on the window's last day", "task", {"due": "2026-03-17"}, DUE_7, True),
    ("due the day after the window", "task", {"due": "2026-03-18"}, DUE_7, False),
    ("overdue: due already", "task", {"due": "2026-01-01"}, DUE_7, True),
    ("due at an instant inside", "task", {"due": "2026-03-17T23:00:00+00:00"}, DUE_7, True),
    (
        "due at an instant whose UTC day is after",
        "task",
        {"due": "2026-03-17T23:00:00-02:00"},
        DUE_7,
        False,
    ),
    ("undated, undated ones wanted", "task", {"due": None}, DUE_7, True),
    ("undated, only dated ones wanted", "task", {"due": None}, DUE_7_DATED, False),
    ("undated, no due field at all", "task", {}, DUE_7_DATED, False),
    (
        "no window: undated passes",
        "task",
        {"due": None},
        {"task": {"due_within_days": None, "undated": False}},
        True,
    ),
    (
        "zero days: due today passes",
        "task",
        {"due": "2026-03-10"},
        {"task": {"due_within_days": 0}},
        True,
    ),
    (
        "zero days: due tomorrow does not",
        "task",
        {"due": "2026-03-11"},
        {"task": {"due_within_days": 0}},
        False,
    ),
    ("tagged with one of them", "task", {"tags": ["errands", "work"]}, TAGGED, True),
    ("tags compare without case", "task", {"tags": ["HOME"]}, TAGGED, True),
    ("tagged with none of them", "task", {"tags": ["errands"]}, TAGGED, False),
    ("no tags at all", "task", {"tags": []}, TAGGED, False),
    ("a side without tags is not judged on them", "task", {"title": "t"}, TAGGED, True),
    (
        "all rules, all pass",
        "task",
        {"status": "open", "due": "2026-03-12", "tags": ["work"]},
        {"task": {**OPEN["task"], **DUE_7["task"], **TAGGED["task"]}},
        True,
    ),
    (
        "all rules, one fails",
        "task",
        {"status": "done", "due": "2026-03-12", "tags": ["work"]},
        {"task": {**OPEN["task"], **DUE_7["task"], **TAGGED["task"]}},
        False,
    ),
    (
        "event today",
        "event",
        {"start": "2026-03-10T09:00:00+00:00", "end": "2026-03-10T10:00:00+00:00"},
        WINDOW,
        True,
    ),
    (
        "event ended 30 days ago",
        "event",
        {"start": "2026-02-08", "end": "2026-02-09"},
        WINDOW,
        True,
    ),
    (
        "event ended 31 days ago",
        "event",
        {"start": "2026-02-06", "end": "2026-02-07"},
        WINDOW,
        False,
    ),
    (
        "event started long ago, ends inside",
        "event",
        {"start": "2025-01-01", "end": "2026-03-01"},
        WINDOW,
        True,
    ),
    ("event 365 days ahead", "event", {"start": "2027-03-10", "end": "2027-03-11"}, WINDOW, True),
    ("event 366 days ahead", "event", {"start": "2027-03-11", "end": "2027-03-12"}, WINDOW, False),
    (
        "a floating time's wall-clock day",
        "event",
        {"start": "2027-03-10T23:30:00", "end": "2027-03-11T00:30:00"},
        WINDOW,
        True,
    ),
    (
        "an old series still recurs",
        "event",
        {
            "start": "2020-01-06T09:00:00+00:00",
            "end": "2020-01-06T10:00:00+00:00",
            "rrule": "FREQ=WEEKLY",
        },
        WINDOW,
        True,
    ),
    (
        "a series starting after the window",
        "event",
        {"start": "2028-01-01", "end": "2028-01-02", "rrule": "FREQ=WEEKLY"},
        WINDOW,
        False,
    ),
    (
        "an old one-off event",
        "event",
        {"start": "2020-01-06", "end": "2020-01-07", "rrule": ""},
        WINDOW,
        False,
    ),
    (
        "only a future bound",
        "event",
        {"start": "2020-01-06", "end": "2020-01-07"},
        {"event": {"future_days": 10}},
        True,
    ),
    ("no dates to judge by", "event", {"title": "x"}, WINDOW, True),
    ("a date that is not one", "event", {"start": "soon", "end": "later"}, WINDOW, True),
]


@pytest.mark.parametrize(
    ("case", "kind", "fields", "rules", "expected"), CASES, ids=[row[0] for row in CASES]
)
def test_matches(case, kind, fields, rules, expected):
    assert matches(kind, fields, rules, TODAY) is expected


# (case, value) -> its day
DAYS = [
    ("a date", "2026-03-10", dt.date(2026, 3, 10)),
    ("an instant in another zone: its UTC day", "2026-03-10T23:00:00-05:00", dt.date(2026, 3, 11)),
    ("a floating time", "2026-03-10T23:00:00", dt.date(2026, 3, 10)),
    ("nothing", None, None),
    ("empty", "", None),
    ("not a date", "2026-13-45", None),
    ("not text", 20260310, None),
]


@pytest.mark.parametrize(("case", "value", "day"), DAYS, ids=[row[0] for row in DAYS])
def test_day_of(case, value, day):
    assert day_of(value) == day


# (case, linked, pending, in conflict, whether each side matches) -> the outcome
OUTCOMES = [
    ("unlinked, matches", False, False, False, [True], Outcome.SYNC),
    ("unlinked, no side present", False, False, False, [], Outcome.SYNC),
    ("unlinked, does not match: left out", False, False, False, [False], Outcome.LEAVE_OUT),
    (
        "unlinked pair, one side does not match",
        False,
        False,
        False,
        [True, False],
        Outcome.LEAVE_OUT,
    ),
    ("linked, both match", True, False, False, [True, True], Outcome.SYNC),
    (
        "linked, the service's copy stopped matching",
        True,
        False,
        False,
        [True, False],
        Outcome.UNLINK,
    ),
    ("linked, DayFlow's copy stopped matching", True, False, False, [False, True], Outcome.UNLINK),
    ("linked, its create not finished: finished first", True, True, False, [False], Outcome.SYNC),
    (
        "linked, in conflict: the person decides first",
        True,
        False,
        True,
        [False, False],
        Outcome.SYNC,
    ),
]


@pytest.mark.parametrize(
    ("case", "linked", "pending", "in_conflict", "sides_match", "expected"),
    OUTCOMES,
    ids=[row[0] for row in OUTCOMES],
)
def test_outcome(case, linked, pending, in_conflict, sides_match, expected):
    found = outcome(
        linked=linked, pending=pending, in_conflict=in_conflict, sides_match=sides_match
    )
    assert found is expected


# (case, whether each side matches, whether decide only updates) -> the outcome of a linked pair
EDITED = [
    (
        "completed there: DayFlow's copy completed, then unlinked",
        [True, False],
        True,
        Outcome.UPDATE_THEN_UNLINK,
    ),
    ("nothing to write: unlinked", [False, False], False, Outcome.UNLINK),
    ("deleted on one side: unlinked, never a delete", [False], False, Outcome.UNLINK),
    ("still matching: an update like any other", [True, True], True, Outcome.SYNC),
]


@pytest.mark.parametrize(
    ("case", "sides_match", "updates_only", "expected"), EDITED, ids=[row[0] for row in EDITED]
)
def test_outcome_of_an_edited_pair(case, sides_match, updates_only, expected):
    found = outcome(
        linked=True,
        pending=False,
        in_conflict=False,
        sides_match=sides_match,
        updates_only=updates_only,
    )
    assert found is expected


YESTERDAY = TODAY - dt.timedelta(days=1)
# (case, rules, the day of the last complete sync) -> whether this sync lists everything again
WINDOWS_MOVED = [
    ("no rules", {}, YESTERDAY, False),
    ("a status rule has no window", OPEN, YESTERDAY, False),
    ("tags have no window", TAGGED, YESTERDAY, False),
    ("a due window, synced yesterday", DUE_7, YESTERDAY, True),
    ("a due window, synced today already", DUE_7, TODAY, False),
    ("an events window, synced last week", WINDOW, TODAY - dt.timedelta(days=7), True),
    ("only a future bound", {"event": {"future_days": 5}}, YESTERDAY, True),
    ("no window: null bounds", {"task": {"due_within_days": None}}, YESTERDAY, False),
    ("never synced completely: a full listing anyway", DUE_7, None, False),
    ("rules that are not an object", ["task"], YESTERDAY, False),
]


@pytest.mark.parametrize(
    ("case", "rules", "last", "expected"), WINDOWS_MOVED, ids=[row[0] for row in WINDOWS_MOVED]
)
def test_windows_moved(case, rules, last, expected):
    assert windows_moved(rules, last, TODAY) is expected
