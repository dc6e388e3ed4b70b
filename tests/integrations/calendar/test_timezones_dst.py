"""Time zones and DST: every case round-trips through every calendar provider's mapping.

Each case is a series master (or single event) plus its exceptions, as normalized fields. A
round trip writes them the way the provider writes (CalDAV: one iCalendar resource with a
VTIMEZONE; Google: event bodies; Graph: event bodies) and reads back what the service returns
for them (the same body for Google; for Graph its documented echo: times in UTC under
`Prefer: outlook.timezone="UTC"`, the zone in originalStartTimeZone, cancelled occurrences).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from dateutil import rrule as dateutil_rrule

from integrations.providers import events
from integrations.providers.caldav import CalDAVProvider
from integrations.providers.google_calendar import provider as google
from integrations.providers.outlook import provider as outlook

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14
BAKER = ZoneInfo("Etc/GMT+12")  # UTC-12 (the sign is POSIX's)
MASTER_ID = "master-1"


def fields(title: str, start: Any, end: Any, **extra: Any) -> dict[str, Any]:
    timed = isinstance(start, dt.datetime)
    tzname = start.tzinfo.key if timed and start.tzinfo else ""
    return {
        "title": title,
        "description": "",
        "location": "",
        "status": "confirmed",
        "all_day": not timed,
        "start": start,
        "end": end,
        "timezone": tzname,
        "rrule": "",
        "exdates": [],
        "recurrence_id": "",
        "series_remote_id": "",
        **extra,
    }


def exception(master: dict[str, Any], recurrence_id: str, start: Any, end: Any) -> dict:
    return fields(
        f"{master['title']} (moved)",
        start,
        end,
        recurrence_id=recurrence_id,
        series_remote_id=MASTER_ID,
    )


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    master: dict[str, Any]
    exceptions: tuple[dict[str, Any], ...] = ()


WEEKLY = fields(
    "Weekly across Berlin's spring change",
    dt.datetime(2026, 3, 16, 9, tzinfo=BERLIN),
    dt.datetime(2026, 3, 16, 10, tzinfo=BERLIN),
    rrule="FREQ=WEEKLY;COUNT=5;BYDAY=MO",
    exdates=["2026-04-06T09:00:00+02:00"],
)
NY_WEEKLY = fields(
    "Weekly across New York's fall change",
    dt.datetime(2026, 10, 20, 18, 30, tzinfo=NEW_YORK),
    dt.datetime(2026, 10, 20, 19, 30, tzinfo=NEW_YORK),
    rrule="FREQ=WEEKLY;COUNT=4;BYDAY=TU",
)
ALL_DAY_SERIES = fields(
    "Monthly all-day",
    dt.date(2026, 1, 31),
    dt.date(2026, 2, 1),
    rrule="FREQ=MONTHLY;UNTIL=20261231;BYDAY=-1SA",
    exdates=["2026-02-28"],
)
FLOATING_SERIES = fields(
    "Floating daily",
    dt.datetime(2026, 3, 27, 7, 0),
    dt.datetime(2026, 3, 27, 7, 30),
    rrule="FREQ=DAILY;COUNT=5",
    exdates=["2026-03-29T07:00:00"],
)

CASES = [
    Case(
        "berlin spring gap",
        fields(
            "Night across the gap",
            dt.datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN),
            dt.datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN),
        ),
    ),
    Case(
        "berlin fall back, first 02:30",
        fields(
            "Twice 02:30",
            dt.datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN),
            dt.datetime(2026, 10, 25, 4, 0, tzinfo=BERLIN),
        ),
    ),
    Case(
        "new york spring gap",
        fields(
            "Shift",
            dt.datetime(2026, 3, 8, 1, 30, tzinfo=NEW_YORK),
            dt.datetime(2026, 3, 8, 3, 30, tzinfo=NEW_YORK),
        ),
    ),
    Case(
        "new york fall back",
        fields(
            "Shift",
            dt.datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK),
            dt.datetime(2026, 11, 1, 3, 0, tzinfo=NEW_YORK),
        ),
    ),
    Case(
        "weekly series over berlin's change, one moved, one deleted",
        WEEKLY,
        (
            exception(
                WEEKLY,
                "2026-03-30T09:00:00+02:00",
                dt.datetime(2026, 3, 31, 11, tzinfo=BERLIN),
                dt.datetime(2026, 3, 31, 12, tzinfo=BERLIN),
            ),
        ),
    ),
    Case("weekly series over new york's change", NY_WEEKLY),
    Case("all-day, UTC+14", fields("New Year, Kiribati", dt.date(2026, 1, 1), dt.date(2026, 1, 2))),
    Case("all-day, UTC-12", fields("New Year, Baker", dt.date(2026, 1, 1), dt.date(2026, 1, 2))),
    Case(
        "timed at the first minute of a UTC+14 day",
        fields(
            "Dawn",
            dt.datetime(2026, 1, 1, 0, 0, tzinfo=KIRITIMATI),
            dt.datetime(2026, 1, 1, 0, 30, tzinfo=KIRITIMATI),
        ),
    ),
    Case(
        "timed at the last minute of a UTC-12 day",
        fields(
            "Dusk",
            dt.datetime(2026, 12, 31, 23, 30, tzinfo=BAKER),
            dt.datetime(2027, 1, 1, 0, 0, tzinfo=BAKER),
        ),
    ),
    Case(
        "spanning midnight",
        fields(
            "Night train",
            dt.datetime(2026, 6, 12, 22, 0, tzinfo=BERLIN),
            dt.datetime(2026, 6, 13, 2, 0, tzinfo=BERLIN),
        ),
    ),
    Case(
        "multi-day all-day",
        fields("Conference", dt.date(2026, 3, 28), dt.date(2026, 3, 31)),
    ),
    Case("all-day monthly series with an exception date", ALL_DAY_SERIES),
    Case(
        "floating time",
        fields("Wake up", dt.datetime(2026, 5, 1, 7, 0), dt.datetime(2026, 5, 1, 7, 15)),
    ),
    Case(
        "floating daily series with a moved instance",
        FLOATING_SERIES,
        (
            exception(
                FLOATING_SERIES,
                "2026-03-28T07:00:00",
                dt.datetime(2026, 3, 28, 8, 0),
                dt.datetime(2026, 3, 28, 8, 30),
            ),
        ),
    ),
    Case(
        "every text field, tentative, unicode",
        fields(
            "Café ☕ planning; Q2",
            dt.datetime(2026, 4, 2, 15, tzinfo=BERLIN),
            dt.datetime(2026, 4, 2, 16, tzinfo=BERLIN),
            description='Agenda:\n1. budget, "draft"\n2. hiring',
            location="Room 4, Floor 2; Berlin",
            status="tentative",
            rrule="FREQ=MONTHLY;COUNT=3;BYDAY=1TH",
        ),
    ),
    Case(
        "utc",
        fields(
            "Standup (UTC)",
            dt.datetime(2026, 3, 29, 0, 30, tzinfo=ZoneInfo("UTC")),
            dt.datetime(2026, 3, 29, 1, 0, tzinfo=ZoneInfo("UTC")),
        ),
    ),
]


# --- one round trip per provider --------------------------------------------------------
def through_caldav(case: Case) -> list[dict[str, Any]]:
    url = "https://dav.example.com/cal/series.ics"
    calendar = events.new_calendar()
    for item in (case.master, *case.exceptions):
        calendar.add_component(events.fields_to_vevent(item, "uid-1@dayflow"))
    data = events.serialize(calendar)
    icalendar.Calendar.from_ical(data)  # valid iCalendar
    items = CalDAVProvider(SimpleNamespace(field_mapping={})).items_of(url, data, '"1"', "")
    return [_relink(i.fields, url) for i in items]


def through_google(case: Case) -> list[dict[str, Any]]:
    provider = google.GoogleCalendarProvider(SimpleNamespace(field_mapping={}))
    out = []
    for item in (case.master, *case.exceptions):
        item = {**item, "series_remote_id": f"primary/{MASTER_ID}" if item["recurrence_id"] else ""}
        body = json.loads(json.dumps(google.to_remote(item, "df-1")))
        body |= {"id": "e1", "etag": '"1"'}
        out.append(_relink(provider.to_item(body, "primary").fields, f"primary/{MASTER_ID}"))
    return out


def graph_echo(body: dict[str, Any], exception_of: str = "") -> dict[str, Any]:
    """What Graph returns for an event we wrote, read with Prefer: outlook.timezone="UTC"."""
    zone = body["start"]["timeZone"]

    def utc(when: dict[str, str]) -> dict[str, str]:
        local = dt.datetime.fromisoformat(when["dateTime"]).replace(tzinfo=events.zone(zone))
        text = local.astimezone(dt.UTC).replace(tzinfo=None).isoformat()
        return {"dateTime": f"{text}.0000000", "timeZone": "UTC"}

    echo = {
        **body,
        "id": "e1",
        "@odata.etag": 'W/"1"',
        "start": utc(body["start"]),
        "end": utc(body["end"]),
        "originalStartTimeZone": zone,
        "type": "seriesMaster" if body.get("recurrence") else "singleInstance",
    }
    if exception_of:
        echo |= {"type": "exception", "seriesMasterId": MASTER_ID, "originalStart": exception_of}
    return echo


def through_outlook(case: Case) -> list[dict[str, Any]]:
    out = []
    for item in (case.master, *case.exceptions):
        body = json.loads(json.dumps(outlook.to_remote(item, "df-1")))
        original = ""
        if item["recurrence_id"]:
            rid = events.parse_iso(item["recurrence_id"], item["timezone"])
            if rid.tzinfo is None:
                rid = rid.replace(tzinfo=events.zone(body["start"]["timeZone"]))
            original = rid.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        echo = graph_echo(body, original)
        # Graph lists the excluded dates as cancelled occurrences of the master.
        exdates = [events.parse_iso(d, item["timezone"]) for d in item["exdates"]]
        dates = [d.date() if isinstance(d, dt.datetime) else d for d in exdates]
        echo["cancelledOccurrences"] = [f"OID.{MASTER_ID}.{d.isoformat()}" for d in dates]
        out.append(_relink(outlook.to_fields(echo), MASTER_ID))
    return out


def _relink(got: dict[str, Any], series_id: str) -> dict[str, Any]:
    # Each service names the master its own way; the link itself is what must survive.
    return {**got, "series_remote_id": MASTER_ID if got["series_remote_id"] == series_id else ""}


PROVIDERS = {"caldav": through_caldav, "google": through_google, "outlook": through_outlook}


def utc_or_naive(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    return value


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_round_trip_is_unchanged(case: Case, provider: str) -> None:
    # given a master (or single event) and its exceptions
    sent = [case.master, *case.exceptions]
    # when they go through the provider's mapping and back
    got = sorted(PROVIDERS[provider](case), key=lambda f: f["recurrence_id"])
    # then nothing is lost: fields, zones, instants (not just wall clocks), links
    assert got == sorted(sent, key=lambda f: f["recurrence_id"])
    for before, after in zip(sorted(sent, key=lambda f: f["recurrence_id"]), got, strict=True):
        assert utc_or_naive(after["start"]) == utc_or_naive(before["start"])
        assert utc_or_naive(after["end"]) == utc_or_naive(before["end"])
        assert type(after["start"]) is type(before["start"])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_weekly_series_keeps_its_local_time_across_dst(provider: str) -> None:
    # given the Berlin weekly series, after a round trip
    (master,) = [f for f in PROVIDERS[provider](CASES[4]) if not f["recurrence_id"]]
    # when it is expanded
    starts = list(dateutil_rrule.rrulestr(master["rrule"], dtstart=master["start"]).__iter__())
    # then every occurrence is at 09:00 Berlin time, though the UTC hour changes
    assert [s.strftime("%H:%M") for s in starts] == ["09:00"] * 5
    assert {s.astimezone(dt.UTC).hour for s in starts} == {8, 7}
    assert events.iso(starts[3], "Europe/Berlin") in master["exdates"]


def test_an_ambiguous_wall_clock_means_its_first_occurrence() -> None:
    # RFC 5545 §3.3.5: a local time that occurs twice is the first one; fold=1 is not sent.
    first = dt.datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK)
    vevent = events.fields_to_vevent(fields("x", first, first + dt.timedelta(hours=1)), "u")
    back = events.vevent_to_fields(icalendar.Event.from_ical(vevent.to_ical()))["start"]
    assert back.astimezone(dt.UTC) == dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC)
