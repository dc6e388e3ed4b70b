"""Events as they happen: series expanded into occurrences for a window of time.

An event's times are read in its own terms: the dates of an all-day event (end exclusive), an
aware time in its own zone, or a floating wall-clock time (stored as if UTC, see
`sync.fields`). A window is two aware instants; all-day dates and floating times are compared
with it in the zone the person reads times in (the active one).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone

from dayflow import recurrence
from dayflow.models import Event, Profile

Instant = dt.date | dt.datetime


@dataclasses.dataclass(frozen=True)
class Occurrence:
    """One time an event happens: a single event, one start of a series, or an exception."""

    event: Event  # what is shown: the single event, the series master or the exception
    start: Instant
    end: Instant
    recurrence_id: str = ""  # the original start of a series' occurrence; "" for a single one
    series: Event | None = None  # the master, for an occurrence of a series

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, dt.datetime)

    @property
    def sort_key(self) -> tuple:
        return (in_reading_zone(self.start), not self.all_day, self.event.title)


def person_zone(user_id: int) -> dt.tzinfo:
    """The zone a person reads times in (their profile's), wherever the code runs: a worker
    or an API call with a token has no page's zone active. The site's default until they
    choose one, or for a zone the system no longer knows."""
    name = Profile.objects.filter(user_id=user_id).values_list("timezone", flat=True).first()
    try:
        return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def person_today(user_id: int, now: dt.datetime | None = None) -> dt.date:
    """The date it is for the person now: what their "today" and "within 7 days" mean."""
    return timezone.localdate(now or timezone.now(), person_zone(user_id))


def own_zone(event: Event) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(event.timezone) if event.timezone else dt.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def span(event: Event) -> tuple[Instant | None, Instant | None]:
    """The event's start and (exclusive) end in its own terms."""
    if event.all_day:
        return event.start_date, event.end_date or event.start_date
    start, end = event.start, event.end or event.start
    if start is None:
        return None, None
    if not event.timezone:
        return _wall_clock(start), _wall_clock(end)
    return start.astimezone(own_zone(event)), end.astimezone(own_zone(event))


def in_reading_zone(value: Instant) -> dt.datetime:
    """An instant as an aware time, dates and floating times read in the active zone."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    return value if value.tzinfo else value.replace(tzinfo=timezone.get_current_timezone())


def occurrences(events: Iterable[Event], after: dt.datetime, before: dt.datetime) -> list:
    """Every occurrence overlapping [after, before), in time order. Masters need their
    `exceptions` prefetched: an occurrence that was changed is shown as its exception."""
    found: list[Occurrence] = []
    for event in events:
        if event.status == Event.Status.CANCELLED:
            continue
        if event.rrule and not event.series_id:
            found.extend(_series(event, after, before))
        elif _overlaps(*span(event), after, before):
            start, end = span(event)
            found.append(Occurrence(event, start, end, event.recurrence_id, event.series))
    return sorted(found, key=lambda o: o.sort_key)


def series_starts(master: Event, after: dt.datetime, before: dt.datetime) -> list[Instant]:
    """The original starts of a series in [after, before), skipped dates left out."""
    first = span(master)[0]
    if first is None:
        return []
    low, high = _like(after, first), _like(before, first, upper=True)
    skipped = {recurrence.same_instant_key(text) for text in master.exdates or []}
    try:
        found = recurrence.starts(master.rrule, first, low, high)
        return [s for s in found if recurrence.same_instant_key(s.isoformat()) not in skipped]
    except recurrence.BadRule:
        return []


def _series(master: Event, after: dt.datetime, before: dt.datetime) -> Iterable[Occurrence]:
    first, end = span(master)
    if first is None:
        return
    length = end - first
    changed = {recurrence.same_instant_key(e.recurrence_id) for e in master.exceptions.all()}
    for start in series_starts(master, after - _as_delta(length), before):
        rid = recurrence.occurrence_id(start)
        if recurrence.same_instant_key(rid) in changed:
            continue
        if _overlaps(start, start + length, after, before):
            yield Occurrence(master, start, start + length, rid, master)


def _overlaps(start, end, after: dt.datetime, before: dt.datetime) -> bool:
    if start is None:
        return False
    low, high = _like(after, start), _like(before, start, upper=True)
    if end is None or end <= start:
        return low <= start < high
    return start < high and end > low


def _like(value: dt.datetime, model: Instant, upper: bool = False) -> Instant:
    """A window bound as the same kind of value as `model`, read in the active zone: a date
    (an upper bound inside a day takes that whole day), an aware or a floating time."""
    local = timezone.localtime(value)
    if not isinstance(model, dt.datetime):
        inside_a_day = upper and local.time() != dt.time()
        return local.date() + dt.timedelta(days=1 if inside_a_day else 0)
    return value if model.tzinfo else local.replace(tzinfo=None)


def _wall_clock(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _as_delta(length) -> dt.timedelta:
    return length if isinstance(length, dt.timedelta) else dt.timedelta(0)
