"""Per-field direction: which of a connection's mapped fields sync which way.

`field_directions` on a connection holds, per kind of item, a direction for some of the
fields a person names ("title", "due", "time"…); a field not named syncs both ways. Each
named field stands for one or more of the codec's fields (`sync.fields`): an event's "time" is
its start, end, all-day flag and zone together, so they never travel apart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sync.decisions import Action, Decision, Direction, Fields, Op, Side, Strategy, decide, same


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


def compact(value: dict[str, Any]) -> dict[str, Any]:
    """A valid `field_directions` without its two-way fields, the default: what is stored."""
    kept = {
        kind: {name: d for name, d in fields.items() if d != FieldDirection.TWO_WAY}
        for kind, fields in value.items()
    }
    return {kind: fields for kind, fields in kept.items() if fields}


def _shown(name: object) -> str:
    text = str(name)
    return text if len(text) <= MAX_NAME_CHARS else f"{text[:MAX_NAME_CHARS]}…"


# --- the rule ----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Blocked:
    """The codec fields of one kind of item that may not come in from the service, and those
    that may not go out to it."""

    incoming: frozenset[str] = frozenset()
    outgoing: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.incoming or self.outgoing)


_NOT_IN = {FieldDirection.TO_SERVICE, FieldDirection.OFF}
_NOT_OUT = {FieldDirection.FROM_SERVICE, FieldDirection.OFF}


def blocked(kind: str, directions: Mapping[str, Any]) -> Blocked:
    """What a connection's `field_directions` blocks for one kind of item; names it does not
    know (a field since dropped from the mapping) are ignored, as two-way."""
    named = directions.get(kind) if isinstance(directions, Mapping) else None
    mapped = MAPPED_FIELDS.get(kind, {})
    incoming: set[str] = set()
    outgoing: set[str] = set()
    for name, direction in (named or {}).items():
        codec_fields = mapped.get(name, ())
        if direction in _NOT_IN:
            incoming.update(codec_fields)
        if direction in _NOT_OUT:
            outgoing.update(codec_fields)
    return Blocked(frozenset(incoming), frozenset(outgoing))


def decide_directed(
    rule: Blocked,
    base: Fields | None,
    local: Side,
    remote: Side,
    strategy: Strategy | str = Strategy.MANUAL,
    direction: Direction | str = Direction.TWO_WAY,
) -> Decision:
    """`decide`, with each field flowing only the way its direction allows.

    A side's blocked fields are read as the base's before deciding, so a change there is no
    change; each update then carries, for the fields that may not flow its way, the written
    side's own value, so a write never overwrites it (and a provider that replaces the whole
    item keeps it). The base keeps the service's value of the fields that may not go out, so
    the next write carries that value and the next run sees no change that is not there.
    A new item (no base yet) is copied whole: it cannot exist on the other side without its
    title or time, and directions are about changes to linked items.
    """
    if base is None or not rule:
        return decide(base, local, remote, strategy, direction)
    decision = decide(
        base,
        _masked(local, base, rule.outgoing),
        _masked(remote, base, rule.incoming),
        strategy,
        direction,
    )
    decision = _restricted(decision, rule, local.fields, remote.fields)
    return _still_incoming(decision, rule, base, local.fields, remote.fields)


def _masked(side: Side, base: Fields, names: frozenset[str]) -> Side:
    if side.fields is None or not names:
        return side
    fields = {**side.fields, **{n: base[n] for n in names if n in base and n in side.fields}}
    changed = side.changed and not same(fields, base)
    return dataclasses.replace(side, fields=fields, changed=changed)


def _restricted(
    decision: Decision, rule: Blocked, local: Fields | None, remote: Fields | None
) -> Decision:
    actions = tuple(
        dataclasses.replace(action, fields=_kept(action.fields, local, rule.incoming))
        if action.op is Op.UPDATE_LOCAL
        else dataclasses.replace(action, fields=_kept(action.fields, remote, rule.outgoing))
        if action.op is Op.UPDATE_REMOTE
        else action
        for action in decision.actions
    )
    base = decision.base
    if base is not None and not decision.is_conflict:
        base = _kept(base, remote, rule.outgoing)
    return dataclasses.replace(decision, actions=actions, base=base)


def _still_incoming(
    decision: Decision, rule: Blocked, base: Fields, local: Fields | None, remote: Fields | None
) -> Decision:
    """The service's change of a field that comes only from it still comes in when DayFlow's
    newer version won the rest (latest wins): the base now holds the service's value, so the
    next run would not bring it."""
    only_in = rule.outgoing - rule.incoming
    ops = decision.ops
    if local is None or remote is None or Op.UPDATE_REMOTE not in ops or Op.UPDATE_LOCAL in ops:
        return decision
    changed = {
        n: remote[n]
        for n in only_in
        if n in remote and n in local and remote[n] != base.get(n) and remote[n] != local[n]
    }
    if not changed:
        return decision
    update = Action(Op.UPDATE_LOCAL, {**local, **changed})
    return dataclasses.replace(decision, actions=(*decision.actions, update))


def _kept(fields: Fields | None, own: Fields | None, names: frozenset[str]) -> Fields | None:
    """`fields` with the written side's `own` value of each of `names` it holds."""
    if fields is None or own is None:
        return fields
    return {**fields, **{n: own[n] for n in names if n in fields and n in own}}
