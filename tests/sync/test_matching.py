"""The matcher (sync.matching.match) as a table: which items of two sides are one item."""

from __future__ import annotations

import datetime as dt

import pytest

from sync import matching
from sync.matching import FULL_SCAN, HIGH, Item, match, normalize_title


def task(id: str, title: str, due: str | None = None, **more) -> Item:
    return Item(id=id, fields={"title": title, "due": due}, **more)


def event(id: str, title: str, start: str, all_day: bool = False) -> Item:
    return Item(id=id, fields={"title": title, "start": start, "all_day": all_day})


CASES = {
    "exact match": (
        [task("1", "Pay rent", "2026-03-01")],
        [task("r1", "Pay rent", "2026-03-01")],
        [("1", "r1")],
    ),
    "case, accents, whitespace and punctuation folded": (
        [task("1", "  Café   réunion!", "2026-03-01")],
        [task("r1", "CAFE REUNION", "2026-03-01")],
        [("1", "r1")],
    ),
    "same title, another day: no pair": (
        [task("1", "Pay rent", "2026-03-01")],
        [task("r1", "Pay rent", "2026-04-01")],
        [],
    ),
    "same title, both undated": (
        [task("1", "Call mum")],
        [task("r1", "call mum")],
        [("1", "r1")],
    ),
    "duplicates on one side: one pair only": (
        [task("1", "Pay rent", "2026-03-01")],
        [task("r1", "Pay rent", "2026-03-01"), task("r2", "Pay rent", "2026-03-01")],
        [("1", "r1")],
    ),
    "duplicates: the one on the right day wins": (
        [task("1", "Pay rent", "2026-03-01")],
        [task("r1", "Pay rent", "2026-02-01"), task("r2", "Pay rent", "2026-03-01")],
        [("1", "r2")],
    ),
    "a marker wins over a title": (
        [
            task("1", "Pay rent", "2026-03-01", refs=frozenset({"dayflow-task-1"})),
            task("2", "Pay rent", "2026-03-01", refs=frozenset({"dayflow-task-2"})),
        ],
        [task("r1", "Rent!!", "2026-05-05", mentions=frozenset({"dayflow-task-2"}))],
        [("2", "r1")],
    ),
    "the remote's address written in DayFlow's notes": (
        [task("1", "Something", mentions=frozenset({"https://app.example/t/9"}))],
        [task("r9", "Else entirely", refs=frozenset({"https://app.example/t/9", "r9"}))],
        [("1", "r9")],
    ),
    "nothing in common: no pair": (
        [task("1", "Pay rent", "2026-03-01")],
        [task("r1", "Water plants", "2026-03-01")],
        [],
    ),
    "an empty title matches nothing": (
        [task("1", "", "2026-03-01")],
        [task("r1", "...", "2026-03-01")],
        [],
    ),
    "events by start time": (
        [event("1", "Standup", "2026-03-02T09:00:00+00:00")],
        [
            event("r1", "Standup", "2026-03-02T10:00:00+00:00"),
            event("r2", "Standup", "2026-03-02T09:00:00+00:00"),
        ],
        [("1", "r2")],
    ),
    "events: all-day against timed on the same day is not high": (
        [event("1", "Trip", "2026-03-02", all_day=True)],
        [event("r1", "Trip", "2026-03-02T09:00:00+00:00", all_day=False)],
        [],
    ),
    "same title and day twice at the service: the copy in the same list": (
        [task("1", "Pay rent", "2026-03-01", list_name="Home")],
        [
            task("r1", "Pay rent", "2026-03-01", list_name="Work"),
            task("r2", "Pay rent", "2026-03-01", list_name="home"),
        ],
        [("1", "r2")],
    ),
    "events: all-day on both sides": (
        [event("1", "Trip", "2026-03-02", all_day=True)],
        [event("r1", "trip", "2026-03-02", all_day=True)],
        [("1", "r1")],
    ),
}


@pytest.mark.parametrize(("local", "remote", "expected"), CASES.values(), ids=CASES.keys())
def test_match(local, remote, expected):
    found = match(local, remote, minimum=HIGH)
    assert [(m.local_id, m.remote_id) for m in found] == expected


def test_confidence_orders_exact_above_same_day_and_markers_are_sure():
    local = [task("1", "A", "2026-03-01"), task("2", "B", "2026-03-01T08:00:00+00:00")]
    remote = [task("r1", "a", "2026-03-01"), task("r2", "b", "2026-03-01T09:00:00+00:00")]
    found = {m.local_id: m.confidence for m in match(local, remote, minimum=0.5)}
    assert found["1"] > HIGH > found["2"] >= 0.5
    marked = match(
        [task("1", "x", refs=frozenset({"dayflow-task-1"}))],
        [task("r1", "y", mentions=frozenset({"dayflow-task-1"}))],
    )
    assert [(m.confidence, m.marker) for m in marked] == [(1.0, True)]


