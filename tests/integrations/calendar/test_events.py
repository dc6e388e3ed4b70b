"""The shared event model: canonical instants and rules, writing fields in their own zone,
VTODO, Google's recurrence lines and Graph's patternedRecurrence."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.providers import events
from integrations.providers.errors import Permanent
from integrations.providers.events import UnsupportedRecurrence

BERLIN = ZoneInfo("Europe/Berlin")
START = dt.datetime(2026, 3, 23, 9, tzinfo=BERLIN)  # a Monday


@pytest.mark.parametrize(
    ("rule", "canonical"),
    [
        ("RRULE:BYDAY=MO;FREQ=WEEKLY", "FREQ=WEEKLY;BYDAY=MO"),
        ("FREQ=DAILY;INTERVAL=1;COUNT=3", "FREQ=DAILY;COUNT=3"),
        ("INTERVAL=2;FREQ=MONTHLY;BYMONTHDAY=15", "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15"),
        ("", ""),
    ],
)
def test_rules_have_one_spelling(rule: str, canonical: str) -> None:
    assert events.canonical_rrule(rule) == canonical


@pytest.mark.parametrize(
    ("rule", "start", "explicit"),
    [
        ("FREQ=WEEKLY", START, "FREQ=WEEKLY;BYDAY=MO"),
        ("FREQ=WEEKLY;BYDAY=TU", START, "FREQ=WEEKLY;BYDAY=TU"),
        ("FREQ=MONTHLY;COUNT=3", START, "FREQ=MONTHLY;COUNT=3;BYMONTHDAY=23"),
        ("FREQ=MONTHLY;BYDAY=-1FR", START, "FREQ=MONTHLY;BYDAY=-1FR"),
        ("FREQ=YEARLY", dt.date(2026, 2, 28), "FREQ=YEARLY;BYMONTHDAY=28;BYMONTH=2"),
        ("FREQ=YEARLY;BYMONTH=5;BYDAY=2SU", START, "FREQ=YEARLY;BYDAY=2SU;BYMONTH=5"),
        ("FREQ=DAILY", START, "FREQ=DAILY"),
        ("", START, ""),
    ],
)
def test_parts_a_rule_takes_from_its_start_are_written_out(rule, start, explicit) -> None:
    assert events.explicit_rrule(rule, start) == explicit


@pytest.mark.parametrize(
    ("value", "tzname", "text"),
    [
        (dt.datetime(2026, 3, 30, 7, tzinfo=dt.UTC), "Europe/Berlin", "2026-03-30T09:00:00+02:00"),
        (dt.datetime(2026, 3, 30, 9), "", "2026-03-30T09:00:00"),
        (dt.date(2026, 3, 30), "", "2026-03-30"),
    ],
)
def test_instants_have_one_iso_form_in_the_event_zone(value, tzname: str, text: str) -> None:
    assert events.iso(value, tzname) == text
    assert events.iso(events.parse_iso(text, tzname), tzname) == text


def test_fields_from_the_engine_are_written_in_the_event_zone() -> None:
    # given fields as the engine decodes them from JSON: instants in UTC
    utc_start = dt.datetime(2026, 3, 23, 8, tzinfo=dt.UTC)
    sent = {
        "all_day": False,
        "start": utc_start,
        "end": utc_start + dt.timedelta(hours=1),
        "timezone": "Europe/Berlin",
        "rrule": "FREQ=WEEKLY;INTERVAL=1",
    }
    floating = {**sent, "timezone": "", "rrule": ""}
    all_day = {**sent, "all_day": True, "start": dt.date(2026, 3, 23), "end": dt.date(2026, 3, 24)}
    # when they are prepared for writing
    zoned, floated, day = map(events.for_writing, (sent, floating, all_day))
    # then each keeps its meaning in the form the services store
    assert zoned["start"].tzinfo == BERLIN
    assert zoned["start"].hour == 9
    assert zoned["rrule"] == "FREQ=WEEKLY;BYDAY=MO"  # the part DTSTART implied, written out
    assert floated["start"] == dt.datetime(2026, 3, 23, 8)  # the wall clock in settings' zone
    assert (day["start"], day["end"]) == (dt.date(2026, 3, 23), dt.date(2026, 3, 24))


def test_a_vevent_with_a_zone_has_its_vtimezone() -> None:
    calendar = events.new_calendar()
    calendar.add_component(
        events.fields_to_vevent(
            {
                "title": "x",
                "start": START,
                "end": START + dt.timedelta(hours=1),
                "timezone": "Europe/Berlin",
                "rrule": "FREQ=WEEKLY",
                "exdates": [],
            },
            "u1",
        )
    )
    parsed = icalendar.Calendar.from_ical(events.serialize(calendar))
    assert [tz["TZID"] for tz in parsed.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert parsed.walk("VEVENT")[0]["DTSTART"].params["TZID"] == "Europe/Berlin"


def two_zone_calendar(summary: str) -> icalendar.Calendar:
    calendar = events.new_calendar()
    for uid, zone in (("u1", "Europe/Berlin"), ("u2", "America/New_York")):
        start = dt.datetime(2026, 3, 2, 9, tzinfo=ZoneInfo(zone))
        fields = {"title": summary, "start": start, "end": start + dt.timedelta(hours=1)}
        calendar.add_component(events.fields_to_vevent({**fields, "timezone": zone}, uid))
    return calendar


def test_vtimezones_are_icalendars_own_and_built_once_per_zone(monkeypatch) -> None:
    # given what icalendar itself adds to a calendar using two zones
    expected = two_zone_calendar("x")
    expected.add_missing_timezones()
    built: list[str] = []
    original = icalendar.Timezone.from_tzid.__func__

    def counting(cls, tzid, *args, **kwargs):
        built.append(tzid)
        return original(cls, tzid, *args, **kwargs)

    events._vtimezone.cache_clear()
    monkeypatch.setattr(icalendar.Timezone, "from_tzid", classmethod(counting))
    # when two such calendars are serialized
    first = icalendar.Calendar.from_ical(events.serialize(two_zone_calendar("x")))
    second = events.serialize(two_zone_calendar("y"))
    # then each holds the same VTIMEZONEs icalendar would add, before the events
    assert [c.to_ical() for c in first.walk("VTIMEZONE")] == sorted(
        (c.to_ical() for c in expected.walk("VTIMEZONE")), key=lambda t: t.split(b"TZID:")[1]
    )
    assert [c.name for c in first.subcomponents][:2] == ["VTIMEZONE", "VTIMEZONE"]
    assert second.count(b"BEGIN:VTIMEZONE") == 2
    # and each zone's VTIMEZONE was built from the zone database once, not once per write
    assert sorted(built) == ["America/New_York", "Europe/Berlin"]


def test_an_event_without_dtend_lasts_a_day_or_nothing() -> None:
    day = icalendar.Event.from_ical(
        "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20260101\r\nEND:VEVENT\r\n"
    )
    moment = icalendar.Event.from_ical(
        "BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20260101T100000Z\r\nDURATION:PT45M\r\nEND:VEVENT\r\n"
    )
    assert events.vevent_to_fields(day)["end"] == dt.date(2026, 1, 2)
    got = events.vevent_to_fields(moment)
    assert got["end"] - got["start"] == dt.timedelta(minutes=45)
    assert got["timezone"] == "UTC"


@pytest.mark.parametrize(
    ("priority", "ical", "back"),
    [(0, 0, 0), (1, 9, 1), (2, 5, 2), (3, 3, 3), (4, 1, 4)],
)
def test_task_priorities_map_to_ical_and_back(priority: int, ical: int, back: int) -> None:
    todo = events.fields_to_vtodo({"title": "t", "status": "open", "priority": priority}, "u")
    assert int(todo.get("PRIORITY", 0)) == ical
    assert events.vtodo_to_fields(todo)["priority"] == back


def test_google_recurrence_lines_with_rdate_are_refused() -> None:
    with pytest.raises(UnsupportedRecurrence, match="RDATE"):
        events.parse_recurrence_lines(["RRULE:FREQ=DAILY", "RDATE:20260101T090000Z"], "UTC")


# --- Graph patternedRecurrence ---------------------------------------------------------
GRAPH_CASES = [
    (
        "FREQ=DAILY;INTERVAL=2",
        {"type": "daily", "interval": 2},
        {"type": "noEnd"},
    ),
    (
        "FREQ=WEEKLY;COUNT=10;BYDAY=MO,WE,FR",
        {"type": "weekly", "interval": 1, "daysOfWeek": ["monday", "wednesday", "friday"]},
        {"type": "numbered", "numberOfOccurrences": 10},
    ),
    (
        "FREQ=WEEKLY;UNTIL=20261231T225959Z;BYDAY=MO;WKST=SU",
        {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "firstDayOfWeek": "sunday"},
        {"type": "endDate", "endDate": "2026-12-31"},
    ),
    (
        "FREQ=MONTHLY;BYMONTHDAY=23",
        {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 23},
        {"type": "noEnd"},
    ),
    (
        "FREQ=MONTHLY;BYDAY=-1FR",
        {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"},
        {"type": "noEnd"},
    ),
    (
        "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=2",
        {"type": "relativeMonthly", "daysOfWeek": ["monday", "tuesday"], "index": "second"},
        {"type": "noEnd"},
    ),
    (
        "FREQ=YEARLY;BYMONTHDAY=23;BYMONTH=3",
        {"type": "absoluteYearly", "interval": 1, "dayOfMonth": 23, "month": 3},
        {"type": "noEnd"},
    ),
    (
        "FREQ=YEARLY;COUNT=5;BYDAY=4TH;BYMONTH=11",
        {"type": "relativeYearly", "daysOfWeek": ["thursday"], "index": "fourth", "month": 11},
        {"type": "numbered", "numberOfOccurrences": 5},
    ),
]


@pytest.mark.parametrize(
    ("rule", "pattern", "range_"), GRAPH_CASES, ids=[c[0] for c in GRAPH_CASES]
)
def test_graph_patterns_both_ways(rule: str, pattern: dict, range_: dict) -> None:
    # when a rule goes to Graph
    graph = events.rrule_to_graph(rule, START, "Europe/Berlin")
    # then it is the documented pattern and range
    assert pattern.items() <= graph["pattern"].items()
    assert range_.items() <= graph["range"].items()
    assert graph["range"]["startDate"] == "2026-03-23"
    assert graph["range"]["recurrenceTimeZone"] == "Europe/Berlin"
    # and it comes back as the same rule
    assert events.graph_to_rrule(graph, "Europe/Berlin", all_day=False) == rule


def test_a_weekly_rule_without_days_takes_the_start_weekday() -> None:
    graph = events.rrule_to_graph("FREQ=WEEKLY", START, "Europe/Berlin")
    assert graph["pattern"]["daysOfWeek"] == ["monday"]


def test_an_all_day_series_ends_on_a_date() -> None:
    graph = events.rrule_to_graph("FREQ=DAILY;UNTIL=20260410", dt.date(2026, 4, 1), "")
    assert graph["range"] == {
        "startDate": "2026-04-01",
        "recurrenceTimeZone": "",
        "type": "endDate",
        "endDate": "2026-04-10",
    }
    assert events.graph_to_rrule(graph, "", all_day=True) == "FREQ=DAILY;UNTIL=20260410"


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=HOURLY",
        "FREQ=MINUTELY;INTERVAL=15",
        "FREQ=WEEKLY;BYHOUR=9,17",
        "FREQ=MONTHLY;BYDAY=1MO,3MO",
        "FREQ=MONTHLY;BYMONTHDAY=1,15",
        "FREQ=MONTHLY;BYDAY=5FR",
        "FREQ=YEARLY;BYWEEKNO=20",
        "FREQ=WEEKLY;BYDAY=2MO",
    ],
)
def test_rules_graph_cannot_express_are_a_clear_error(rule: str) -> None:
    with pytest.raises(UnsupportedRecurrence):
        events.rrule_to_graph(rule, START, "Europe/Berlin")


def test_an_unknown_graph_pattern_is_a_clear_error() -> None:
    with pytest.raises(UnsupportedRecurrence, match="weirdly"):
        events.graph_to_rrule({"pattern": {"type": "weirdly"}, "range": {}}, "UTC", False)


DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
graph_rules = st.one_of(
    st.builds(lambda n: f"FREQ=DAILY;INTERVAL={n}", st.integers(2, 30)),
    st.builds(
        lambda days, count: f"FREQ=WEEKLY;COUNT={count};BYDAY={','.join(days)}",
        st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True).map(
            lambda d: sorted(d, key=DAYS.index)
        ),
        st.integers(1, 400),
    ),
    st.builds(lambda d: f"FREQ=MONTHLY;BYMONTHDAY={d}", st.integers(1, 31)),
    st.builds(
        lambda n, day: f"FREQ=MONTHLY;BYDAY={n}{day}",
        st.sampled_from([1, 2, 3, 4, -1]),
        st.sampled_from(DAYS),
    ),
    st.builds(
        lambda n, day, m: f"FREQ=YEARLY;BYDAY={n}{day};BYMONTH={m}",
        st.sampled_from([1, 2, 3, 4, -1]),
        st.sampled_from(DAYS),
        st.integers(1, 12),
    ),
)


@given(graph_rules)
def test_every_expressible_rule_survives_graph(rule: str) -> None:
    canonical = events.canonical_rrule(rule)
    graph = events.rrule_to_graph(canonical, START, "Europe/Berlin")
    assert events.graph_to_rrule(graph, "Europe/Berlin", all_day=False) == canonical


def test_an_instance_without_its_series_is_not_created_alone() -> None:
    fields = {
        "all_day": False,
        "start": START,
        "end": START,
        "timezone": "Europe/Berlin",
        "recurrence_id": "2026-03-30T09:00:00+02:00",
        "series_remote_id": "",
    }
    with pytest.raises(Permanent, match="before its series"):
        events.for_creating(fields)
    assert events.for_creating({**fields, "series_remote_id": "m"})["start"] == START
