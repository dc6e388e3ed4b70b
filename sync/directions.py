"""Per-field direction: which of a connection's mapped fields sync which way.

`field_directions` on a connection holds, per kind of item, a direction for some of the
fields a person names ("title", "due", "time"…); a field not named syncs both ways. Each
named field stands for one or more of the codec's fields (`sync.fields`): an event's "time" is
its start, end, all-day flag and zone together, so they never travel apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class FieldDirection(StrEnum):
    TWO_WAY = "two_way"
    FROM_SERVICE = "from_service"  # the service's changes come in; DayFlow's stay here
    TO_SERVICE = "to_service"  # DayFlow's changes go out; the service's are not taken
    OFF = "off"  # neither: each side keeps its own value


# The fields a person sets a direction for, and the codec's fields each one stands for.
MAPPED_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "task": {
        "title": ("title",),
        "notes": ("notes",),
        "status": ("status", "completed_at"),
        "due": ("due",),
        "priority": ("priority",),
        "list": ("list",),
        "tags": ("tags",),
    },
    "event": {
        "title": ("title",),
        "time": ("start", "end", "all_day", "timezone"),
        "location": ("location",),
        "description": ("description",),
    },
}
MAX_NAME_CHARS = 40  # a field's name, as shown in an error


def direction_errors(offered: Mapping[str, tuple[str, ...]], value: Any) -> list[str]:
    """The problems of a `field_directions` value, given the fields a service offers per kind
    of item ({"task": ("title", …)}); an empty list when it is valid."""
    if not isinstance(value, dict):
        return ["must be an object of item kinds (task, event)"]
    errors = []
    for kind, fields in value.items():
        if kind not in offered:
            allowed = ", ".join(sorted(offered)) or "none"
            errors.append(f"{_shown(kind)}: not a kind of item this service syncs ({allowed})")
        elif not isinstance(fields, dict):
            errors.append(f"{kind}: must be an object of fields and directions")
        else:
            errors += _field_errors(kind, offered[kind], fields)
    return errors


def _field_errors(kind: str, offered: tuple[str, ...], fields: dict) -> list[str]:
    errors = []
    choices = ", ".join(FieldDirection)
    for name, direction in fields.items():
        if name not in offered:
            allowed = ", ".join(offered) or "none"
            errors.append(f"{kind}.{_shown(name)}: not a field it syncs here ({allowed})")
        elif not isinstance(direction, str) or direction not in set(FieldDirection):
            errors.append(f"{kind}.{name}: must be one of {choices}")
    return errors


def _shown(name: object) -> str:
    text = str(name)
    return text if len(text) <= MAX_NAME_CHARS else f"{text[:MAX_NAME_CHARS]}…"