def test_each_item_is_in_at_most_one_pair_with_many_duplicates():
    local = [task(str(i), "Same", "2026-03-01") for i in range(200)]
    remote = [task(f"r{i}", "same", "2026-03-01") for i in range(150)]
    found = match(local, remote)
    assert len(found) == 150
    assert len({m.local_id for m in found}) == len({m.remote_id for m in found}) == 150


@pytest.mark.parametrize(
    ("title", "days", "most"),
    [
        pytest.param(lambda i: f"Task {i}", 1, 5_000, id="distinct titles: one comparison each"),
        pytest.param(lambda i: "Same", 100, 100 * FULL_SCAN, id="one title, 100 days: by day"),
        pytest.param(lambda i: "Same", 1, 5_000, id="one title, one day: in order of time"),
    ],
)
def test_the_matcher_compares_a_bounded_number_of_pairs_never_all(monkeypatch, title, days, most):
    """5,000 items a side: a scan of every pair would score 25,000,000."""
    scored = []
    real_score = matching.score
    monkeypatch.setattr(matching, "score", lambda a, b: scored.append(1) or real_score(a, b))
    due = [str(dt.date(2026, 3, 1) + dt.timedelta(days=i % days)) for i in range(5_000)]
    local = [task(str(i), title(i), due[i]) for i in range(5_000)]
    remote = [task(f"r{i}", title(i), due[i]) for i in range(5_000)]

    found = match(local, remote)

    assert len(found) == 5_000
    assert len(scored) <= most


@pytest.mark.parametrize(
    ("raw", "folded"),
    [("  Café — Réunion! ", "cafe reunion"), ("ÉTÉ_2026", "ete 2026"), (None, ""), ("***", "")],
)
def test_normalize_title(raw, folded):
    assert normalize_title(raw) == folded


@pytest.mark.django_db
def test_a_preview_scores_a_task_by_its_dayflow_list_against_the_services_list(user):
    from dayflow.models import Task, TaskList
    from integrations.providers.base import ItemType, RemoteItem
    from sync.engine.plan import Pair
    from sync.matching import preview_matches

    home = TaskList.objects.create(user=user, name="Home")
    mine = Task.objects.create(user=user, title="Pay rent", task_list=home)
    inbox = Task.objects.create(user=user, title="Call mum")

    def remote(remote_id: str, title: str, list_name: str) -> Pair:
        fields = {"title": title, "notes": "", "status": "open", "due": None, "priority": 0}
        item = RemoteItem(remote_id, ItemType.TASK, fields, read_only={"list_name": list_name})
        return Pair("task", remote=item)

    pairs = [
        Pair("task", local=mine),
        Pair("task", local=inbox),
        remote("a-work", "Pay rent", "Work"),
        remote("b-home", "Pay rent", "Home"),
        remote("r-inbox", "Call mum", "Inbox"),
    ]
    found = {p["local_id"]: p for p in preview_matches(pairs)["pairs"]}

    assert found[mine.pk]["remote_id"] == "b-home"
    assert found[inbox.pk]["remote_id"] == "r-inbox"  # no DayFlow list: the Inbox
    assert found[mine.pk]["confidence"] == 0.9  # undated both, same list


@pytest.mark.django_db
def test_a_preview_scores_an_event_by_the_dayflow_calendar_its_service_calendar_feeds(user):
    import datetime as dt

    from dayflow.models import Calendar, Event
    from integrations.models import Connection, Service
    from integrations.providers.base import ItemType, RemoteItem
    from sync import links
    from sync.engine.plan import Pair
    from sync.matching import preview_matches

    work_url, family_url = "https://caldav.example/u/work/", "https://caldav.example/u/family/"
    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="fastmail"),
        external_account_id="u",
        field_mapping={"calendars": [work_url, family_url]},
    )
    family = Calendar.objects.create(user=user, name="Family")
    links.set_destination(
        user.pk, "event", family, connection.sync_links.get(collection=family_url)
    )
    start = dt.datetime(2026, 3, 12, 9, tzinfo=dt.UTC)
    mine = Event.objects.create(
        user=user, title="Dentist", start=start, end=start + dt.timedelta(hours=1), calendar=family
    )
    fields = {
        "title": "Dentist",
        "start": start,
        "end": start + dt.timedelta(hours=1),
        "all_day": False,
        "timezone": "UTC",
    }

    def remote(remote_id: str, calendar: str) -> Pair:
        item = RemoteItem(remote_id, ItemType.EVENT, dict(fields), collection=calendar)
        return Pair("event", remote=item)

    pairs = [Pair("event", local=mine), remote("a-work", work_url), remote("b-family", family_url)]

    scored = preview_matches(pairs, connection_id=connection.pk)["pairs"]
    unscored = preview_matches(pairs)["pairs"]  # without the connection: calendars unknown

    (without,) = [p["confidence"] for p in unscored]  # either of the two, equally likely
    assert [(p["remote_id"], p["confidence"]) for p in scored] == [
        ("b-family", round(without + 0.05, 2))
    ]
