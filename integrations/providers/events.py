"""The event model shared by the calendar providers: time zones, all-day, recurrence.

Normalized events (see `base.EVENT_FIELDS`) keep a series as *a master plus exceptions*:
the master carries `rrule` (an RFC 5545 RRULE value, canonical key order, no "RRULE:") and
`exdates`; an overridden instance is its own item with `series_remote_id` and
`recurrence_id`. Instants are written in one canonical ISO form (`iso`) so exception dates
compare as strings across providers:

- timed, zoned: an aware datetime in the event's own IANA zone (`2026-03-30T09:00:00+02:00`);
- floating: a naive datetime, timezone "" (`2026-03-30T09:00:00`);
- all-day: a date (`2026-03-30`); `end` is exclusive as in iCalendar.

This module holds what more than one provider needs: the iCalendar side (VEVENT/VTODO with
VTIMEZONE, used by CalDAV and by Google's recurrence lines) and Graph's patternedRecurrence.
Being shared, it does not know whose data it reads: the readers take `service`, the
connection's key (`apple-calendar`, `outlook`, ...), and their errors name it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
from django.conf import settings

from integrations.providers.errors import Permanent, UnexpectedPayload

PRODID = "-//DayFlow//Integrations//EN"
STATUSES = ("confirmed", "tentative", "cancelled")
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "GMT", "Z"})

Instant = dt.date | dt.datetime


class UnsupportedRecurrence(Permanent):
    """A recurrence rule the other side cannot express; the item is left unsynced."""


# --- instants and zones --------------------------------------------------------------
def zone(name: str) -> dt.tzinfo:
    """The tzinfo of an IANA name; UTC for the UTC aliases."""
    if name in UTC_NAMES:
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Permanent(f"unknown time zone {name!r}") from exc


def zone_name(value: Instant) -> str:
    """The IANA name of a value's zone: "" for dates and floating times."""
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        return ""
    key = getattr(value.tzinfo, "key", None)
    if key:
        return "UTC" if key in UTC_NAMES else key
    if value.utcoffset() == dt.timedelta(0):
        return "UTC"
    raise Permanent(f"time zone without an IANA name: {value.tzinfo!r}")


def in_zone(value: Instant, tzname: str) -> Instant:
    """`value` moved into the event's zone (aware values only)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None and tzname:
        return value.astimezone(zone(tzname))
    return value


def iso(value: Instant, tzname: str = "") -> str:
    """The canonical ISO form of an instant (see the module docstring)."""
    value = in_zone(value, tzname)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value.isoformat()


def parse_iso(text: str, tzname: str = "") -> Instant:
    """The inverse of `iso`: a date, a naive datetime or an aware one in `tzname`."""
    if "T" not in text:
        return dt.date.fromisoformat(text)
    return in_zone(dt.datetime.fromisoformat(text), tzname)


def _as_written(value: Any, all_day: bool, tzname: str) -> Any:
    if all_day:
        return value.date() if isinstance(value, dt.datetime) else value
    if not isinstance(value, dt.datetime):
        return value
    if tzname:
        return (
            value.astimezone(zone(tzname)) if value.tzinfo else value.replace(tzinfo=zone(tzname))
        )
    if value.tzinfo is not None:
        # Floating time that went through an aware store (Django with USE_TZ keeps it in the
        # default zone): its wall clock there is the floating time.
        return value.astimezone(zone(settings.TIME_ZONE)).replace(tzinfo=None)
    return value


def for_writing(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields as the engine hands them (instants in UTC, from JSON) moved into the event's own
    zone, so the service stores the zone and a series keeps its wall-clock time across DST."""
    if "start" not in fields:
        return fields
    all_day, tzname = bool(fields.get("all_day")), fields.get("timezone") or ""
    moved = {k: _as_written(fields.get(k), all_day, tzname) for k in ("start", "end")}
    return {**fields, **moved, "rrule": explicit_rrule(fields.get("rrule") or "", moved["start"])}


