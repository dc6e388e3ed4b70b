"""How the planner pages write times: in the person's zone, all-day ranges with their
inclusive last day, an event's own zone beside it when it differs."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

from dayflow import agenda, recurrence
from dayflow.models import Event, Task

register = template.Library()


DASH = "\N{EN DASH}"


def day_text(value: dt.date) -> str:
    return f"{value:%a} {value.day} {value:%b} {value.year}"


def _range(start: dt.datetime, end: dt.datetime, short: bool = False) -> str:
    if end.date() == start.date() and short:
        return f"{start:%H:%M}{DASH}{end:%H:%M}"
    if end.date() == start.date():
        return f"{day_text(start)}, {start:%H:%M}{DASH}{end:%H:%M}"
    return f"{day_text(start)}, {start:%H:%M} {DASH} {day_text(end)}, {end:%H:%M}"


def _own_zone_text(start: dt.datetime, end: dt.datetime, tzname: str) -> str:
    if end.date() == start.date():
        return f"{start:%H:%M}{DASH}{end:%H:%M} {tzname}"
    return f"{start:%a} {start:%H:%M} {DASH} {end:%a} {end:%H:%M} {tzname}"


def when_text(start, end, event: Event, short: bool = False) -> str:
    """Timed events in the person's zone, with the event's own zone beside them when it is
    another one; all-day ranges with their inclusive last day."""
    if start is None:
        return "No time set"
    if not isinstance(start, dt.datetime):
        last = end - dt.timedelta(days=1) if end and end > start else start
        if short and last == start:
            return "All day"
        whole = day_text(start) if last == start else f"{day_text(start)} {DASH} {day_text(last)}"
        return f"{whole} (all day)"
    end = end or start
    if start.tzinfo is None:
        return f"{_range(start, end, short)} (floating time)"
    words = _range(timezone.localtime(start), timezone.localtime(end), short)
    if event.timezone and event.timezone != timezone.get_current_timezone_name():
        words += f" ({_own_zone_text(start, end, event.timezone)})"
    return words


@register.simple_tag
def when(item, short: bool = False) -> str:
    """When an event or an occurrence happens, in words; `short` leaves out the date of what
    starts and ends on one day (the Today page)."""
    if isinstance(item, agenda.Occurrence):
        return when_text(item.start, item.end, item.event, short)
    return when_text(*agenda.span(item), item)


@register.simple_tag
def due(task: Task) -> str:
    if task.due_at:
        local = timezone.localtime(task.due_at)
        return f"{day_text(local)}, {local:%H:%M}"
    return day_text(task.due_date) if task.due_date else ""


@register.simple_tag
def rule_words(event: Event) -> str:
    start, _ = agenda.span(event)
    return recurrence.describe(event.rrule, start, event.timezone)


@register.filter
def occurrence_text(text: str) -> str:
    """A skipped date or an exception's original start, in words."""
    try:
        value = recurrence.same_instant_key(text)
    except ValueError:
        return text
    if not isinstance(value, dt.datetime):
        return day_text(value)
    if value.tzinfo is None:
        return f"{day_text(value)}, {value:%H:%M}"
    local = timezone.localtime(value)
    return f"{day_text(local)}, {local:%H:%M}"
