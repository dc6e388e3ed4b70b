"""The fast iCalendar reader gives exactly the items icalendar gives, or refuses.

Differential: every calendar text the repo holds and generated events go through both
`CalDAVProvider.items_of` paths (ical_reader, and icalendar via `events.parse_for_reading`) and
must give the same RemoteItems, compared strictly (types and tzinfo, not just equality).
"""

from __future__ import annotations

import ast
import datetime as dt
import pathlib
from types import SimpleNamespace
from typing import Any

import icalendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from benchmarks.sync_engine import ZONES, event_ics
from integrations.providers import events, ical_reader
from integrations.providers.caldav import CALDAV, CalDAVProvider
from tests.integrations.calendar.test_events_reading import CUSTOM, NEW_YORK, calendar
from tests.sync.test_e2e_caldav import ics
from tests.sync.test_floating import floating_ics

ROOT = pathlib.Path(__file__).resolve().parents[3]
URL, ETAG, CALENDAR = (
    "https://dav.example.com/cal/x.ics",
    '"etag-1"',
    "https://dav.example.com/cal/",
)


def provider() -> CalDAVProvider:
    found = CalDAVProvider(SimpleNamespace(field_mapping={"sync_todos": True}))
    found.unsyncable = {}
    return found


def strict(value: Any) -> Any:
    """`value` with every instant as (type, repr): aware datetimes compare equal across zones."""
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict(v) for v in value]
    if isinstance(value, dt.date):
        return (type(value).__name__, repr(value))
    return value


def outcome(read: Any) -> Any:
    """(items, unsyncable) of one path, strictly, or the exception it raised."""
    reader = provider()
    try:
        items = read(reader)
    except Exception as exc:
        return ("raised", type(exc).__name__)
    return strict([vars(item) for item in items]), reader.unsyncable


def fast(text: str | bytes) -> Any:
    return outcome(lambda p: p.items_of(URL, text, ETAG, CALENDAR))


def icalendar_path(text: str | bytes) -> Any:
    return outcome(lambda p: p.items_in(events.parse_for_reading(text), URL, ETAG, CALENDAR))


def assert_same(text: str | bytes) -> None:
    assert fast(text) == icalendar_path(text)


# --- every calendar text in the repo ---------------------------------------------------
SOURCES = [
    "tests/integrations/calendar/test_updates_keep_unmodeled.py",
    "tests/integrations/calendar/test_caldav_engine_e2e.py",
    "tests/integrations/calendar/test_caldav_provider.py",
    "tests/integrations/calendar/test_events_reading.py",
]
RECORDED = ["tests/fixtures/icloud/icloud_calendar-data_multiget.xml"]


def literal_calendars() -> list[str]:
    """The complete calendars written as string literals in the test modules."""
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse((ROOT / path).read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
                text = node.value if isinstance(node.value, str) else node.value.decode()
                if "BEGIN:VCALENDAR" in text and "END:VCALENDAR" in text:
                    found.append(text)
    return found


def recorded_calendars() -> list[str]:
    found = []
    for path in RECORDED:
        tree = etree.parse(str(ROOT / path))
        found += [e.text for e in tree.iter(f"{{{CALDAV}}}calendar-data") if e.text]
    return found


def with_vtimezone(text: str, zone: str) -> str:
    """The event as Radicale serves it: with its VTIMEZONE, LF line ends (from the XML)."""
    block = icalendar.Timezone.from_tzid(zone).to_ical().decode()
    return text.replace("BEGIN:VEVENT", block + "BEGIN:VEVENT", 1).replace("\r\n", "\n")


def generated_calendars() -> list[str]:
    texts = [calendar(NEW_YORK, "America/New_York"), calendar(CUSTOM, "Office Time")]
    texts += [calendar("", "Europe/Paris"), ics("u-1", "Weekly, with; commas", 12)]
    texts += [floating_ics("f-1", "Floating", dt.datetime(2026, 3, 10, 9))]
    bench = [event_ics(f"bench-{i:05d}", i, f"Event {i}") for i in range(2 * len(ZONES))]
    texts += bench
    texts += [with_vtimezone(t, ZONES[i % len(ZONES)]) for i, t in enumerate(bench)]
    return texts


REPO_TEXTS = literal_calendars() + recorded_calendars() + generated_calendars()


def test_the_repo_holds_calendars_to_compare() -> None:
    assert len(literal_calendars()) >= 5
    assert len(recorded_calendars()) >= 1


@pytest.mark.parametrize("text", REPO_TEXTS, ids=range(len(REPO_TEXTS)))
def test_both_paths_read_the_repos_calendars_alike(text: str) -> None:
    assert_same(text)
    assert_same(text.replace("\r\n", "\n"))
    assert_same(text.encode())


def test_the_fast_path_reads_the_repos_common_calendars() -> None:
    refused = [t for t in REPO_TEXTS if ical_reader.read(t) is None]
    # Only what needs its VTIMEZONE (a custom zone) or holds no item goes to icalendar.
    assert all("Office Time" in t or "BEGIN:VEVENT" not in t for t in refused), refused


# --- generated events --------------------------------------------------------------------
GENERATED_ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC", "Etc/UTC"]
RULES = [
    "FREQ=WEEKLY;COUNT=12",
    "FREQ=DAILY;INTERVAL=2;UNTIL=20301231T000000Z",
    "FREQ=MONTHLY;BYDAY=2TU",
    "FREQ=YEARLY",
    "FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=1",
    "FREQ=MONTHLY;INTERVAL=3;COUNT=4",
]
TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), include_characters='\n,;:\\"éü😀'),
    max_size=40,
)


