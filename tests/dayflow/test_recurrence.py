"""The planner's simple recurrences: built as the canonical RRULE the providers write, read back
into the form's terms, said in words, and expanded in the event's own zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dayflow import recurrence
from dayflow.recurrence import Recurrence
from integrations.providers import events as provider_events

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_9 = dt.datetime(2026, 3, 23, 9, tzinfo=BERLIN)
SATURDAY = dt.date(2026, 1, 31)
FLOATING_7 = dt.datetime(2026, 3, 27, 7, 0)

# (name, recurrence, start, zone, the rule it makes)
ROUND_TRIPS = [
    ("daily forever", Recurrence("DAILY"), MONDAY_9, "Europe/Berlin", "FREQ=DAILY"),
    (
        "daily 5 times",
        Recurrence("DAILY", count=5),
        MONDAY_9,
        "Europe/Berlin",
        "FREQ=DAILY;COUNT=5",
    ),
    (
        "weekly on the start's day",
        Recurrence("WEEKLY"),
        MONDAY_9,
        "Europe/Berlin",
        "FREQ=WEEKLY;BYDAY=MO",
    ),
    (
        "weekly on chosen days until a zoned last day",
        Recurrence("WEEKLY", (2, 0), dt.date(2027, 1, 31)),
        MONDAY_9,
        "Europe/Berlin",
        "FREQ=WEEKLY;UNTIL=20270131T225959Z;BYDAY=MO,WE",
    ),
    (
        "monthly all-day until a date",
        Recurrence("MONTHLY", until=dt.date(2026, 12, 31)),
        SATURDAY,
        "",
        "FREQ=MONTHLY;UNTIL=20261231;BYMONTHDAY=31",
    ),
    (
        "floating daily until a local time",
        Recurrence("DAILY", until=dt.date(2026, 3, 31)),
        FLOATING_7,
        "",
        "FREQ=DAILY;UNTIL=20260331T235959",
    ),
]


@pytest.mark.parametrize(("name", "rule", "start", "zone", "text"), ROUND_TRIPS)
def test_a_rule_is_built_and_read_back(name, rule, start, zone, text):
    built = recurrence.build_rrule(rule, start, zone)
    expected_days = tuple(sorted(rule.weekdays)) or (
        (start.weekday(),) if rule.freq == "WEEKLY" else ()
    )

    assert built == text
    assert recurrence.parse_rrule(built, start, zone) == Recurrence(
        rule.freq, expected_days, rule.until, rule.count
    )


@pytest.mark.parametrize(("name", "rule", "start", "zone", "text"), ROUND_TRIPS)
def test_a_built_rule_is_already_in_the_providers_canonical_form(name, rule, start, zone, text):
    built = recurrence.build_rrule(rule, start, zone)

    assert provider_events.explicit_rrule(built, start) == built


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
        "FREQ=MONTHLY;BYDAY=-1SA",
        "FREQ=MONTHLY;BYMONTHDAY=1,15",
        "FREQ=YEARLY",
        "FREQ=DAILY;BYHOUR=9,17",
        "FREQ=DAILY;COUNT=x",
        "FREQ=DAILY;UNTIL=garbage",
        "",
    ],
)
def test_a_rule_the_form_cannot_show_is_not_read_into_it(rule):
    assert recurrence.parse_rrule(rule, MONDAY_9, "Europe/Berlin") is None


@pytest.mark.parametrize(
    ("rule", "start", "words"),
    [
        (
            "FREQ=WEEKLY;UNTIL=20260131T225959Z;BYDAY=MO,WE",
            dt.date(2026, 1, 5),
            ("Every week on Mon, Wed until Jan 31"),
        ),
        ("FREQ=DAILY;COUNT=5", MONDAY_9, "Every day, 5 times"),
        ("FREQ=MONTHLY;BYMONTHDAY=31", SATURDAY, "Every month on day 31"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", MONDAY_9, "Every 2 weeks on Tue"),
        ("FREQ=MONTHLY;BYDAY=-1SA", MONDAY_9, "Every month on last Sat"),
        ("FREQ=DAILY;UNTIL=20270105", MONDAY_9, "Every day until Jan 5, 2027"),
        ("FREQ=SECONDLY", MONDAY_9, "Repeats (FREQ=SECONDLY)"),
    ],
)
def test_a_rule_in_words(rule, start, words):
    assert recurrence.describe(rule, start, "Europe/Berlin") == words


def test_a_weekly_series_keeps_its_wall_clock_time_across_dst():
    rule = "FREQ=WEEKLY;BYDAY=MO"
    after, before = dt.datetime(2026, 3, 23, tzinfo=BERLIN), dt.datetime(2026, 4, 7, tzinfo=BERLIN)

    found = [recurrence.occurrence_id(s) for s in recurrence.starts(rule, MONDAY_9, after, before)]

    assert found == [
        "2026-03-23T09:00:00+01:00",
        "2026-03-30T09:00:00+02:00",
        "2026-04-06T09:00:00+02:00",
    ]


@pytest.mark.parametrize(
    ("rule", "start"),
    [
        # services write UNTIL as a date or a local time on zoned series, and a UTC time on
        # floating ones: dateutil refuses the mix, the expansion does not
        ("FREQ=WEEKLY;UNTIL=20260406;BYDAY=MO", MONDAY_9),
        ("FREQ=WEEKLY;UNTIL=20260406T235959;BYDAY=MO", MONDAY_9),
        ("FREQ=DAILY;UNTIL=20260329T235959Z", FLOATING_7),
    ],
)
def test_until_in_any_form_ends_the_series_on_its_last_day(rule, start):
    found = list(recurrence.starts(rule, start, start, start + dt.timedelta(days=60)))

    assert found[-1].date() in (dt.date(2026, 4, 6), dt.date(2026, 3, 29))
    assert len(found) == 3


def test_an_occurrence_is_a_start_of_its_series_and_nothing_else_is():
    rule = "FREQ=WEEKLY;BYDAY=MO"

    assert recurrence.is_start(rule, MONDAY_9, dt.datetime(2026, 3, 30, 9, tzinfo=BERLIN))
    assert not recurrence.is_start(rule, MONDAY_9, dt.datetime(2026, 3, 30, 10, tzinfo=BERLIN))
    assert not recurrence.is_start(rule, MONDAY_9, dt.datetime(2026, 3, 16, 9, tzinfo=BERLIN))
    assert not recurrence.is_start("FREQ=NONSENSE", MONDAY_9, MONDAY_9)