def for_creating(fields: dict[str, Any]) -> dict[str, Any]:
    """`for_writing`, refusing an overridden instance whose series is not known yet: written
    alone it would become a stray event (the next sync retries, once the master is linked)."""
    if fields.get("recurrence_id") and not fields.get("series_remote_id"):
        raise Permanent("an overridden instance cannot be created before its series")
    return for_writing(fields)


def canonical_rrule(rule: str) -> str:
    """An RRULE value with its parts in RFC 5545's canonical order, so rules compare."""
    rule = rule.strip().removeprefix("RRULE:")
    if not rule:
        return ""
    recur = icalendar.vRecur.from_ical(rule)
    if recur.get("INTERVAL") in ([1], 1):  # the default (RFC 5545 §3.3.10): one spelling only
        del recur["INTERVAL"]
    return recur.to_ical().decode()


ICAL_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def explicit_rrule(rule: str, start: Instant | None) -> str:
    """The rule with the parts it takes from DTSTART written out (RFC 5545 §3.3.10: a weekly
    rule without BYDAY repeats on the start's weekday, and so on), in canonical form.

    Services differ here (Graph always names the days, iCalendar need not), so every mapping
    reads rules into this one form and a round trip compares equal.
    """
    if start is None:
        return canonical_rrule(rule)
    return _explicit_rrule(rule, start.weekday(), start.day, start.month)


# Cached: a calendar's series share a handful of rules, and each parse here is a vRecur one.
@functools.lru_cache(maxsize=1024)
def _explicit_rrule(rule: str, weekday: int, day: int, month: int) -> str:
    rule = canonical_rrule(rule)
    if not rule:
        return rule
    recur = icalendar.vRecur.from_ical(rule)
    freq = (recur.get("FREQ") or [""])[0]
    has = {key for key in recur if recur.get(key)}
    if freq == "WEEKLY" and "BYDAY" not in has:
        recur["BYDAY"] = [ICAL_WEEKDAYS[weekday]]
    elif freq == "MONTHLY" and not has & {"BYDAY", "BYMONTHDAY"}:
        recur["BYMONTHDAY"] = [day]
    elif freq == "YEARLY" and not has & {"BYDAY", "BYMONTHDAY", "BYMONTH", "BYYEARDAY", "BYWEEKNO"}:
        recur["BYMONTH"] = [month]
        recur["BYMONTHDAY"] = [day]
    return canonical_rrule(recur.to_ical().decode())


# --- iCalendar: VEVENT <-> normalized fields -----------------------------------------
def _dt(component: icalendar.cal.Component, name: str) -> Instant | None:
    prop = component.get(name)
    return prop.dt if prop is not None else None


def _text(component: icalendar.cal.Component, name: str) -> str:
    value = component.get(name)
    return str(value) if value is not None else ""


def _exdates(component: icalendar.cal.Component, tzname: str) -> list[str]:
    return exdate_isos(_exdate_values(component), tzname)


def _exdate_values(component: icalendar.cal.Component) -> list[Instant]:
    props = component.get("EXDATE")
    if props is None:
        return []
    props = props if isinstance(props, list) else [props]
    return [d.dt for prop in props for d in prop.dts]


def exdate_isos(values: list[Instant], tzname: str) -> list[str]:
    return sorted({iso(value, tzname) for value in values})


def _end(props: dict[str, Any], start: Instant) -> Instant:
    end = props.get("DTEND")
    if end is not None:
        return end
    duration = props.get("DURATION")
    if isinstance(duration, dt.timedelta):
        return start + duration
    # RFC 5545 §3.6.1: no DTEND/DURATION lasts one day (date) or no time (date-time).
    return start + dt.timedelta(days=1) if not isinstance(start, dt.datetime) else start


