"""The count a sync link's settings page shows before saving (`rules_preview.count_link`): only
its kind of item, only those in its DayFlow list or calendar (None: the Inbox or "My
calendar"), and as let go only the linked ones of its own connection. And the rules in words
(`sync.rules.in_words`) the pages show, by table."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from dayflow.models import Calendar, Event, Task, TaskList
from integrations.models import Connection
from sync.models import ItemLink, SyncLink
from sync.rules import in_words
from sync.rules_preview import count_link
from tests.sync.conftest import connect

TODAY = dt.date(2026, 3, 10)
OPEN = {"task": {"status": "open"}}
REMOTE_IDS = itertools.count(1)


def _linked(connection: Connection, item: Task | Event) -> None:
    kind = "task" if isinstance(item, Task) else "event"
    ItemLink.objects.create(
        connection=connection, item_type=kind, remote_id=f"r-{next(REMOTE_IDS)}", **{kind: item}
    )


@pytest.fixture
def world(user, other_user) -> dict:
    """Home holds two open tasks and two done ones (one linked by Todoist, one by Linear);
    the Inbox one open and one done (linked by Todoist); a deleted done task in Home; another
    person's done task; "My calendar" an event, the calendar Family two."""
    todoist = connect(user, "todoist", {"project_id": "p-1"}, "alice@todoist")
    linear = connect(user, "linear", {"team_id": "t-1"}, "alice@linear")
    google = connect(user, "google-calendar", {}, "alice@gmail.com")
    home = TaskList.objects.create(user=user, name="Home")
    family = Calendar.objects.create(user=user, name="Family")
    for title in ("Water the plants", "Fix the tap"):
        Task.objects.create(user=user, title=title, task_list=home)
    done = [Task.objects.create(user=user, title=t, task_list=home, status="done") for t in "ab"]
    _linked(todoist, done[0])
    _linked(linear, done[1])
    Task.objects.create(user=user, title="Pay the rent")
    _linked(todoist, Task.objects.create(user=user, title="Called", status="done"))
    Task.objects.create(user=user, title="Gone", task_list=home, status="done").soft_delete()
    Task.objects.create(user=other_user, title="Theirs", task_list=None, status="done")
    start = dt.datetime(2026, 3, 9, 9, tzinfo=dt.UTC)
    Event.objects.create(user=user, title="Standup", start=start, end=start)
    for title in ("Dinner", "Birthday"):
        Event.objects.create(user=user, title=title, start=start, end=start, calendar=family)
    todoist_link = todoist.sync_links.get()
    google_link = google.sync_links.get()
    return {"todoist": todoist_link, "google": google_link, "home": home, "family": family}


def _in(link: SyncLink, place: TaskList | Calendar | None) -> None:
    if link.item_type == "task":
        link.task_list = place
    else:
        link.calendar = place
    link.save()


# (case, link, where its items live, rules) -> (matching, total, let go)
CASES = [
    ("the Inbox, no rules", "todoist", None, {}, (2, 2, 0)),
    ("the Inbox, open only: its linked done task let go", "todoist", None, OPEN, (1, 2, 1)),
    ("Home, no rules: the deleted task not counted", "todoist", "home", {}, (4, 4, 0)),
    ("Home, open only: only Todoist's linked one let go", "todoist", "home", OPEN, (2, 4, 1)),
    ("Home, rules of events only: every task", "todoist", "home", {"event": {}}, (4, 4, 0)),
    ("My calendar: its one event", "google", None, {}, (1, 1, 0)),
    ("Family: its two events", "google", "family", {}, (2, 2, 0)),
    (
        "Family, a window ending before them",
        "google",
        "family",
        {"event": {"past_days": 0}},
        (0, 2, 0),
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("link_key", "side", "rules", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_links_preview_counts_its_own_list_only(world, link_key, side, rules, expected):
    link = world[link_key]
    _in(link, world[side] if side else None)

    counted = count_link(link, rules, TODAY)

    assert (counted.matching, counted.total, counted.let_go) == expected
    assert counted.kind == link.item_type


# (case, kind, rules) -> the words
WORDS = [
    ("no rules", "task", None, "All tasks"),
    ("not an object", "task", "junk", "All tasks"),
    ("rules of the other kind", "task", {"event": {"past_days": 3}}, "All tasks"),
    ("open only", "task", OPEN, "Tasks not completed"),
    ("any status", "task", {"task": {"status": "any"}}, "All tasks"),
    (
        "due within, undated too",
        "task",
        {"task": {"due_within_days": 7}},
        "Tasks due within 7 days or without a due date",
    ),
    (
        "due within one day, dated only",
        "task",
        {"task": {"due_within_days": 1, "undated": False}},
        "Tasks due within 1 day",
    ),
    ("due today", "task", {"task": {"due_within_days": 0, "undated": False}}, "Tasks due today"),
    ("one tag", "task", {"task": {"tags": ["work"]}}, "Tasks tagged “work”"),
    (
        "everything",
        "task",
        {"task": {"status": "open", "tags": ["a", "b", "c"], "due_within_days": 2}},
        "Tasks not completed, due within 2 days or without a due date, tagged “a”, “b” or “c”",
    ),
    ("no event rules", "event", {"event": {}}, "All events"),
    (
        "both sides",
        "event",
        {"event": {"past_days": 30, "future_days": 365}},
        "Events from 30 days ago to 365 days ahead",
    ),
    ("the past only", "event", {"event": {"past_days": 1}}, "Events from 1 day ago on"),
    ("the future only", "event", {"event": {"future_days": 0}}, "Events up to today"),
]


@pytest.mark.parametrize(
    ("kind", "rules", "words"), [case[1:] for case in WORDS], ids=[case[0] for case in WORDS]
)
def test_rules_in_words(kind, rules, words):
    assert in_words(kind, rules) == words
