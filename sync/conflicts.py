"""Settling a conflict: pure functions over a conflict's base, DayFlow's side and the service's.

`compare` tells, field by field, who changed what since both sides last agreed (the three-way
merge of `decisions.merge_fields`): a field changed on one side only is merged automatically,
a field changed on both sides to different values clashes. `settle` computes what both sides
hold afterwards:

- "local" (keep DayFlow's): each clashing field takes DayFlow's value;
- "remote" (keep the service's): each clashing field takes the service's value;
- "merged": each clashing field takes the side the person chose, or the value they typed.

In all three the changes made on one side only are kept (an edit of the due time at the service
survives "keep DayFlow's" of a clashing title). A choice may also name a field that does not
clash: it overrules the automatic merge for that field. When one side no longer holds the item,
nothing can be merged: the side kept is kept whole.

`read_edit` checks a typed value at the boundary (pages and API) and the display helpers put
labels and values in words for the pages.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from dayflow import recurrence
from sync.decisions import Fields, merge_fields

LOCAL, REMOTE, MERGED = "local", "remote", "merged"
RESOLUTIONS = (LOCAL, REMOTE, MERGED)

# Who changed a field since the base.
UNCHANGED, FROM_LOCAL, FROM_REMOTE, ALIKE, CLASH = (
    "unchanged",
    "local",
    "remote",
    "alike",
    "clash",
)

TEXT_LIMITS = {"title": 500, "location": 500, "notes": 10_000, "description": 10_000}
TEMPORAL = ("due", "start", "end")
EDITABLE = (*TEXT_LIMITS, *TEMPORAL)
_MISSING = object()


@dataclasses.dataclass(frozen=True)
class Edited:
    """A value the person typed for a field (already checked by `read_edit`, JSON form)."""

    value: Any


Choice = str | Edited


class Unsettled(ValueError):
    """The choices do not settle this conflict: per field, why."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {why}" for name, why in problems.items()))
        self.problems = dict(problems)


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    base: Any
    local: Any
    remote: Any
    change: str  # UNCHANGED, FROM_LOCAL, FROM_REMOTE, ALIKE or CLASH

    @property
    def clash(self) -> bool:
        return self.change == CLASH

    @property
    def merged_automatically(self) -> bool:
        return self.change in (FROM_LOCAL, FROM_REMOTE)


def compare(base: Fields | None, local: Fields | None, remote: Fields | None) -> list[Row]:
    """Field by field, in the order of `names`: the three values and who changed it."""
    base, local_, remote_ = base or {}, local or {}, remote or {}
    rows = []
    for name in names(local_, remote_):
        b, lv, rv = base.get(name), local_.get(name), remote_.get(name)
        rows.append(Row(name, b, lv, rv, _change(name, base, local_, remote_)))
    return rows


def _change(name: str, base: Fields, local: Fields, remote: Fields) -> str:
    before = base.get(name, _MISSING)
    lv, rv = local.get(name, _MISSING), remote.get(name, _MISSING)
    if lv is _MISSING or rv is _MISSING:  # one side does not carry the field
        return UNCHANGED if (lv if rv is _MISSING else rv) == before else _one_side(lv, rv)
    if lv == rv:
        return UNCHANGED if lv == before else ALIKE
    if rv == before:
        return FROM_LOCAL
    if lv == before:
        return FROM_REMOTE
    return CLASH


def _one_side(lv: Any, rv: Any) -> str:
    return FROM_LOCAL if rv is _MISSING else FROM_REMOTE


def clashing(base: Fields | None, local: Fields | None, remote: Fields | None) -> list[str]:
    """The fields changed on both sides to different values, in reading order (none when one
    side no longer holds the item: then it is the whole record)."""
    if local is None or remote is None:
        return []
    clash = set(merge_fields(base or {}, local, remote)[1])
    return [name for name in names(local, remote) if name in clash]


