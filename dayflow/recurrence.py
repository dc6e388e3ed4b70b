"""The simple recurrences the planner pages offer, as the RRULE strings events keep.

A rule is built in the one canonical form the calendar providers read and write (RFC 5545
part order, no "RRULE:", the weekly days and the monthly day written out, INTERVAL=1 left
out), so a rule made here and the same rule read back from a service compare equal. UNTIL is
the inclusive last day: a date for all-day series, the end of that day in the event's own zone
(in UTC, as RFC 5545 §3.3.10 asks) for zoned ones, a local time for floating ones.

Occurrences are expanded with dateutil, in the event's own zone, so a weekly 09:00 stays at
09:00 across a DST change. Occurrences and exception dates are named by the canonical ISO
form of their original start (`occurrence_id`), the form `Event.recurrence_id` and
`Event.exdates` hold.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Iterator

from dateutil import rrule as du

Instant = dt.date | dt.datetime

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_COUNT = 1000
# Expanding stops here, whatever the window: a page never walks an endless rule for long.
MAX_OCCURRENCES = 500


class BadRule(ValueError):
    """A rule dateutil cannot read."""


@dataclasses.dataclass(frozen=True)
class Recurrence:
    """What the event form offers: a frequency, the weekly days, an optional end."""

    freq: str  # one of FREQUENCIES
    weekdays: tuple[int, ...] = ()  # 0 = Monday; weekly only
    until: dt.date | None = None  # the inclusive last day, in the event's own zone
    count: int | None = None


# --- building and reading rules ------------------------------------------------------
def build_rrule(recurrence: Recurrence, start: Instant, tzname: str = "") -> str:
    """The canonical RRULE of `recurrence` for a series starting at `start` (a date for
    all-day series, else a datetime in the event's own zone)."""
    parts = [f"FREQ={recurrence.freq}"]
    if recurrence.until is not None:
        parts.append(f"UNTIL={_until_text(recurrence.until, start, tzname)}")
    if recurrence.count is not None:
        parts.append(f"COUNT={recurrence.count}")
    if recurrence.freq == "WEEKLY":
        days = sorted(set(recurrence.weekdays)) or [start.weekday()]
        parts.append("BYDAY=" + ",".join(WEEKDAYS[d] for d in days))
    elif recurrence.freq == "MONTHLY":
        parts.append(f"BYMONTHDAY={start.day}")
    return ";".join(parts)


def parse_rrule(rule: str, start: Instant, tzname: str = "") -> Recurrence | None:
    """The form's view of a rule, or None when the form cannot show it (a rule from a service
    with an interval, ordinal days, several month days...): the page then keeps it as it is."""
    parts = rule_parts(rule)
    freq = parts.pop("FREQ", "")
    if freq not in FREQUENCIES or parts.pop("INTERVAL", "1") != "1":
        return None
    weekdays: tuple[int, ...] = ()
    byday = parts.pop("BYDAY", "")
    if freq == "WEEKLY" and byday:
        if any(day not in WEEKDAYS for day in byday.split(",")):
            return None
        weekdays = tuple(sorted(WEEKDAYS.index(day) for day in byday.split(",")))
    elif byday:
        return None
    if freq == "MONTHLY" and parts.pop("BYMONTHDAY", str(start.day)) != str(start.day):
        return None
    until, count = parts.pop("UNTIL", None), parts.pop("COUNT", None)
    if parts or (count is not None and not count.isdigit()):
        return None
    try:
        last_day = _until_day(until, tzname) if until else None
    except ValueError:
        return None
    return Recurrence(freq, weekdays, last_day, int(count) if count else None)


def rule_parts(rule: str) -> dict[str, str]:
    rule = rule.strip().removeprefix("RRULE:")
    pairs = (part.partition("=") for part in rule.split(";") if part)
    return {key.upper(): value.upper() for key, _, value in pairs}


def _until_text(day: dt.date, start: Instant, tzname: str) -> str:
    if not isinstance(start, dt.datetime):
        return day.strftime("%Y%m%d")
    last_moment = dt.datetime.combine(day, dt.time(23, 59, 59))
    if not tzname:
        return last_moment.strftime("%Y%m%dT%H%M%S")
    aware = last_moment.replace(tzinfo=zoneinfo.ZoneInfo(tzname))
    return aware.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _until_day(text: str, tzname: str) -> dt.date:
    if "T" not in text:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    if text.endswith("Z"):
        moment = dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        return moment.astimezone(zoneinfo.ZoneInfo(tzname) if tzname else dt.UTC).date()
    return dt.datetime.strptime(text, "%Y%m%dT%H%M%S").date()


# --- in words ----------------------------------------------------------------------------
def describe(rule: str, start: Instant | None, tzname: str = "") -> str:
    """The rule in words: "Every week on Mon, Wed until Jan 31"."""
    parts = rule_parts(rule)
    unit = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
    freq = parts.get("FREQ", "")
    interval = parts.get("INTERVAL", "1")
    if freq not in unit or not interval.isdigit():
        return f"Repeats ({rule})"
    words = [f"Every {unit[freq]}" if interval == "1" else f"Every {interval} {unit[freq]}s"]
    if parts.get("BYDAY"):
        words.append("on " + ", ".join(_day_words(day) for day in parts["BYDAY"].split(",")))
    if parts.get("BYMONTHDAY"):
        words.append("on day " + ", ".join(parts["BYMONTHDAY"].split(",")))
    if parts.get("UNTIL"):
        try:
            words.append("until " + _date_words(_until_day(parts["UNTIL"], tzname), start))
        except ValueError:
            words.append(f"until {parts['UNTIL']}")
    if parts.get("COUNT"):
        words.append(f"{parts['COUNT']} times")
    return " ".join(words[:1]) + "".join(
        f", {word}" if word.endswith("times") else f" {word}" for word in words[1:]
    )


def _day_words(day: str) -> str:
    ordinal, name = day[:-2], day[-2:]
    if name not in WEEKDAYS:
        return day
    words = WEEKDAY_NAMES[WEEKDAYS.index(name)]
    if not ordinal:
        return words
    named = {"1": "first", "2": "second", "3": "third", "4": "fourth", "-1": "last"}
    return f"{named.get(ordinal.lstrip('+'), ordinal)} {words}"


def _date_words(day: dt.date, start: Instant | None) -> str:
    same_year = start is not None and start.year == day.year
    return f"{day:%b} {day.day}" + ("" if same_year else f", {day.year}")


# --- occurrences -------------------------------------------------------------------------
def occurrence_id(value: Instant) -> str:
    """The canonical ISO name of an occurrence's original start: a date for all-day series, an
    aware time in the event's own zone, or a naive (floating) time."""
    return value.isoformat()


def same_instant_key(text: str) -> Instant:
    """An ISO occurrence name as a value that compares equal for the same instant, whatever
    offset a service wrote it with."""
    if "T" not in text:
        return dt.date.fromisoformat(text)
    value = dt.datetime.fromisoformat(text)
    return value.astimezone(dt.UTC) if value.tzinfo else value


def starts(rule: str, first: Instant, after: Instant, before: Instant) -> Iterator[Instant]:
    """The original starts of a series from `first` that fall in [after, before): dates for
    all-day series, datetimes in `first`'s zone (or naive, floating) otherwise."""
    all_day = not isinstance(first, dt.datetime)
    dtstart = dt.datetime.combine(first, dt.time()) if all_day else first
    recurrence = _rule(rule, dtstart)
    low, high = (_as_datetime(v, dtstart) for v in (after, before))
    for n, moment in enumerate(recurrence.xafter(low, inc=True)):
        if moment >= high or n >= MAX_OCCURRENCES:
            return
        yield moment.date() if all_day else moment


def is_start(rule: str, first: Instant, candidate: Instant) -> bool:
    """Whether `candidate` is one of the series' original starts."""
    step = dt.timedelta(seconds=1) if isinstance(candidate, dt.datetime) else dt.timedelta(days=1)
    try:
        return candidate in list(starts(rule, first, candidate, candidate + step))
    except (BadRule, TypeError, ValueError):
        return False


def check_rule(rule: str, first: Instant) -> None:
    all_day = not isinstance(first, dt.datetime)
    _rule(rule, dt.datetime.combine(first, dt.time()) if all_day else first)


def _rule(rule: str, dtstart: dt.datetime) -> du.rrule:
    try:
        return du.rrulestr(_until_like(rule, dtstart), dtstart=dtstart)
    except (ValueError, TypeError) as exc:
        raise BadRule(str(exc)) from exc


def _until_like(rule: str, dtstart: dt.datetime) -> str:
    """The rule with its UNTIL in the same kind as DTSTART (dateutil refuses a mix), as
    services do write either."""
    parts = rule_parts(rule)
    until = parts.get("UNTIL")
    if not until:
        return ";".join(f"{k}={v}" for k, v in parts.items())
    aware = dtstart.tzinfo is not None
    if aware and not until.endswith("Z"):
        if "T" in until:
            moment = dt.datetime.strptime(until, "%Y%m%dT%H%M%S")
        else:
            moment = dt.datetime.combine(dt.datetime.strptime(until, "%Y%m%d"), dt.time(23, 59, 59))
        utc = moment.replace(tzinfo=dtstart.tzinfo).astimezone(dt.UTC)
        parts["UNTIL"] = utc.strftime("%Y%m%dT%H%M%SZ")
    elif not aware and until.endswith("Z"):
        parts["UNTIL"] = until[:-1]
    return ";".join(f"{k}={v}" for k, v in parts.items())


def _as_datetime(value: Instant, like: dt.datetime) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if like.tzinfo is None:
        return value.replace(tzinfo=None) if value.tzinfo is None else value
    return value if value.tzinfo else value.replace(tzinfo=like.tzinfo)