def vevent_to_fields(component: icalendar.cal.Component, *, service: str = "") -> dict[str, Any]:
    """One VEVENT of `service` (the connection's key, named by errors) as normalized fields."""
    rrule = component.get("RRULE")
    props = {name: _dt(component, name) for name in ("DTSTART", "DTEND", "DURATION")}
    props |= {name: _text(component, name) for name in ("SUMMARY", "DESCRIPTION", "LOCATION")}
    return event_fields(
        props
        | {
            "STATUS": _text(component, "STATUS"),
            "RRULE": rrule.to_ical().decode() if rrule is not None else "",
            "EXDATE": _exdate_values(component),
            "RECURRENCE-ID": _dt(component, "RECURRENCE-ID"),
        },
        service=service,
    )


def event_fields(props: dict[str, Any], *, service: str = "") -> dict[str, Any]:
    """Normalized event fields from a VEVENT's values by property name: instants, DURATION a
    timedelta, texts unescaped, RRULE as `vRecur.to_ical` writes it, EXDATE a list of instants.
    Both readers of CalDAV resources (icalendar, `ical_reader`) go through here."""
    start = props.get("DTSTART")
    if start is None:
        raise UnexpectedPayload(service, "DTSTART", "missing")
    tzname = zone_name(start)
    status = props.get("STATUS", "").lower()
    recurrence_id = props.get("RECURRENCE-ID")
    rrule = props.get("RRULE", "")
    return {
        "title": props.get("SUMMARY", ""),
        "description": props.get("DESCRIPTION", ""),
        "location": props.get("LOCATION", ""),
        "status": status if status in STATUSES else "confirmed",
        "all_day": not isinstance(start, dt.datetime),
        "start": start,
        "end": in_zone(_end(props, start), tzname),
        "timezone": tzname,
        "rrule": explicit_rrule(rrule, start) if rrule else "",
        "exdates": exdate_isos(props.get("EXDATE") or [], tzname),
        "recurrence_id": iso(recurrence_id, tzname) if recurrence_id is not None else "",
        "series_remote_id": "",
    }


def fields_to_vevent(fields: dict[str, Any], uid: str) -> icalendar.Event:
    """Normalized event fields as one VEVENT (a master, a single event or an exception)."""
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", dt.datetime.now(dt.UTC).replace(microsecond=0))
    event.add("summary", fields.get("title", ""))
    for name, key in (("description", "description"), ("location", "location")):
        if fields.get(key):
            event.add(name, fields[key])
    event.add("status", (fields.get("status") or "confirmed").upper())
    event.add("dtstart", fields["start"])
    event.add("dtend", fields["end"])
    tzname = fields.get("timezone", "")
    if fields.get("rrule"):
        event.add("rrule", icalendar.vRecur.from_ical(canonical_rrule(fields["rrule"])))
    for exdate in fields.get("exdates") or []:
        event.add("exdate", parse_iso(exdate, tzname))
    if fields.get("recurrence_id"):
        event.add("recurrence-id", parse_iso(fields["recurrence_id"], tzname))
    return event


# The properties DayFlow's fields own; an update replaces these and keeps every other one.
EVENT_PROPERTIES = (
    "DTSTAMP",
    "SUMMARY",
    "DESCRIPTION",
    "LOCATION",
    "STATUS",
    "DTSTART",
    "DTEND",
    "DURATION",
    "RRULE",
    "EXDATE",
    "RECURRENCE-ID",
)
TASK_PROPERTIES = ("DTSTAMP", "SUMMARY", "DESCRIPTION", "DUE", "STATUS", "COMPLETED", "PRIORITY")
TASK_PROPERTIES += ("URL",)


def updated_component(
    existing: icalendar.cal.Component, fresh: icalendar.cal.Component
) -> icalendar.cal.Component:
    """`existing` with the properties DayFlow models taken from `fresh`, SEQUENCE bumped.

    Alarms, attendees, organizer, categories, class, transparency and X- properties (Apple's
    among them) are kept as they were: another client owns them. SEQUENCE goes up on every
    revision (RFC 5545 §3.8.7.4) so clients and invitees see the newer one.
    """
    owned = TASK_PROPERTIES if fresh.name == "VTODO" else EVENT_PROPERTIES
    if "RECURRENCE-ID" in fresh:  # an instance made from its master has no rule of its own
        owned = (*owned, "RDATE", "EXRULE")
    merged = type(existing).from_ical(existing.to_ical())
    for name in owned:
        merged.pop(name, None)
    for name, value in fresh.items():
        if name != "UID":
            merged[name] = value
    bump_sequence(merged)
    return merged


