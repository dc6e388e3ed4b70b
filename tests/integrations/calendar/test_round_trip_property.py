"""Property: any event DayFlow can hold survives every calendar provider's mapping unchanged."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.providers import events
from tests.integrations.calendar.test_timezones_dst import PROVIDERS, Case, fields

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Pacific/Kiritimati",
    "Etc/GMT+12",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Asia/Kathmandu",  # a +05:45 offset
    "UTC",
]
RULES = st.sampled_from(
    [
        "",
        "FREQ=DAILY;COUNT=7",
        "FREQ=WEEKLY;COUNT=10;BYDAY=MO,TH",
        "FREQ=WEEKLY;INTERVAL=2",
        "FREQ=MONTHLY;BYMONTHDAY=15",
        "FREQ=MONTHLY;COUNT=6;BYDAY=-1FR",
        "FREQ=YEARLY;BYDAY=2SU;BYMONTH=5",
    ]
)
local_times = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 12, 31))


@st.composite
def timed_events(draw: st.DrawFn) -> dict:
    zone = draw(st.sampled_from([*ZONES, ""]))
    wall = draw(local_times).replace(second=0, microsecond=0)
    start = wall.replace(tzinfo=ZoneInfo(zone)) if zone else wall
    if zone:  # a wall clock inside a DST gap does not exist: use the instant it means
        start = start.astimezone(dt.UTC).astimezone(ZoneInfo(zone))
    length = dt.timedelta(minutes=draw(st.integers(0, 60 * 48)))
    end = (start.astimezone(dt.UTC) + length).astimezone(start.tzinfo) if zone else start + length
    rule = draw(RULES)
    exdates = []
    if rule:
        days = draw(st.lists(st.integers(1, 60), max_size=3, unique=True))
        exdates = sorted(events.iso(_same_wall_clock(start, d), zone) for d in days)
    # iCalendar text has no carriage return of its own (a line break is "\\n"): none in titles.
    letters = st.characters(blacklist_categories=("Cc", "Cs"))
    title = draw(st.text(letters, min_size=1, max_size=30).filter(str.strip).map(str.strip))
    made = fields(title, start, end, rrule=events.explicit_rrule(rule, start), exdates=exdates)
    return made | {"timezone": "UTC" if zone == "UTC" else zone}


def _same_wall_clock(start: dt.datetime, days: int) -> dt.datetime:
    moved = start.replace(tzinfo=None) + dt.timedelta(days=days)
    if start.tzinfo is None:
        return moved
    return moved.replace(tzinfo=start.tzinfo).astimezone(dt.UTC).astimezone(start.tzinfo)


@st.composite
def all_day_events(draw: st.DrawFn) -> dict:
    start = draw(st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2028, 12, 31)))
    end = start + dt.timedelta(days=draw(st.integers(1, 14)))
    rule = draw(RULES)
    exdates = []
    if rule:
        days = draw(st.lists(st.integers(1, 60), max_size=3, unique=True))
        exdates = sorted((start + dt.timedelta(days=d)).isoformat() for d in days)
    return fields("All day", start, end, rrule=events.explicit_rrule(rule, start), exdates=exdates)


@settings(max_examples=150, deadline=None)
@given(st.one_of(timed_events(), all_day_events()), st.sampled_from(sorted(PROVIDERS)))
def test_any_event_round_trips_unchanged(event: dict, provider: str) -> None:
    (got,) = PROVIDERS[provider](Case("generated", event))
    assert got == event
    if isinstance(event["start"], dt.datetime) and event["start"].tzinfo:
        assert got["start"].astimezone(dt.UTC) == event["start"].astimezone(dt.UTC)
        assert got["end"].astimezone(dt.UTC) == event["end"].astimezone(dt.UTC)