def settle(
    base: Fields | None,
    local: Fields | None,
    remote: Fields | None,
    resolution: str,
    choices: Mapping[str, Choice] | None = None,
) -> dict[str, Any]:
    """What both sides hold once the conflict is settled as asked. Raises Unsettled."""
    choices = dict(choices or {})
    if resolution not in RESOLUTIONS:
        raise Unsettled({"resolution": f"not one of {', '.join(RESOLUTIONS)}"})
    if local is None or remote is None:
        return _whole(local, remote, resolution, choices)
    sides = {LOCAL: local, REMOTE: remote}
    unknown = sorted(set(choices) - set(local) - set(remote))
    if unknown:
        raise Unsettled(dict.fromkeys(unknown, "not a field of this item"))
    merged, clash = merge_fields(base or {}, local, remote)
    for name in clash:
        if name in choices:
            continue
        if resolution == MERGED:
            raise Unsettled({name: "changed on both sides: choose a value"})
        merged[name] = sides[resolution][name]
    for name, choice in choices.items():
        if isinstance(choice, Edited):
            merged[name] = choice.value
        elif choice in sides:
            merged[name] = sides[choice].get(name, merged.get(name))
        else:
            raise Unsettled({name: "choose local, remote or a value"})
    return merged


def _whole(
    local: Fields | None, remote: Fields | None, resolution: str, choices: Mapping[str, Choice]
) -> dict[str, Any]:
    kept = {LOCAL: local, REMOTE: remote}.get(resolution)
    if choices or kept is None:
        gone = "DayFlow" if local is None else "the service"
        raise Unsettled({"resolution": f"{gone} no longer has the item: keep the other side"})
    return dict(kept)


# --- typed values --------------------------------------------------------------------------------
def read_edit(
    name: str, text: Any, *, sides: Fields, all_day: bool | None, zone: dt.tzinfo | None
) -> Any:
    """A value typed for `name`, checked and in the JSON form the sides hold; ValueError says
    why not. Text is bounded; a date is "YYYY-MM-DD"; a time "YYYY-MM-DDTHH:MM[:SS]", with an
    offset or read in `zone` (None: the offset is required). A floating event's time stays the
    wall clock as typed (`sides`: the two sides' values of the field, to tell). `all_day`: the
    merged all-day flag of an event (a start or end must then be a date, else a time); None
    for a task."""
    if name not in EDITABLE:
        raise ValueError("cannot be typed in: choose a side")
    if not isinstance(text, str):
        raise ValueError("must be text")
    if name in TEXT_LIMITS:
        if len(text) > TEXT_LIMITS[name]:
            raise ValueError(f"at most {TEXT_LIMITS[name]} characters")
        if name == "title" and not text.strip():
            raise ValueError("a title cannot be empty")
        return text
    text = text.strip()
    if not text:
        if name == "due":
            return None
        raise ValueError("a date or time is needed")
    return _read_instant(name, text, sides=sides, all_day=all_day, zone=zone)


def _read_instant(
    name: str, text: str, *, sides: Fields, all_day: bool | None, zone: dt.tzinfo | None
) -> str:
    if len(text) > 40:
        raise ValueError("not a date or time")
    try:
        if len(text) == 10:
            value: dt.date = dt.date.fromisoformat(text)
        else:
            value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not a date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM)") from None
    if not 1900 <= value.year <= 2200:
        raise ValueError("a year between 1900 and 2200")
    is_time = isinstance(value, dt.datetime)
    if all_day is not None and is_time == all_day:
        raise ValueError("an all-day event needs a date" if all_day else "a time is needed")
    if not is_time:
        return value.isoformat()
    floating = any(_is_floating(v) for v in sides.values())
    if floating:
        return value.replace(tzinfo=None).isoformat()
    if value.tzinfo is None:
        if zone is None:
            raise ValueError("a time needs its offset (e.g. 2026-03-05T09:00+01:00)")
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC).isoformat()


def _is_floating(value: Any) -> bool:
    return (
        isinstance(value, str)
        and len(value) > 10
        and dt.datetime.fromisoformat(value).tzinfo is None
    )


