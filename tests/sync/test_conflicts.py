"""`sync.conflicts`: who changed what, what each way of settling keeps, typed values, words."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from sync.conflicts import (
    ALIKE,
    CLASH,
    FROM_LOCAL,
    FROM_REMOTE,
    UNCHANGED,
    Edited,
    Unsettled,
    check_span,
    clashing,
    compare,
    input_value,
    label_list,
    read_edit,
    settle,
    value_words,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
BASE = {"title": "t", "notes": "n", "due": "2026-03-05T08:00:00+00:00", "priority": 0}
# DayFlow changed the title and the priority; the service the title and the due time.
LOCAL = {**BASE, "title": "mine", "priority": 3}
REMOTE = {**BASE, "title": "theirs", "due": "2026-03-05T10:00:00+00:00"}


def test_compare_tells_who_changed_each_field():
    rows = {row.name: row.change for row in compare(BASE, LOCAL, REMOTE)}
    assert rows == {"title": CLASH, "notes": UNCHANGED, "due": FROM_REMOTE, "priority": FROM_LOCAL}
    assert [row.name for row in compare(BASE, LOCAL, REMOTE)] == [
        "title",
        "notes",
        "due",
        "priority",
    ]


@pytest.mark.parametrize(
    ("base", "local", "remote", "change"),
    [
        ({"a": 1}, {"a": 2}, {"a": 2}, ALIKE),
        ({"a": 1}, {"a": 1}, {"a": 1}, UNCHANGED),
        ({}, {"a": 1}, {"a": 2}, CLASH),  # never agreed: any difference clashes
        ({"a": 1}, {"a": 2}, {}, FROM_LOCAL),  # the service does not carry the field
        ({"a": 1}, {"a": 1}, {}, UNCHANGED),
    ],
)
def test_compare_cases(base, local, remote, change):
    assert compare(base, local, remote)[0].change == change


@pytest.mark.parametrize(
    ("resolution", "choices", "expected"),
    [
        # keep DayFlow's: its title, and the service's separate due change stays (the bug)
        ("local", {}, {**BASE, "title": "mine", "priority": 3, "due": REMOTE["due"]}),
        ("remote", {}, {**BASE, "title": "theirs", "priority": 3, "due": REMOTE["due"]}),
        (
            "merged",
            {"title": "local"},
            {**BASE, "title": "mine", "priority": 3, "due": REMOTE["due"]},
        ),
        (
            "merged",
            {"title": Edited("ours")},
            {**BASE, "title": "ours", "priority": 3, "due": REMOTE["due"]},
        ),
        # a choice may overrule the automatic merge
        ("local", {"due": "local"}, {**BASE, "title": "mine", "priority": 3}),
        (
            "remote",
            {"title": "local"},
            {**BASE, "title": "mine", "priority": 3, "due": REMOTE["due"]},
        ),
    ],
)
def test_settle(resolution, choices, expected):
    assert settle(BASE, LOCAL, REMOTE, resolution, choices) == expected


@pytest.mark.parametrize(
    ("local", "remote", "resolution", "choices", "problem"),
    [
        (LOCAL, REMOTE, "merged", {}, "title"),  # the clash must be chosen
        (LOCAL, REMOTE, "merged", {"colour": "local"}, "colour"),
        (LOCAL, REMOTE, "merged", {"title": "middle"}, "title"),
        (LOCAL, REMOTE, "both", {}, "resolution"),
        (None, REMOTE, "local", {}, "resolution"),
        (None, REMOTE, "merged", {"title": "remote"}, "resolution"),
    ],
)
def test_settle_refuses(local, remote, resolution, choices, problem):
    with pytest.raises(Unsettled) as refused:
        settle(BASE, local, remote, resolution, choices)
    assert problem in refused.value.problems


def test_a_side_that_no_longer_has_the_item_leaves_the_other_whole():
    assert settle(BASE, None, REMOTE, "remote") == REMOTE
    assert clashing(BASE, None, REMOTE) == []
    assert clashing(BASE, LOCAL, REMOTE) == ["title"]


@pytest.mark.parametrize(
    ("name", "text", "sides", "all_day", "expected"),
    [
        ("title", "A title", {}, None, "A title"),
        ("notes", "", {}, None, ""),
        ("due", "", {}, None, None),
        ("due", "2026-03-05", {}, None, "2026-03-05"),
        ("due", "2026-03-05T09:30", {}, None, "2026-03-05T08:30:00+00:00"),  # read in Berlin
        ("due", "2026-03-05T09:30+00:00", {}, None, "2026-03-05T09:30:00+00:00"),
        (
            "start",
            "2026-03-05T09:30",
            {"local": "2026-03-05T09:00:00"},
            False,
            "2026-03-05T09:30:00",
        ),
        ("start", "2026-03-05", {}, True, "2026-03-05"),
    ],
)
def test_read_edit(name, text, sides, all_day, expected):
    assert read_edit(name, text, sides=sides, all_day=all_day, zone=BERLIN) == expected


@pytest.mark.parametrize(
    ("name", "text", "all_day"),
    [
        ("title", "x" * 501, None),
        ("title", "  ", None),
        ("notes", 5, None),
        ("notes", "x" * 10_001, None),
        ("priority", "3", None),
        ("rrule", "FREQ=DAILY", False),
        ("due", "tomorrow", None),
        ("due", "2026-02-30", None),
        ("due", "3026-01-01", None),
        ("start", "2026-03-05", False),
        ("start", "2026-03-05T09:00", True),
        ("end", "", False),
    ],
)
def test_read_edit_refuses(name, text, all_day):
    with pytest.raises(ValueError):
        read_edit(name, text, sides={}, all_day=all_day, zone=BERLIN)


def test_an_event_cannot_end_before_it_starts():
    check_span({"start": "2026-03-05T09:00:00+00:00", "end": "2026-03-05T10:00:00+00:00"})
    with pytest.raises(Unsettled):
        check_span({"start": "2026-03-05T09:00:00+00:00", "end": "2026-03-05T08:00:00+00:00"})


@pytest.mark.parametrize(
    ("name", "value", "side", "words"),
    [
        ("due", "2026-03-05T08:00:00+00:00", {}, "Thu 5 Mar 2026, 09:00"),  # in Berlin
        ("due", None, {}, "none"),
        ("due", "2026-03-05", {}, "Thu 5 Mar 2026"),
        ("end", "2026-12-06", {"all_day": True}, "Sat 5 Dec 2026 (last day)"),
        ("start", "2026-03-05T09:00:00", {}, "Thu 5 Mar 2026, 09:00 (local time wherever you are)"),
        ("priority", 3, {}, "High"),
        ("all_day", False, {}, "No"),
        ("status", "done", {}, "Done"),
        (
            "rrule",
            "FREQ=WEEKLY;BYDAY=MO,WE",
            {"start": "2026-03-02T08:00:00+00:00"},
            "Every week on Mon, Wed",
        ),
        ("title", "", {}, "—"),
    ],
)
def test_value_words(name, value, side, words):
    assert value_words(name, value, side, BERLIN) == words


def test_labels_and_input_values():
    assert label_list(["title", "due", "rrule"]) == "Title, Due and Repeats"
    assert label_list(["start"]) == "Starts"
    assert input_value("due", "2026-03-05T08:00:00+00:00", BERLIN) == "2026-03-05T09:00"
    assert input_value("start", "2026-03-05T08:00:00", BERLIN) == "2026-03-05T08:00"
    assert input_value("title", "x", dt.UTC) == "x"


def test_without_a_zone_a_typed_time_needs_its_offset():
    with pytest.raises(ValueError, match="offset"):
        read_edit("due", "2026-03-05T09:30", sides={}, all_day=None, zone=None)
    assert read_edit("due", "2026-03-05T09:30+01:00", sides={}, all_day=None, zone=None) == (
        "2026-03-05T08:30:00+00:00"
    )