def escape(text: str, upper_n: bool) -> str:
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\n", "\\N" if upper_n else "\\n")


def fold(line: str, width: int, tab: bool) -> str:
    parts = [line[i : i + width] for i in range(0, len(line), width)]
    return ("\r\n\t" if tab else "\r\n ").join(parts)


@st.composite
def instants(draw: Any, kind: str, zone: str) -> tuple[str, str]:
    """(parameters, value) of a DATE or DATE-TIME of the given kind."""
    day = draw(st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)))
    if kind == "date":
        return draw(st.sampled_from([";VALUE=DATE", ""])), day.strftime("%Y%m%d")
    moment = dt.datetime.combine(day, draw(st.times()).replace(microsecond=0))
    value = moment.strftime("%Y%m%dT%H%M%S")
    if kind == "utc":
        return "", value + "Z"
    if kind == "floating":
        return "", value
    quoted = draw(st.booleans())
    return (f';TZID="{zone}"' if quoted else f";TZID={zone}"), value


@st.composite
def vevents(draw: Any, uid: str, kind: str, zone: str, master: bool) -> list[str]:
    start_params, start = draw(instants(kind, zone))
    lines = [f"UID:{uid}", "DTSTAMP:20260101T000000Z", f"DTSTART{start_params}:{start}"]
    end = draw(st.sampled_from(["dtend", "duration", "none"]))
    if end == "dtend":
        end_params, value = draw(instants(kind, zone))
        lines.append(f"DTEND{end_params}:{value}")
    elif end == "duration":
        weeks, days, hours, minutes = draw(st.tuples(*[st.integers(0, 3)] * 4))
        if not (weeks or days or hours or minutes):
            days = 1
        lines.append(f"DURATION:P{weeks}W" if weeks else f"DURATION:P{days}DT{hours}H{minutes}M")
    if master and draw(st.booleans()):
        lines.append(f"RRULE:{draw(st.sampled_from(RULES))}")
        for _ in range(draw(st.integers(0, 2))):
            found = [draw(instants(kind, zone)) for _ in range(draw(st.integers(1, 3)))]
            lines.append(f"EXDATE{found[0][0]}:{','.join(v for _, v in found)}")
    if not master:
        rid_params, rid = draw(instants(kind, zone))
        lines.append(f"RECURRENCE-ID{rid_params}:{rid}")
    upper_n = draw(st.booleans())
    for name in ("SUMMARY", "DESCRIPTION", "LOCATION"):
        text = draw(st.one_of(st.none(), TEXT))
        if text is not None:
            params = draw(st.sampled_from(["", ";LANGUAGE=de", ';ALTREP="cid:a;b:c"']))
            lines.append(f"{name}{params}:{escape(text, upper_n)}")
    status = draw(st.sampled_from([None, "CONFIRMED", "TENTATIVE", "CANCELLED", "cancelled"]))
    if status:
        lines.append(f"STATUS:{status}")
    if draw(st.booleans()):
        lines.append("LAST-MODIFIED:20260102T030405Z")
    if draw(st.booleans()):
        lines += ['X-APPLE-TRAVEL-ADVISORY-BEHAVIOR;X-P="a:b;c":AUTOMATIC']
        lines += ['ATTENDEE;CN="Doe, John";PARTSTAT=ACCEPTED:mailto:john@example.com']
    if draw(st.booleans()):
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Soon", "TRIGGER:-PT15M"]
        lines += ["END:VALARM"]
    return ["BEGIN:VEVENT", *lines, "END:VEVENT"]