def bump_sequence(component: icalendar.cal.Component) -> None:
    """SEQUENCE one higher: a significant revision (RFC 5545 §3.8.7.4), an EXDATE among them."""
    sequence = int(component.pop("SEQUENCE", 0))
    component.add("sequence", sequence + 1)


def new_calendar() -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    return calendar


def serialize(calendar: icalendar.Calendar) -> bytes:
    """The calendar as text, with a VTIMEZONE for every zone it uses (RFC 5545 §3.6.5).

    `Calendar.add_missing_timezones()`, made once per zone: icalendar builds each VTIMEZONE
    from the zone's whole rule history (~18 ms a zone, most of the CPU of a CalDAV write).
    """
    position = len(calendar.timezones)
    for tzid in sorted(calendar.get_missing_tzids()):
        text = _vtimezone(tzid)
        if text is not None:  # a zone icalendar does not know is left out, as it does
            calendar.subcomponents.insert(position, icalendar.Timezone.from_ical(text))
            position += 1
    return calendar.to_ical()


@functools.lru_cache(maxsize=128)
def _vtimezone(tzid: str) -> bytes | None:
    try:
        return icalendar.Timezone.from_tzid(tzid).to_ical()
    except ValueError:
        return None


def parse_calendar(data: bytes | str, *, service: str = "") -> icalendar.Calendar:
    """A calendar `service` sent (the connection's key, named by errors)."""
    try:
        return icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise UnexpectedPayload(service, "VCALENDAR", str(exc)) from exc


# A VTIMEZONE is ended by its own END line; its TZID property precedes its sub-components.
VTIMEZONE_BLOCK = re.compile(
    r"^BEGIN:VTIMEZONE\r?\n.*?^END:VTIMEZONE(?:\r?\n|$)", re.M | re.S | re.I
)
TZID_LINE = re.compile(r"^TZID:([^\r\n]*)\r?$", re.M | re.I)


def parse_for_reading(data: bytes | str, *, service: str = "") -> icalendar.Calendar:
    """`parse_calendar` without the VTIMEZONEs of zones in the IANA database.

    icalendar resolves a TZID it finds in the IANA database from the database and ignores
    that zone's VTIMEZONE (`icalendar.timezone.tzp.cache_timezone_component`), yet parsing
    those components was over half the time of reading a calendar: servers send the whole
    rule history of every zone with every event. A custom or unknown zone keeps its
    VTIMEZONE. Only for reading: a resource written back must keep them (RFC 5545 §3.6.5).
    """
    if isinstance(data, bytes):
        try:
            text = data.decode()
        except UnicodeDecodeError:
            return parse_calendar(data, service=service)
    else:
        text = data
    return parse_calendar(VTIMEZONE_BLOCK.sub(_unless_known_zone, text), service=service)


def _unless_known_zone(block: re.Match[str]) -> str:
    tzid = TZID_LINE.search(block.group(0))
    return "" if tzid and tzid.group(1) in _iana_zones() else block.group(0)


@functools.cache
def _iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


# --- iCalendar: VTODO <-> normalized task fields ------------------------------------
# RFC 5545 §3.8.1.9: 1 is the highest priority, 9 the lowest, 0 undefined.
TASK_TO_ICAL_PRIORITY = {0: 0, 1: 9, 2: 5, 3: 3, 4: 1}


def ical_priority_to_task(value: int) -> int:
    if value <= 0:
        return 0
    return 4 if value <= 2 else 3 if value <= 4 else 2 if value == 5 else 1


