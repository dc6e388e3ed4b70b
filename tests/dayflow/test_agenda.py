"""Occurrences in a window: all-day dates and floating times read in the person's zone, series
expanded in their own zone, skipped and changed dates left to their EXDATE and exception."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from dayflow import agenda
from dayflow.models import Event

BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")


def _day(zone, year=2026, month=3, day=30):
    start = dt.datetime(year, month, day, tzinfo=zone)
    return start, start + dt.timedelta(days=1)


def _titles(events, zone=BERLIN, **day):
    with timezone.override(zone):
        return [o.event.title for o in agenda.occurrences(events, *_day(zone, **day))]


def _event(title, **fields):
    """An event as the pages read it: its exceptions prefetched (here: none)."""
    event = Event(pk=1, title=title, **fields)
    event._prefetched_objects_cache = {"exceptions": Event.objects.none()}
    return event


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "fields", "shown"),
    [
        ("all-day today", {"all_day": True, "start_date": dt.date(2026, 3, 30)}, True),
        (
            "all-day began yesterday, ends tomorrow",
            {"all_day": True, "start_date": dt.date(2026, 3, 29), "end_date": dt.date(2026, 4, 1)},
            True,
        ),
        (
            "all-day ended yesterday (exclusive end today)",
            {"all_day": True, "start_date": dt.date(2026, 3, 29), "end_date": dt.date(2026, 3, 30)},
            False,
        ),
        (
            "floating 23:30 is today in any zone",
            {
                "start": dt.datetime(2026, 3, 30, 23, 30, tzinfo=dt.UTC),
                "end": dt.datetime(2026, 3, 30, 23, 45, tzinfo=dt.UTC),
            },
            True,
        ),
        (
            "Tokyo 06:00 on the 31st is still the 30th in Berlin",
            {
                "start": dt.datetime(2026, 3, 31, 6, tzinfo=TOKYO),
                "end": dt.datetime(2026, 3, 31, 7, tzinfo=TOKYO),
                "timezone": "Asia/Tokyo",
            },
            True,
        ),
        (
            "cancelled",
            {
                "start": dt.datetime(2026, 3, 30, 9, tzinfo=BERLIN),
                "end": dt.datetime(2026, 3, 30, 10, tzinfo=BERLIN),
                "timezone": "Europe/Berlin",
                "status": "cancelled",
            },
            False,
        ),
    ],
)
def test_what_today_holds(name, fields, shown):
    assert _titles([_event(name, **fields)]) == ([name] if shown else [])


@pytest.mark.django_db
def test_a_weekly_series_is_on_its_days_but_not_on_a_skipped_one():
    series = _event(
        "Weekly",
        start=dt.datetime(2026, 3, 2, 9, tzinfo=BERLIN),
        end=dt.datetime(2026, 3, 2, 10, tzinfo=BERLIN),
        timezone="Europe/Berlin",
        rrule="FREQ=WEEKLY;BYDAY=MO",
        exdates=["2026-04-06T09:00:00+02:00"],
    )

    assert _titles([series]) == ["Weekly"]
    assert _titles([series], day=31) == []
    assert _titles([series], month=4, day=6) == []


@pytest.mark.django_db
def test_an_all_day_series_keeps_its_dates_in_any_zone():
    series = _event(
        "Bins",
        all_day=True,
        start_date=dt.date(2026, 3, 2),
        end_date=dt.date(2026, 3, 3),
        rrule="FREQ=WEEKLY;BYDAY=MO",
    )

    assert _titles([series], zone=TOKYO) == ["Bins"]
    assert _titles([series], zone=ZoneInfo("America/Los_Angeles")) == ["Bins"]
    assert _titles([series], zone=TOKYO, day=31) == []