@st.composite
def vtodos(draw: Any) -> list[str]:
    lines = ["BEGIN:VTODO", "UID:task-1@dayflow", "DTSTAMP:20260101T000000Z"]
    lines.append(f"SUMMARY:{escape(draw(TEXT), False)}")
    if draw(st.booleans()):
        params, value = draw(instants(draw(st.sampled_from(["date", "utc", "floating"])), ""))
        lines.append(f"DUE{params}:{value}")
    if draw(st.booleans()):
        lines.append(f"PRIORITY:{draw(st.integers(0, 9))}")
    lines.append(f"STATUS:{draw(st.sampled_from(['NEEDS-ACTION', 'COMPLETED', 'IN-PROCESS']))}")
    if draw(st.booleans()):
        lines.append("COMPLETED:20260105T101010Z")
    if draw(st.booleans()):
        lines.append("URL:https://example.com/a?b=c%3Ad")
    return [*lines, "END:VTODO"]


@st.composite
def calendars(draw: Any) -> str:
    kind = draw(st.sampled_from(["date", "utc", "floating", "zoned"]))
    zone = draw(st.sampled_from(GENERATED_ZONES))
    uid = draw(st.sampled_from(["series-1@dayflow", "other-client-1", "a\\,b"]))
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//gen//EN", "X-WR-CALNAME:Work"]
    if kind == "zoned" and draw(st.booleans()):
        lines += icalendar.Timezone.from_tzid(zone).to_ical().decode().splitlines()
    lines += draw(vevents(uid, kind, zone, master=True))
    for _ in range(draw(st.integers(0, 2))):
        lines += draw(vevents(uid, kind, zone, master=False))
    if draw(st.booleans()):
        lines += draw(vtodos())
    lines.append("END:VCALENDAR")
    width, tab = draw(st.integers(20, 75)), draw(st.booleans())
    text = "".join(fold(line, width, tab) + "\r\n" for line in lines)
    return text if draw(st.booleans()) else text.replace("\r\n", "\n")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendars())
def test_both_paths_read_generated_calendars_alike(text: str) -> None:
    assert ical_reader.read(text) is not None, "the fast reader should read this one"
    assert_same(text)


