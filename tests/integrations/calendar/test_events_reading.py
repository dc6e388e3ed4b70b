"""Reading a calendar without the VTIMEZONEs of IANA zones gives the same fields, faster."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations.providers import events

NEW_YORK = """BEGIN:VTIMEZONE\r
TZID:America/New_York\r
BEGIN:STANDARD\r
DTSTART:20071104T020000\r
RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r
TZNAME:EST\r
TZOFFSETFROM:-0400\r
TZOFFSETTO:-0500\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
DTSTART:20070311T020000\r
RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r
TZNAME:EDT\r
TZOFFSETFROM:-0500\r
TZOFFSETTO:-0400\r
END:DAYLIGHT\r
END:VTIMEZONE\r
"""
# A zone only its VTIMEZONE defines: +05:30 all year, under a name no database knows.
CUSTOM = """BEGIN:VTIMEZONE\r
TZID:Office Time\r
BEGIN:STANDARD\r
DTSTART:19700101T000000\r
TZNAME:OT\r
TZOFFSETFROM:+0530\r
TZOFFSETTO:+0530\r
END:STANDARD\r
END:VTIMEZONE\r
"""


def calendar(zones: str, tzid: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        f"{zones}"
        "BEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;TZID={tzid}:20260302T100000\r\nDTEND;TZID={tzid}:20260302T110000\r\n"
        "RRULE:FREQ=WEEKLY;COUNT=3\r\nSUMMARY:Standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@pytest.mark.parametrize(
    ("text", "kept_zones", "utc_start"),
    [
        (calendar(NEW_YORK, "America/New_York"), [], dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC)),
        (
            calendar(CUSTOM, "Office Time"),
            ["Office Time"],
            dt.datetime(2026, 3, 2, 4, 30, tzinfo=dt.UTC),
        ),
        (
            calendar(NEW_YORK + CUSTOM, "Office Time"),
            ["Office Time"],
            dt.datetime(2026, 3, 2, 4, 30, tzinfo=dt.UTC),
        ),
        (calendar("", "America/New_York"), [], dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC)),
    ],
    ids=["iana-zone-dropped", "custom-zone-kept", "only-the-iana-one-dropped", "no-vtimezone"],
)
def test_reading_drops_only_zones_the_database_knows(text, kept_zones, utc_start):
    # given a calendar as a server sends it; when it is read
    full = events.parse_calendar(text)
    read = events.parse_for_reading(text)
    # then only the custom zone's VTIMEZONE is still there
    assert [str(tz["TZID"]) for tz in read.walk("VTIMEZONE")] == kept_zones
    # and the event resolves to the same instant and the same fields as a full parse
    start = read.walk("VEVENT")[0]["DTSTART"].dt
    assert start.astimezone(dt.UTC) == utc_start
    assert start == full.walk("VEVENT")[0]["DTSTART"].dt
    assert str(read.walk("VEVENT")[0]["RRULE"].to_ical(), "ascii") == "FREQ=WEEKLY;COUNT=3"


def test_reading_accepts_bytes_and_lowercase_names():
    text = calendar(NEW_YORK, "America/New_York").replace("BEGIN:VTIMEZONE", "begin:vtimezone")
    read = events.parse_for_reading(text.encode())
    assert read.walk("VTIMEZONE") == []
    assert events.zone_name(read.walk("VEVENT")[0]["DTSTART"].dt) == "America/New_York"


def test_reading_with_invalid_text_raises_the_typed_error():
    with pytest.raises(events.UnexpectedPayload):
        events.parse_for_reading(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n")
