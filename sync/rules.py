"""What syncs: a connection's rules, per kind of item.

`sync_rules` holds, for tasks, a status filter ("open": not completed), a due-date window
(`due_within_days`, with or without undated tasks) and tags (a task must carry one of them);
for events, a window from `past_days` ago to `future_days` ahead. A missing rule lets
everything through.
"""

from __future__ import annotations

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