def vtodo_to_fields(component: icalendar.cal.Component) -> dict[str, Any]:
    """One VTODO as normalized task fields."""
    props = {name: _text(component, name) for name in ("SUMMARY", "DESCRIPTION", "STATUS", "URL")}
    props |= {name: _dt(component, name) for name in ("DUE", "COMPLETED")}
    return task_fields(props | {"PRIORITY": int(component.get("PRIORITY", 0))})


def task_fields(props: dict[str, Any]) -> dict[str, Any]:
    """Normalized task fields from a VTODO's values by property name (see `event_fields`)."""
    completed = props.get("COMPLETED")
    done = props.get("STATUS", "").upper() == "COMPLETED" or completed is not None
    return {
        "title": props.get("SUMMARY", ""),
        "notes": props.get("DESCRIPTION", ""),
        "status": "done" if done else "open",
        "due": props.get("DUE"),
        "priority": ical_priority_to_task(props.get("PRIORITY", 0)),
        "completed_at": completed,
        "url": props.get("URL", ""),
    }


def fields_to_vtodo(fields: dict[str, Any], uid: str) -> icalendar.Todo:
    todo = icalendar.Todo()
    todo.add("uid", uid)
    todo.add("dtstamp", dt.datetime.now(dt.UTC).replace(microsecond=0))
    todo.add("summary", fields.get("title", ""))
    if fields.get("notes"):
        todo.add("description", fields["notes"])
    if fields.get("due") is not None:
        todo.add("due", fields["due"])
    done = fields.get("status") == "done"
    todo.add("status", "COMPLETED" if done else "NEEDS-ACTION")
    if done and fields.get("completed_at") is not None:
        todo.add("completed", fields["completed_at"].astimezone(dt.UTC))
    if fields.get("priority"):
        todo.add("priority", TASK_TO_ICAL_PRIORITY[int(fields["priority"])])
    if fields.get("url"):
        todo.add("url", fields["url"])
    return todo


# --- recurrence as iCalendar content lines (Google's `recurrence` field) -------------
def recurrence_lines(fields: dict[str, Any]) -> list[str]:
    """The RRULE and EXDATE lines of a master, as Google's `recurrence` list holds them."""
    if not fields.get("rrule"):
        return []
    event = icalendar.Event()
    event.add("rrule", icalendar.vRecur.from_ical(canonical_rrule(fields["rrule"])))
    for exdate in fields.get("exdates") or []:
        event.add("exdate", parse_iso(exdate, fields.get("timezone", "")))
    text = event.to_ical().decode().replace("\r\n ", "")
    return [line for line in text.split("\r\n") if line.startswith(("RRULE", "EXDATE"))]


def parse_recurrence_lines(
    lines: list[str], tzname: str, *, service: str = ""
) -> tuple[str, list[str]]:
    """`recurrence` lines (Google's) as (rrule, exdates); RDATE/EXRULE are not supported."""
    unsupported = [line for line in lines if line.startswith(("RDATE", "EXRULE"))]
    if unsupported:
        raise UnsupportedRecurrence(
            f"unsupported recurrence line {unsupported[0]!r}", service=service
        )
    text = "BEGIN:VEVENT\r\n" + "\r\n".join(lines) + "\r\nEND:VEVENT\r\n"
    try:
        event = icalendar.Event.from_ical(text)
    except ValueError as exc:
        raise UnexpectedPayload(service, "recurrence", str(exc)) from exc
    rrule = event.get("RRULE")
    rule = canonical_rrule(rrule.to_ical().decode()) if rrule is not None else ""
    return rule, _exdates(event, tzname)


