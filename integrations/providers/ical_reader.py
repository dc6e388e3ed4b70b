"""A fast reader for the calendar object resources a CalDAV pull fetches.

icalendar's general parser was the largest CPU cost of a first sync: it builds a typed value for
every property of every component. This reader looks only at the properties DayFlow maps and
turns them into the values `events.event_fields` / `events.task_fields` take, the same ones the
icalendar path hands them. It refuses (`read` returns None) whatever it does not fully understand:
a zone that is not an IANA name, VALUE=PERIOD, RANGE, a malformed or duplicated line, bytes that
are not UTF-8... and the caller then reads the resource with icalendar, as before. Correctness
beats coverage: when in doubt, refuse.

Only for reading: the write paths parse with icalendar, so they write back what we do not model.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from integrations.providers import events
from integrations.providers.errors import ProviderError

LINE = re.compile(
    r'([A-Za-z0-9-]+)((?:;[A-Za-z0-9-]+=(?:"[^"\x00-\x1f]*"|[^";:,\x00-\x1f]*)'
    r'(?:,(?:"[^"\x00-\x1f]*"|[^";:,\x00-\x1f]*))*)*):(.*)',
    re.S,
)
PARAM = re.compile(r';([A-Za-z0-9-]+)=((?:"[^"]*"|[^";:]*))')
DATE = re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII)
DATE_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)", re.ASCII)
DURATION = re.compile(
    r"([-+]?)P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", re.ASCII
)
INTEGER = re.compile(r"-?\d+", re.ASCII)
TOKEN = re.compile(r"[A-Z0-9-]+")
TZID_LINE = re.compile(r"\nTZID:([^\n]*)")
# icalendar unescapes every value in one pass (`icalendar.parser.property.unescape_backslash`).
ESCAPE = re.compile(r"\\([\\,;:nN])")
UTC = ZoneInfo("UTC")  # what icalendar gives a "Z" value

MAPPED = frozenset(
    {"DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "RRULE", "EXDATE", "RDATE", "DTSTAMP"}
    | {"LAST-MODIFIED", "UID", "SUMMARY", "DESCRIPTION", "LOCATION", "STATUS"}
    | {"DUE", "COMPLETED", "PRIORITY", "URL"}  # VTODO
)
ITEM_COMPONENTS = ("VEVENT", "VTODO")


class CannotRead(Exception):
    """Something this reader does not handle: read the resource with icalendar instead."""


@dataclasses.dataclass
class Component:
    """A VEVENT or VTODO: its mapped properties as (parameters, raw value) lines."""

    name: str
    lines: dict[str, list[tuple[dict[str, str], str]]] = dataclasses.field(default_factory=dict)

    def one(self, name: str) -> tuple[dict[str, str], str] | None:
        found = self.lines.get(name)
        if found and len(found) > 1:
            raise CannotRead(f"{name} more than once")
        return found[0] if found else None

    def text(self, name: str) -> str:
        line = self.one(name)
        if line is None:
            return ""
        params, value = line
        if "VALUE" in params:
            raise CannotRead(f"{name} with a value type")
        return ESCAPE.sub(_unescaped, value)

    def instant(self, name: str) -> events.Instant | None:
        line = self.one(name)
        return _instant(*line) if line is not None else None

    def instants(self, name: str) -> list[events.Instant]:
        return [
            _instant(params, value)
            for params, values in self.lines.get(name, [])
            for value in values.split(",")
        ]


@dataclasses.dataclass
class Item:
    """One VEVENT or VTODO as `caldav` maps it, whichever reader read it."""

    name: str
    uid: str
    summary: str
    recurrence: bool  # has a RECURRENCE-ID
    rdate: bool
    updated_at: dt.datetime | None
    fields: Callable[[], dict[str, Any]]  # fresh normalized fields on every call


@dataclasses.dataclass
class Read:
    """What a calendar object resource holds, as the icalendar path would see it."""

    events: list[Component]
    todos: list[Component]
    calendars: int = 0


def read(data: str | bytes, *, service: str = "") -> tuple[list[Item], list[Item]] | None:
    """The VEVENTs and VTODOs of one resource of `service` (the connection's key), or None
    when icalendar must read it."""
    try:
        found = _read(data)
        return [_event(c, service) for c in found.events], [_task(c) for c in found.todos]
    except (CannotRead, ValueError, OverflowError, ProviderError):
        return None


def _event(component: Component, service: str) -> Item:
    fields = events.event_fields(event_properties(component), service=service)
    return _item(component, has_rdate(component), fields)


def _task(component: Component) -> Item:
    return _item(component, False, events.task_fields(task_properties(component)))


def _item(component: Component, rdate: bool, fields: dict[str, Any]) -> Item:
    return Item(
        component.name,
        component.text("UID"),
        component.text("SUMMARY"),
        component.one("RECURRENCE-ID") is not None,
        rdate,
        updated_at(component),
        lambda: dict(fields),
    )


def _read(data: str | bytes) -> Read:
    text = data.decode() if isinstance(data, bytes) else data
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            raise CannotRead("a bare CR")
        text = text.replace("\r\n", "\n")
    # icalendar also unfolds across blank lines; one blank line anywhere and we refuse.
    if "\n\n" in text or text.startswith(("\n", " ", "\t")):
        raise CannotRead("a blank line")
    text = text.replace("\n ", "").replace("\n\t", "")
    text = _without_known_zones(text)
    found = Read([], [])
    stack: list[str] = []
    current: Component | None = None
    for line in text.rstrip("\n").split("\n"):
        match = LINE.fullmatch(line)
        if match is None:
            raise CannotRead("a malformed line")
        name, params, value = match.groups()
        name = name.upper()
        if name == "BEGIN":
            current = _begin(stack, params, value, found, current)
        elif name == "END":
            current = _end(stack, params, value, current)
        elif not stack:
            raise CannotRead("a property outside the calendar")
        elif current is not None and len(stack) == 2 and name in MAPPED:
            current.lines.setdefault(name, []).append((_params(params), value))
    if stack:
        raise CannotRead("an unterminated component")
    return found


def _without_known_zones(text: str) -> str:
    """The text without the VTIMEZONEs of IANA zones, as `events.parse_for_reading` reads it
    (by their first TZID line); any other VTIMEZONE is left for `_begin` to refuse."""
    while (start := text.find("\nBEGIN:VTIMEZONE\n")) != -1:
        end = text.find("\nEND:VTIMEZONE\n", start)
        tzid = TZID_LINE.search(text, start, end)
        if end == -1 or tzid is None or tzid.group(1) not in events._iana_zones():
            raise CannotRead("a time zone only its VTIMEZONE defines")
        text = text[:start] + text[end + len("\nEND:VTIMEZONE") :]
    return text


def _begin(
    stack: list[str], params: str, value: str, found: Read, current: Component | None
) -> Component | None:
    if params or not TOKEN.fullmatch(value):
        raise CannotRead("an unusual BEGIN line")
    depth = len(stack)
    if (depth == 0) != (value == "VCALENDAR") or (depth == 0 and found.calendars):
        raise CannotRead("not one VCALENDAR")
    found.calendars += depth == 0
    if value == "VTIMEZONE":
        raise CannotRead("a time zone only its VTIMEZONE defines")
    if value in ITEM_COMPONENTS and depth != 1:
        raise CannotRead(f"a nested {value}")
    stack.append(value)
    if value in ITEM_COMPONENTS:
        current = Component(value)
        (found.events if value == "VEVENT" else found.todos).append(current)
    return current


def _end(stack: list[str], params: str, value: str, current: Component | None) -> Component | None:
    if params or not stack or stack[-1] != value:
        raise CannotRead("an END without its BEGIN")
    stack.pop()
    return None if value in ITEM_COMPONENTS else current


def _params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    if not text:
        return params
    matches = list(PARAM.finditer(text))
    if sum(len(m.group(0)) for m in matches) != len(text):
        raise CannotRead("a parameter with several values")
    for match in matches:
        key, value = match.group(1).upper(), match.group(2)
        if key in params or "," in value:
            raise CannotRead(f"parameter {key} twice or with several values")
        params[key] = value[1:-1] if value.startswith('"') else value
    return params


def _unescaped(match: re.Match[str]) -> str:
    return "\n" if match.group(1) in "nN" else match.group(1)


def _instant(params: dict[str, str], value: str) -> events.Instant:
    """A DATE or DATE-TIME value as icalendar reads it (tzinfo a `ZoneInfo`, UTC included)."""
    kind = params.get("VALUE", "")
    tzid = params.get("TZID")
    if kind not in ("", "DATE", "DATE-TIME") or "RANGE" in params:
        raise CannotRead("a value type or range we do not read")
    if kind != "DATE-TIME" and tzid is None and (date := DATE.fullmatch(value)):
        return dt.date(*map(int, date.groups()))
    moment = DATE_TIME.fullmatch(value) if kind != "DATE" else None
    if moment is None:
        raise CannotRead("an unusual date")
    *parts, utc = moment.groups()
    if tzid is not None and (utc or tzid not in events._iana_zones()):
        raise CannotRead("a zone we do not know")
    tzinfo = UTC if utc else _zone(tzid) if tzid is not None else None
    return dt.datetime(*map(int, parts), tzinfo=tzinfo)


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def duration(component: Component) -> dt.timedelta | None:
    line = component.one("DURATION")
    if line is None:
        return None
    params, value = line
    match = DURATION.fullmatch(value)
    if params.get("VALUE", "DURATION") != "DURATION" or match is None:
        raise CannotRead("an unusual DURATION")
    sign, *parts = match.groups()
    if not any(parts):
        raise CannotRead("an empty DURATION")
    weeks, days, hours, minutes, seconds = (int(p or 0) for p in parts)
    value_td = dt.timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    return -value_td if sign == "-" else value_td


def rrule(component: Component) -> str:
    """The RRULE as icalendar writes it back (`vRecur.to_ical`), which `events` then reads."""
    line = component.one("RRULE")
    if line is None:
        return ""
    params, value = line
    if params or "\\" in value:
        raise CannotRead("an unusual RRULE")
    return _recur_text(value)


@functools.lru_cache(maxsize=512)
def _recur_text(value: str) -> str:
    return icalendar.vRecur.from_ical(value).to_ical().decode()


def has_rdate(component: Component) -> bool:
    lines = component.lines.get("RDATE", [])
    if any(not value for _, value in lines):
        raise CannotRead("an empty RDATE")  # icalendar drops it
    return bool(component.instants("RDATE"))


def event_properties(component: Component) -> dict[str, Any]:
    """The values `events.event_fields` takes, read from the content lines."""
    return {
        "DTSTART": component.instant("DTSTART"),
        "DTEND": component.instant("DTEND"),
        "DURATION": duration(component),
        "SUMMARY": component.text("SUMMARY"),
        "DESCRIPTION": component.text("DESCRIPTION"),
        "LOCATION": component.text("LOCATION"),
        "STATUS": component.text("STATUS"),
        "RRULE": rrule(component),
        "EXDATE": component.instants("EXDATE"),
        "RECURRENCE-ID": component.instant("RECURRENCE-ID"),
    }


def task_properties(component: Component) -> dict[str, Any]:
    """The values `events.task_fields` takes, read from the content lines."""
    priority = component.one("PRIORITY")
    if priority is not None and (priority[0] or not INTEGER.fullmatch(priority[1])):
        raise CannotRead("an unusual PRIORITY")
    return {
        "SUMMARY": component.text("SUMMARY"),
        "DESCRIPTION": component.text("DESCRIPTION"),
        "STATUS": component.text("STATUS"),
        "DUE": component.instant("DUE"),
        "PRIORITY": int(priority[1]) if priority is not None else 0,
        "COMPLETED": component.instant("COMPLETED"),
        "URL": component.text("URL"),
    }


def updated_at(component: Component) -> dt.datetime | None:
    """LAST-MODIFIED, else DTSTAMP, when it is a date-time (as `caldav._last_modified`)."""
    name = "LAST-MODIFIED" if "LAST-MODIFIED" in component.lines else "DTSTAMP"
    value = component.instant(name)
    return value if isinstance(value, dt.datetime) else None
