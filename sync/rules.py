"""What syncs: a connection's rules, per kind of item.

`sync_rules` holds, for tasks, a status filter ("open": not completed), a due-date window
(`due_within_days`, with or without undated tasks) and tags (a task must carry one of them);
for events, a window from `past_days` ago to `future_days` ahead. A missing rule lets
everything through.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

MAX_DAYS = 3650
MAX_TAGS = 50
MAX_TAG_CHARS = 100

# kind of item -> rule -> the type of its value
RULES: dict[str, dict[str, type]] = {
    "task": {"status": str, "due_within_days": int, "undated": bool, "tags": list},
    "event": {"past_days": int, "future_days": int},
}
STATUSES = ("any", "open")
WORDS = {int: "a whole number of days", str: "text", bool: "true or false", list: "a list"}


def rule_errors(kinds: tuple[str, ...], value: Any) -> list[str]:
    """The problems of a `sync_rules` value for a service syncing these kinds of item."""
    if not isinstance(value, dict):
        return ["must be an object of item kinds (task, event)"]
    errors = []
    for kind, rules in value.items():
        if kind not in kinds or kind not in RULES:
            allowed = ", ".join(k for k in kinds if k in RULES) or "none"
            errors.append(f"{str(kind)[:40]}: not a kind of item this service syncs ({allowed})")
        elif not isinstance(rules, dict):
            errors.append(f"{kind}: must be an object of rules")
        else:
            errors += [f"{kind}.{problem}" for problem in _problems(kind, rules)]
    return errors


def _problems(kind: str, rules: dict) -> list[str]:
    problems = []
    for name, value in rules.items():
        expected = RULES[kind].get(name)
        if expected is None:
            problems.append(f"{str(name)[:40]}: unknown rule ({', '.join(RULES[kind])})")
        elif value is None:
            continue  # no bound
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            problems.append(f"{name}: must be {WORDS[expected]}")
        elif expected is int and not 0 <= value <= MAX_DAYS:
            problems.append(f"{name}: must be from 0 to {MAX_DAYS} days")
        elif name == "status" and value not in STATUSES:
            problems.append(f"{name}: must be one of {', '.join(STATUSES)}")
        elif name == "tags":
            problems += _tag_problems(value)
    return problems


def _tag_problems(tags: list) -> list[str]:
    if len(tags) > MAX_TAGS:
        return [f"tags: at most {MAX_TAGS} (there are {len(tags)})"]
    if not all(isinstance(tag, str) and 0 < len(tag) <= MAX_TAG_CHARS for tag in tags):
        return [f"tags: each must be a name of 1 to {MAX_TAG_CHARS} characters"]
    return []


# --- whether an item matches ------------------------------------------------------------------
def matches(kind: str, fields: Mapping[str, Any], rules: Any, today: dt.date) -> bool:
    """Whether an item's codec fields (`sync/fields.py`) pass its kind's rules, `today` being
    the day the windows are counted from. A missing rule, or a field a side does not carry
    (tags on a service without them), lets the item through."""
    kind_rules = rules.get(kind) if isinstance(rules, Mapping) else None
    if not isinstance(kind_rules, Mapping) or not kind_rules:
        return True
    if kind == "task":
        return _task_matches(fields, kind_rules, today)
    if kind == "event":
        return _event_matches(fields, kind_rules, today)
    return True


def _task_matches(fields: Mapping[str, Any], rules: Mapping[str, Any], today: dt.date) -> bool:
    if rules.get("status") == "open" and fields.get("status") == "done":
        return False
    within = rules.get("due_within_days")
    if within is not None:
        due = day_of(fields.get("due"))
        if due is None and rules.get("undated") is False:
            return False
        if due is not None and due > today + dt.timedelta(days=within):
            return False
    wanted = {str(tag).casefold() for tag in rules.get("tags") or ()}
    if wanted and isinstance(fields.get("tags"), list | tuple):
        return bool(wanted & {str(tag).casefold() for tag in fields["tags"]})
    return True


def _event_matches(fields: Mapping[str, Any], rules: Mapping[str, Any], today: dt.date) -> bool:
    start = day_of(fields.get("start"))
    end = day_of(fields.get("end")) or start
    if start is None or end is None:
        return True  # no date to judge by
    past, future = rules.get("past_days"), rules.get("future_days")
    if future is not None and start > today + dt.timedelta(days=future):
        return False
    # A series goes on after its first occurrence: its start says nothing of its last one.
    if past is not None and not fields.get("rrule"):
        return end >= today - dt.timedelta(days=past)
    return True


def day_of(value: Any) -> dt.date | None:
    """The day of a codec date ("YYYY-MM-DD") or instant (its UTC day; a floating time, its
    wall clock's day); None for anything else."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment.astimezone(dt.UTC) if moment.tzinfo else moment).date()


class Outcome(StrEnum):
    SYNC = "sync"  # the rules let it through
    LEAVE_OUT = "leave_out"  # not linked: neither created on the other side nor imported
    UNLINK = "unlink"  # linked: the link goes, both copies stay as they are
    UPDATE_THEN_UNLINK = "update_then_unlink"  # its last edit reaches the other copy first


def outcome(
    *,
    linked: bool,
    pending: bool,
    in_conflict: bool,
    sides_match: list[bool],
    updates_only: bool = False,
) -> Outcome:
    """What the rules make of one pair, given whether each side present and alive matches,
    and whether `decide` would only update (`updates_only`). A rule never deletes: an item
    that stops matching is let go. The edit that made it stop (a task completed on one side)
    still updates the other copy, so the two do not part disagreeing. A create an earlier run
    began (`pending`) and an open conflict are finished first, by the next run or the person."""
    if all(sides_match):
        return Outcome.SYNC
    if not linked:
        return Outcome.LEAVE_OUT
    if pending or in_conflict:
        return Outcome.SYNC
    return Outcome.UPDATE_THEN_UNLINK if updates_only else Outcome.UNLINK


def windows_moved(rules: Any, last_complete: dt.date | None, today: dt.date) -> bool:
    """Whether a sync must list everything again because a date window moved since the last
    complete sync: an item nobody touched drifts into a window (or out of it) with the days,
    and an incremental sync only sees what changed. Once a day, at most."""
    if last_complete is None or last_complete >= today or not isinstance(rules, Mapping):
        return False
    task = rules.get("task") if isinstance(rules.get("task"), Mapping) else {}
    event = rules.get("event") if isinstance(rules.get("event"), Mapping) else {}
    return any(
        value is not None
        for value in (task.get("due_within_days"), event.get("past_days"), event.get("future_days"))
    )


# --- the rules in words -----------------------------------------------------------------------
def in_words(kind: str, rules: Any) -> str:
    """What one kind's rules let through, as a person reads it: "All tasks", "Tasks not
    completed, due within 7 days or without a due date", "Events from 30 days ago on"."""
    kind_rules = rules.get(kind) if isinstance(rules, Mapping) else None
    if not isinstance(kind_rules, Mapping):
        kind_rules = {}
    parts = _task_words(kind_rules) if kind == "task" else _event_words(kind_rules)
    if not parts:
        return f"All {kind}s"
    return f"{kind.capitalize()}s " + ", ".join(parts)


def _task_words(rules: Mapping[str, Any]) -> list[str]:
    parts = []
    if rules.get("status") == "open":
        parts.append("not completed")
    within = rules.get("due_within_days")
    if within is not None:
        days = "today" if within == 0 else f"within {within} day{'' if within == 1 else 's'}"
        undated = "" if rules.get("undated") is False else " or without a due date"
        parts.append(f"due {days}{undated}")
    tags = [f"“{tag}”" for tag in rules.get("tags") or ()]
    if tags:
        listed = tags[0] if len(tags) == 1 else ", ".join(tags[:-1]) + " or " + tags[-1]
        parts.append(f"tagged {listed}")
    return parts


def _event_words(rules: Mapping[str, Any]) -> list[str]:
    past, future = rules.get("past_days"), rules.get("future_days")
    since = None if past is None else _days(past, "ago")
    until = None if future is None else _days(future, "ahead")
    if since and until:
        return [f"from {since} to {until}"]
    if since:
        return [f"from {since} on"]
    if until:
        return [f"up to {until}"]
    return []


def _days(days: int, side: str) -> str:
    return "today" if days == 0 else f"{days} day{'' if days == 1 else 's'} {side}"