# --- Microsoft Graph patternedRecurrence <-> RRULE -----------------------------------
# https://learn.microsoft.com/graph/api/resources/patternedrecurrence
GRAPH_DAYS = {
    "MO": "monday",
    "TU": "tuesday",
    "WE": "wednesday",
    "TH": "thursday",
    "FR": "friday",
    "SA": "saturday",
    "SU": "sunday",
}
ICAL_DAYS = {v: k for k, v in GRAPH_DAYS.items()}
GRAPH_INDEX = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
ICAL_INDEX = {v: k for k, v in GRAPH_INDEX.items()}
SIMPLE_PARTS = frozenset({"FREQ", "INTERVAL", "UNTIL", "COUNT", "WKST"})
PATTERN_PARTS = {
    "DAILY": frozenset(),
    "WEEKLY": frozenset({"BYDAY"}),
    "MONTHLY": frozenset({"BYDAY", "BYMONTHDAY", "BYSETPOS"}),
    "YEARLY": frozenset({"BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS"}),
}


def _one(recur: icalendar.vRecur, part: str, service: str) -> Any:
    values = recur.get(part) or []
    if len(values) > 1:
        raise UnsupportedRecurrence(
            f"{part} with several values cannot be expressed in Graph", service=service
        )
    return values[0] if values else None


def _weekday(day: Any, service: str) -> tuple[int | None, str]:
    # "2TU" -> (2, "TU"); "MO" -> (None, "MO")
    text = str(day)
    code, prefix = text[-2:], text[:-2]
    if code not in GRAPH_DAYS:
        raise UnsupportedRecurrence(f"weekday {text!r}", service=service)
    return (int(prefix) if prefix else None), code


def rrule_to_graph(rrule: str, start: Instant, tzname: str, *, service: str = "") -> dict[str, Any]:
    """A canonical RRULE as Graph's patternedRecurrence; UnsupportedRecurrence otherwise,
    naming `service` (the connection's key)."""
    recur = icalendar.vRecur.from_ical(canonical_rrule(rrule))
    freq = _one(recur, "FREQ", service)
    if freq not in PATTERN_PARTS or set(recur) - SIMPLE_PARTS - PATTERN_PARTS[freq]:
        raise UnsupportedRecurrence(f"the rule {rrule!r} has no Graph pattern", service=service)
    local = in_zone(start, tzname)
    pattern = {"interval": int(_one(recur, "INTERVAL", service) or 1)}
    pattern |= _graph_pattern(freq, recur, local, service)
    first_day = _one(recur, "WKST", service)
    pattern["firstDayOfWeek"] = GRAPH_DAYS[str(first_day)] if first_day else "monday"
    return {"pattern": pattern, "range": _graph_range(recur, local, tzname, service)}


def _graph_pattern(
    freq: str, recur: icalendar.vRecur, local: Instant, service: str
) -> dict[str, Any]:
    if freq == "DAILY":
        return {"type": "daily"}
    if freq == "WEEKLY":
        days = [_weekday(d, service) for d in recur.get("BYDAY") or []]
        if any(n is not None for n, _ in days):
            raise UnsupportedRecurrence("weekly rules with ordinal weekdays", service=service)
        codes = [c for _, c in days] or [list(GRAPH_DAYS)[local.weekday()]]
        return {"type": "weekly", "daysOfWeek": [GRAPH_DAYS[c] for c in codes]}
    prefix = "absolute" if recur.get("BYMONTHDAY") or not recur.get("BYDAY") else "relative"
    kind = "Monthly" if freq == "MONTHLY" else "Yearly"
    body: dict[str, Any] = {"type": prefix + kind}
    if kind == "Yearly":
        body["month"] = int(_one(recur, "BYMONTH", service) or local.month)
    if prefix == "absolute":
        body["dayOfMonth"] = int(_one(recur, "BYMONTHDAY", service) or local.day)
        if recur.get("BYDAY") or recur.get("BYSETPOS"):
            raise UnsupportedRecurrence("a day of month combined with weekdays", service=service)
        return body
    return body | _relative(recur, service)


def _relative(recur: icalendar.vRecur, service: str) -> dict[str, Any]:
    days = [_weekday(d, service) for d in recur["BYDAY"]]
    position = _one(recur, "BYSETPOS", service)
    ordinals = {n for n, _ in days}
    ordinal = position if position is not None else ordinals.pop() if len(ordinals) == 1 else 0
    if ordinal not in GRAPH_INDEX or (position is not None and ordinals != {None}):
        raise UnsupportedRecurrence(
            "only first..fourth or last weekdays have a Graph pattern", service=service
        )
    return {"index": GRAPH_INDEX[ordinal], "daysOfWeek": [GRAPH_DAYS[c] for _, c in days]}