def check_span(fields: Fields) -> None:
    """An event cannot end before it starts (the merged result, after the choices)."""
    start, end = _instant(fields.get("start")), _instant(fields.get("end"))
    if start is None or end is None or type(start) is not type(end):
        return
    if isinstance(start, dt.datetime) and (start.tzinfo is None) != (end.tzinfo is None):
        return
    if end < start:
        raise Unsettled({"end": "ends before it starts"})


def _instant(value: Any) -> dt.date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return (
            dt.date.fromisoformat(value) if len(value) == 10 else dt.datetime.fromisoformat(value)
        )
    except ValueError:
        return None


# --- in words ------------------------------------------------------------------------------------
LABELS = {
    "title": "Title",
    "notes": "Notes",
    "status": "Status",
    "due": "Due",
    "priority": "Priority",
    "completed_at": "Completed",
    "tags": "Tags",
    "description": "Description",
    "location": "Location",
    "all_day": "All day",
    "start": "Starts",
    "end": "Ends",
    "timezone": "Time zone",
    "rrule": "Repeats",
    "exdates": "Skipped dates",
    "recurrence_id": "Replaces the occurrence of",
    "series_remote_id": "Part of a series",
}
ORDER = tuple(LABELS)
PRIORITIES = {0: "None", 1: "Low", 2: "Medium", 3: "High", 4: "Urgent"}
STATUSES = {
    "open": "Open",
    "done": "Done",
    "confirmed": "Confirmed",
    "tentative": "Tentative",
    "cancelled": "Cancelled",
}
NOTHING = "—"


def names(local: Fields, remote: Fields) -> list[str]:
    """The fields either side holds, in the order a person reads them."""
    present = set(local) | set(remote)
    return [n for n in ORDER if n in present] + sorted(present - set(ORDER))


def label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


def label_list(field_names: list[str]) -> str:
    """ "Title, Due and Notes" """
    words = [label(name) for name in field_names]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def value_words(name: str, value: Any, side: Fields | None, zone: dt.tzinfo) -> str:
    """One field's value as a person reads it; `side` is the rest of that side's fields (a
    rule's start, an all-day event's end)."""
    side = side or {}
    if value is None or value == "" or value == []:
        return "none" if name == "due" else NOTHING
    if name == "priority":
        return PRIORITIES.get(value, str(value))
    if name == "status":
        return STATUSES.get(value, str(value))
    if name == "all_day":
        return "Yes" if value else "No"
    if name == "series_remote_id":
        return "Yes"
    if name == "rrule":
        start = _instant(side.get("start"))
        return recurrence.describe(str(value), start, str(side.get("timezone") or ""))
    if name == "exdates":
        return ", ".join(moment_words(str(day), zone) for day in value)
    if name == "tags" and isinstance(value, list):
        return ", ".join(str(tag) for tag in value)
    if name in ("due", "start", "end", "completed_at", "recurrence_id"):
        if name == "end" and side.get("all_day") and len(str(value)) == 10:
            last = dt.date.fromisoformat(str(value)) - dt.timedelta(days=1)
            return f"{date_words(last)} (last day)"
        return moment_words(str(value), zone)
    return str(value)


def moment_words(text: str, zone: dt.tzinfo) -> str:
    value = _instant(text)
    if value is None:
        return text
    if not isinstance(value, dt.datetime):
        return date_words(value)
    if value.tzinfo is None:
        return f"{date_words(value)}, {value:%H:%M} (local time wherever you are)"
    value = value.astimezone(zone)
    return f"{date_words(value)}, {value:%H:%M}"


def date_words(value: dt.date) -> str:
    return f"{value:%a} {value.day} {value:%b %Y}"


def input_value(name: str, value: Any, zone: dt.tzinfo) -> str:
    """A value as an input shows it before editing: text as is, a time in `zone` (a floating
    one as its wall clock), a date as a date."""
    if value is None:
        return ""
    if name not in TEMPORAL:
        return str(value)
    moment = _instant(value)
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(zone)
        return f"{moment:%Y-%m-%dT%H:%M}"
    return moment.isoformat() if moment is not None else ""