# --- hand-picked corners ---------------------------------------------------------------
def event(*lines: str) -> str:
    body = "\r\n".join(["UID:u1", "DTSTAMP:20260101T000000Z", *lines])
    return (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n{body}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


BERLIN = "DTSTART;TZID=Europe/Berlin:20260302T100000"
CORNERS = {
    "lowercase names": event("dtstart;tzid=Europe/Berlin:20260302T100000", "summary:x"),
    "TZID=UTC": event("DTSTART;TZID=UTC:20260302T100000", "DTEND:20260302T110000Z"),
    "TZID=Etc/UTC": event("DTSTART;TZID=Etc/UTC:20260302T100000", "DURATION:PT90M"),
    "a zone link": event("DTSTART;TZID=US/Eastern:20260302T100000"),
    "a time in the DST gap": event("DTSTART;TZID=Europe/Berlin:20260329T023000"),
    "an ambiguous time": event("DTSTART;TZID=Europe/Berlin:20261025T023000"),
    "an end in another zone": event(BERLIN, "DTEND;TZID=Asia/Tokyo:20260303T030000"),
    "a date start, date-time end": event("DTSTART:20260302", "DTEND:20260303T100000Z"),
    "an end before the start": event(BERLIN, "DTEND;TZID=Europe/Berlin:20260301T100000"),
    "a negative duration": event(BERLIN, "DURATION:-PT1H"),
    "weeks and days": event(BERLIN, "DURATION:P1W2DT3H"),
    "a lowercase rule": event(BERLIN, "RRULE:freq=weekly;count=3"),
    "a rule until a date": event("DTSTART:20260302", "RRULE:FREQ=DAILY;UNTIL=20260310"),
    "a rule with INTERVAL=1": event(BERLIN, "RRULE:FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=2"),
    "a yearly rule by week": event(BERLIN, "RRULE:FREQ=YEARLY;BYWEEKNO=10;BYDAY=MO"),
    "date exdates of a timed series": event(BERLIN, "RRULE:FREQ=DAILY", "EXDATE:20260303"),
    "utc exdates of a zoned series": event(
        BERLIN, "RRULE:FREQ=DAILY", "EXDATE:20260303T090000Z,20260304T090000Z"
    ),
    "repeated exdates": event(
        BERLIN,
        "RRULE:FREQ=DAILY",
        "EXDATE;TZID=Europe/Berlin:20260303T100000",
        "EXDATE;TZID=Europe/Berlin:20260303T100000,20260305T100000",
    ),
    "an unknown escape and a trailing backslash": event(BERLIN, "SUMMARY:a\\tb\\x\\"),
    "escaped colons and backslashes": event(BERLIN, "SUMMARY:a\\:b\\\\\\nc"),
    "an unknown status": event(BERLIN, "STATUS:DRAFT"),
    "an empty summary": event(BERLIN, "SUMMARY:"),
    "a date last-modified": event(BERLIN, "LAST-MODIFIED;VALUE=DATE:20260101"),
    "a floating dtstamp": event(BERLIN).replace("20260101T000000Z", "20260101T000000"),
    "a folded escape": event(BERLIN, "SUMMARY:a\\\r\n ,b\\\r\n\t;c"),
    "a tab in a value": event(BERLIN, "SUMMARY:a\tb"),
    "control characters in a value": event(BERLIN, "SUMMARY:a\x01b\x7fc"),
    "digits of another script": event("DTSTART:٢٠٢٦٠٣٠٢T100000"),
    "an RDATE series": event(BERLIN, "RRULE:FREQ=DAILY", "RDATE:20260310T090000Z", "SUMMARY:R"),
    "an RDATE series with an exception": event(BERLIN, "RDATE:20260310T090000Z").replace(
        "END:VCALENDAR",
        "BEGIN:VEVENT\r\nUID:u1\r\nRECURRENCE-ID;TZID=Europe/Berlin:20260303T100000\r\n"
        f"{BERLIN}\r\nSUMMARY:Moved\r\nEND:VEVENT\r\nEND:VCALENDAR",
    ),
    "a journal and a free-busy": event(BERLIN).replace(
        "END:VCALENDAR", "BEGIN:VJOURNAL\r\nUID:j\r\nEND:VJOURNAL\r\nEND:VCALENDAR"
    ),
    "a todo with a date due and priority": event(BERLIN).replace(
        "END:VCALENDAR",
        "BEGIN:VTODO\r\nUID:t@dayflow\r\nDUE;VALUE=DATE:20260310\r\nPRIORITY:1\r\n"
        "STATUS:needs-action\r\nEND:VTODO\r\nEND:VCALENDAR",
    ),
    "only a todo": event(BERLIN).replace("VEVENT", "VTODO").replace(BERLIN, "DUE:20260310T100000Z"),
}


@pytest.mark.parametrize("text", CORNERS.values(), ids=CORNERS.keys())
def test_both_paths_read_the_corners_alike(text: str) -> None:
    assert_same(text)
    assert_same(text.replace("\r\n", "\n"))


# --- what the fast reader refuses ---------------------------------------------------------
def one_event(*lines: str, around: tuple[str, str] = ("", "")) -> str:
    body = "\r\n".join(["UID:u1", "DTSTAMP:20260101T000000Z", *lines])
    return (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{around[0]}BEGIN:VEVENT\r\n{body}\r\n"
        f"END:VEVENT\r\n{around[1]}END:VCALENDAR\r\n"
    )


START = "DTSTART;TZID=Europe/Berlin:20260302T100000"
REFUSED = {
    "a zone only its VTIMEZONE defines": calendar(CUSTOM, "Office Time"),
    "a TZID no database knows": one_event("DTSTART;TZID=Mars/Olympus:20260302T100000"),
    "a Windows zone name": one_event("DTSTART;TZID=W. Europe Standard Time:20260302T100000"),
    "TZID with a Z": one_event("DTSTART;TZID=Europe/Berlin:20260302T100000Z"),
    "VALUE=PERIOD": one_event(START, "RDATE;VALUE=PERIOD:20260310T090000Z/PT1H"),
    "an unknown VALUE type": one_event("DTSTART;VALUE=TIME:100000"),
    "a lowercase VALUE": one_event("DTSTART;value=date:20260302"),
    "RANGE=THISANDFUTURE": one_event(
        START, "RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20260309T100000"
    ),
    "a malformed line": one_event(START, "SUMMARY without a colon"),
    "a name with a space": one_event(START, "SUM MARY:x"),
    "a duplicated DTSTART": one_event(START, START),
    "two SUMMARY lines": one_event(START, "SUMMARY:a", "SUMMARY:b"),
    "a date with a time zone": one_event("DTSTART;VALUE=DATE;TZID=Europe/Berlin:20260302"),
    "an impossible date": one_event("DTSTART:20260230T100000"),
    "an empty DURATION": one_event(START, "DURATION:PT"),
    "a DURATION of another type": one_event(START, "DURATION;VALUE=TEXT:PT1H"),
    "an RRULE with parameters": one_event(START, "RRULE;X-A=1:FREQ=DAILY"),
    "a broken RRULE": one_event(START, "RRULE:FREQ=SOMETIMES"),
    "a text with a value type": one_event(START, "SUMMARY;VALUE=BINARY:eA=="),
    "a priority that is not a number": one_event(START, around=("", "")).replace(
        "BEGIN:VEVENT", "BEGIN:VTODO\r\nUID:t\r\nPRIORITY:high\r\nEND:VTODO\r\nBEGIN:VEVENT"
    ),
    "no DTSTART": one_event("SUMMARY:x"),
    "an empty RDATE": one_event(START, "RDATE:"),
    "a blank line": one_event(START).replace("VERSION:2.0\r\n", "VERSION:2.0\r\n\r\n"),
    "a bare CR": one_event(START, "SUMMARY:a\rb"),
    "two calendars": one_event(START) + one_event(START),
    "a nested VEVENT": one_event(START, "BEGIN:VEVENT", "END:VEVENT"),
    "an END without BEGIN": one_event(START, "END:VALARM"),
    "an unterminated calendar": one_event(START).removesuffix("END:VCALENDAR\r\n"),
    "a parameter with several values": one_event(
        'DTSTART;TZID="Europe/Berlin","Europe/Paris":20260302T100000'
    ),
    "a property outside the calendar": "X-COMMENT:hello\r\n" + one_event(START),
    "a lowercase component": one_event(START).replace("BEGIN:VEVENT", "BEGIN:vevent"),
}


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
def test_what_the_fast_reader_does_not_understand_goes_to_icalendar(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a resource with something the fast reader does not handle
    assert ical_reader.read(text) is None
    # when the provider reads it, then icalendar does, with today's result
    calls = []
    parse = events.parse_for_reading
    monkeypatch.setattr(
        events, "parse_for_reading", lambda data, **kw: calls.append(1) or parse(data, **kw)
    )
    assert fast(text) == icalendar_path(text)
    assert calls


def test_bytes_that_are_not_utf8_go_to_icalendar() -> None:
    text = one_event(START, "SUMMARY:caf\xe9").encode("latin-1")
    assert ical_reader.read(text) is None
    assert_same(text)


def test_a_vtimezone_of_an_iana_zone_is_skipped_and_a_custom_one_refused() -> None:
    assert ical_reader.read(calendar(NEW_YORK, "America/New_York")) is not None
    assert ical_reader.read(calendar(CUSTOM, "Office Time")) is None


# --- series versions ---------------------------------------------------------------------
def series(exception_title: str, stamp: str = "20260101T000000Z") -> str:
    master = ["UID:s1", f"DTSTAMP:{stamp}", START, "RRULE:FREQ=WEEKLY", "SUMMARY:Standup"]
    instance = ["UID:s1", f"DTSTAMP:{stamp}", "DTSTART;TZID=Europe/Berlin:20260309T110000"]
    instance += ["RECURRENCE-ID;TZID=Europe/Berlin:20260309T100000", f"SUMMARY:{exception_title}"]
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0"]
    for component in (master, instance):
        lines += ["BEGIN:VEVENT", *component, "END:VEVENT"]
    return "\r\n".join([*lines, "END:VCALENDAR", ""])


def versions(text: str, parse: bool = False) -> dict[str, str]:
    reader = provider()
    items = (
        reader.items_in(events.parse_for_reading(text), URL, ETAG, CALENDAR)
        if parse
        else reader.items_of(URL, text, ETAG, CALENDAR)
    )
    return {item.remote_id: item.version for item in items}


def test_an_edit_of_one_instance_leaves_its_siblings_version_alone() -> None:
    before, after = versions(series("Late")), versions(series("Later"))
    assert before[URL] == after[URL]
    exception = f"{URL}#2026-03-09T10:00:00+01:00"
    assert before[exception] != after[exception]


def test_a_dtstamp_rewrite_changes_no_version_and_both_paths_agree() -> None:
    text = series("Late")
    assert ical_reader.read(text) is not None
    assert versions(text) == versions(series("Late", stamp="20261111T111111Z"))
    assert versions(text) == versions(text, parse=True)