def _graph_range(
    recur: icalendar.vRecur, local: Instant, tzname: str, service: str
) -> dict[str, Any]:
    start_date = local.date() if isinstance(local, dt.datetime) else local
    body: dict[str, Any] = {"startDate": start_date.isoformat(), "recurrenceTimeZone": tzname}
    count, until = _one(recur, "COUNT", service), _one(recur, "UNTIL", service)
    if count:
        return body | {"type": "numbered", "numberOfOccurrences": int(count)}
    if until is not None:
        until = in_zone(until, tzname)
        end = until.date() if isinstance(until, dt.datetime) else until
        return body | {"type": "endDate", "endDate": end.isoformat()}
    return body | {"type": "noEnd"}


def graph_to_rrule(
    recurrence: dict[str, Any], tzname: str, all_day: bool, *, service: str = ""
) -> str:
    """Graph's patternedRecurrence as a canonical RRULE; UnsupportedRecurrence naming `service`
    (the connection's key) for a pattern it cannot express.

    Graph ends a series on a date; it becomes UNTIL at the last second of that day in the
    event's zone (a date for all-day series), which `rrule_to_graph` maps back to the same day.
    """
    pattern, rng = recurrence.get("pattern") or {}, recurrence.get("range") or {}
    kind = pattern.get("type", "")
    freq = {"daily": "DAILY", "weekly": "WEEKLY"}.get(kind) or (
        "MONTHLY" if kind.endswith("Monthly") else "YEARLY" if kind.endswith("Yearly") else ""
    )
    if not freq:
        raise UnsupportedRecurrence(f"Graph pattern {kind!r}", service=service)
    parts: dict[str, Any] = {"FREQ": freq}
    if int(pattern.get("interval") or 1) > 1:
        parts["INTERVAL"] = int(pattern["interval"])
    parts |= _rrule_by_parts(kind, pattern)
    parts |= _rrule_end(rng, tzname, all_day)
    first_day = pattern.get("firstDayOfWeek", "monday")
    if kind == "weekly" and first_day != "monday":
        parts["WKST"] = ICAL_DAYS[first_day]
    return canonical_rrule(icalendar.vRecur(parts).to_ical().decode())


def _rrule_by_parts(kind: str, pattern: dict[str, Any]) -> dict[str, Any]:
    days = [ICAL_DAYS[d] for d in pattern.get("daysOfWeek") or []]
    parts: dict[str, Any] = {}
    if kind == "weekly":
        parts["BYDAY"] = days
    elif kind.startswith("absolute"):
        parts["BYMONTHDAY"] = int(pattern["dayOfMonth"])
    elif kind.startswith("relative"):
        ordinal = ICAL_INDEX[pattern.get("index") or "first"]
        if len(days) == 1:
            parts["BYDAY"] = [f"{ordinal}{days[0]}"]
        else:
            parts |= {"BYDAY": days, "BYSETPOS": ordinal}
    if kind.endswith("Yearly"):
        parts["BYMONTH"] = int(pattern["month"])
    return parts


def _rrule_end(rng: dict[str, Any], tzname: str, all_day: bool) -> dict[str, Any]:
    kind = rng.get("type", "noEnd")
    if kind == "numbered":
        return {"COUNT": int(rng["numberOfOccurrences"])}
    if kind != "endDate":
        return {}
    end = dt.date.fromisoformat(rng["endDate"])
    if all_day:
        return {"UNTIL": end}
    last = dt.datetime.combine(end, dt.time(23, 59, 59))
    local = last.replace(tzinfo=zone(tzname)) if tzname else last
    return {"UNTIL": local.astimezone(dt.UTC) if tzname else local}
