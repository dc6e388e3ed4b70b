"""Normalized fields <-> JSON (the base snapshot) <-> DayFlow's Task and Event columns.

Providers speak normalized fields with Python dates and datetimes (integrations/providers/
base.py); the engine compares and stores them as JSON: dates as "YYYY-MM-DD", instants as UTC
ISO 8601, so the same moment written in two zones compares equal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from dayflow.models import Event, Task
from dayflow.tags import normalized_tags
from integrations.providers import base
from sync.directions import MAPPED_FIELDS
from sync.models import ItemType

# The provider seam's vocabulary, less what only the service holds (a task's URL).
TASK_FIELDS = tuple(name for name in base.TASK_FIELDS if name != "url")
EVENT_FIELDS = base.EVENT_FIELDS
SYNCED_FIELDS = {ItemType.TASK: TASK_FIELDS, ItemType.EVENT: EVENT_FIELDS}
_TEMPORAL = {"due", "completed_at", "start", "end"}
_AS_IS = {str, bool, int, float}  # JSON as they are


def encode_value(value: Any) -> Any:
    if value is None or type(value) in _AS_IS:  # most values: said first
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [encode_value(item) for item in value]
    return value


def decode_value(value: Any) -> Any:
    """A JSON date or instant back to a Python value; anything else unchanged."""
    if not isinstance(value, str) or not value:
        return value
    if len(value) == 10:
        return dt.date.fromisoformat(value)
    return dt.datetime.fromisoformat(value)


def encode(item_type: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A provider's normalized fields as JSON, restricted to the fields we sync."""
    names = SYNCED_FIELDS[item_type]  # ItemType is a StrEnum: its str finds it
    return {name: encode_value(fields[name]) for name in names if name in fields}


def carried(item_type: str, fields: Mapping[str, Any], lacks: frozenset[str]) -> dict[str, Any]:
    """`fields` without those the service does not carry (`Provider.lacks_fields`: "task.tags"
    …), so DayFlow's value of a field the service has no place for is never a difference."""
    dropped = {
        name
        for mapped in lacks
        if mapped.startswith(f"{item_type}.")
        for name in MAPPED_FIELDS.get(item_type, {}).get(mapped.partition(".")[2], ())
    }
    if not dropped.intersection(fields):
        return fields if isinstance(fields, dict) else dict(fields)  # no copy of every item
    return {name: value for name, value in fields.items() if name not in dropped}


def decode(fields: Mapping[str, Any]) -> dict[str, Any]:
    """JSON fields back to the normalized values a provider's create/update expects."""
    return {
        name: decode_value(value) if name in _TEMPORAL else value for name, value in fields.items()
    }


# --- DayFlow's side ---------------------------------------------------------------------------
def task_fields(task: Task) -> dict[str, Any]:
    return {
        "title": task.title,
        "notes": task.notes,
        "status": task.status,
        "due": encode_value(task.due_at or task.due_date),
        "priority": task.priority,
        "completed_at": encode_value(task.completed_at),
        "tags": normalized_tags(task.tags),
    }


def apply_task(task: Task, fields: Mapping[str, Any]) -> None:
    for name in ("title", "notes", "status", "priority"):
        if name in fields:
            setattr(task, name, _text(fields[name]) if name != "priority" else fields[name] or 0)
    if "due" in fields:
        due = decode_value(fields["due"])
        task.due_at = due if isinstance(due, dt.datetime) else None
        task.due_date = (
            due if isinstance(due, dt.date) and not isinstance(due, dt.datetime) else None
        )
    if "completed_at" in fields:
        task.completed_at = decode_value(fields["completed_at"])
    if "tags" in fields:
        task.tags = normalized_tags(fields["tags"])


def event_fields(event: Event, series_remote_id: str = "") -> dict[str, Any]:
    if event.all_day:
        start, end = event.start_date, event.end_date
    elif event.timezone:
        start, end = event.start, event.end
    else:
        start, end = _floating(event.start), _floating(event.end)
    return {
        "title": event.title,
        "description": event.description,
        "location": event.location,
        "status": event.status,
        "all_day": event.all_day,
        "start": encode_value(start),
        "end": encode_value(end),
        "timezone": event.timezone,
        "rrule": event.rrule,
        "exdates": list(event.exdates or []),
        "recurrence_id": event.recurrence_id,
        "series_remote_id": series_remote_id,
    }


def apply_event(event: Event, fields: Mapping[str, Any]) -> None:
    """Set an Event's columns from fields; the series link is the engine's to resolve."""
    for name in ("title", "description", "location", "status", "timezone", "rrule"):
        if name in fields:
            setattr(event, name, _text(fields[name]))
    for name in ("all_day",):
        if name in fields:
            event.all_day = bool(fields[name])
    if "exdates" in fields:
        event.exdates = [str(item) for item in fields["exdates"] or []]
    if "recurrence_id" in fields:
        event.recurrence_id = _text(fields["recurrence_id"])
    start, end = decode_value(fields.get("start")), decode_value(fields.get("end"))
    if event.all_day:
        event.start, event.end = None, None
        event.start_date, event.end_date = _as_date(start), _as_date(end)
    else:
        event.start_date, event.end_date = None, None
        event.start, event.end = _stored(start), _stored(end)


def local_fields(obj: Task | Event, series_remote_id: str = "") -> dict[str, Any]:
    if isinstance(obj, Task):
        return task_fields(obj)
    return event_fields(obj, series_remote_id)


def apply_local(obj: Task | Event, fields: Mapping[str, Any]) -> None:
    if isinstance(obj, Task):
        apply_task(obj, fields)
    else:
        apply_event(obj, fields)


# --- what the service shows and DayFlow never sends back --------------------------------------
LIST_NAME_CHARS = Task._meta.get_field("list_name").max_length


def read_only_changes(obj: Task | Event, values: Mapping[str, Any]) -> dict[str, Any]:
    """The read-only columns a service reported (`RemoteItem.read_only`) that differ from the
    local item's; a value the service did not report changes nothing."""
    wanted: dict[str, Any] = {}
    if isinstance(obj, Task) and isinstance(values.get("list_name"), str):
        wanted["list_name"] = values["list_name"][:LIST_NAME_CHARS]
    if isinstance(obj, Event) and isinstance(values.get("attendees"), list):
        wanted["attendees"] = values["attendees"]
    return {name: value for name, value in wanted.items() if getattr(obj, name) != value}


def apply_read_only(obj: Task | Event, values: Mapping[str, Any]) -> bool:
    """Set what `read_only_changes` finds; True when something changed."""
    changes = read_only_changes(obj, values)
    for name, value in changes.items():
        setattr(obj, name, value)
    return bool(changes)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# A floating time (a naive datetime, timezone "") is kept in DayFlow's aware column as its wall
# clock stored as if UTC: explicit, the same whatever TIME_ZONE is, and no naive-datetime warning.
def _stored(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _floating(value: dt.datetime | None) -> dt.datetime | None:
    """The wall clock of a floating time read back from DayFlow's aware column."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None
