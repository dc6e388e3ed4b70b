"""What to do with one item: a pure function over plain data (no ORM, no HTTP, no Django).

The engine gathers, for every item touched on either side, the base (the fields both sides
last agreed on), the local state and the remote state, asks `decide` for actions, and performs
them. Every rule of the sync lives here, so each one has a row in a table test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

Fields = Mapping[str, Any]


class Strategy(StrEnum):
    MANUAL = "manual"  # record a conflict, touch neither side
    LATEST = "latest"  # the newer modification wins
    SOURCE = "source"  # the external service wins
    MERGE = "merge"  # three-way per field; a field changed on both sides to different values
    #                  falls back to manual for that item


class Direction(StrEnum):
    TWO_WAY = "two_way"
    ONE_WAY = "one_way"  # import only: the service is the source of truth
    MANUAL = "manual"  # two-way, but only on demand


class Op(StrEnum):
    CREATE_LOCAL = "create_local"
    UPDATE_LOCAL = "update_local"  # also restores a locally deleted item
    DELETE_LOCAL = "delete_local"
    CREATE_REMOTE = "create_remote"  # also recreates a remotely deleted item
    UPDATE_REMOTE = "update_remote"
    DELETE_REMOTE = "delete_remote"
    CONFLICT = "conflict"


LOCAL, REMOTE = "local", "remote"


@dataclasses.dataclass(frozen=True)
class Side:
    """One side's state of an item: `fields` None means absent or deleted."""

    fields: Fields | None
    changed: bool = False
    modified_at: dt.datetime | None = None

    @property
    def exists(self) -> bool:
        return self.fields is not None


@dataclasses.dataclass(frozen=True)
class Action:
    op: Op
    fields: Fields | None = None
    clash: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Decision:
    """The actions to take, the base once they are done (None: unlink), and the side whose
    version a conflict rule overwrote (journaled so it stays recoverable)."""

    actions: tuple[Action, ...] = ()
    base: Fields | None = None
    loser: str = ""

    @property
    def ops(self) -> tuple[Op, ...]:
        return tuple(action.op for action in self.actions)

    @property
    def is_conflict(self) -> bool:
        return Op.CONFLICT in self.ops


def decide(
    base: Fields | None,
    local: Side,
    remote: Side,
    strategy: Strategy | str = Strategy.MANUAL,
    direction: Direction | str = Direction.TWO_WAY,
) -> Decision:
    """Decide what to do with one item.

    `base` is None when the item is not linked yet (a new item on one side, or a pair matched
    by DayFlow's id on a first sync). An unchanged side must carry its current fields.
    """
    strategy, direction = Strategy(strategy), Direction(direction)
    push = direction is not Direction.ONE_WAY
    if not push:
        strategy = Strategy.SOURCE
    if base is None:
        return _unlinked(local, remote, strategy, push)
    if not local.changed and not remote.changed:
        return Decision(base=base)
    if local.changed and not remote.changed:
        return _push(base, local) if push else Decision(base=base)
    if remote.changed and not local.changed:
        return _pull(remote)
    return _both_changed(base, local, remote, strategy, push)


def _unlinked(local: Side, remote: Side, strategy: Strategy, push: bool) -> Decision:
    if local.exists and remote.exists:
        return _both_edited({}, local, remote, strategy, push)
    if local.exists:
        if not push:
            return Decision()
        return Decision((Action(Op.CREATE_REMOTE, local.fields),), base=local.fields)
    if remote.exists:
        return Decision((Action(Op.CREATE_LOCAL, remote.fields),), base=remote.fields)
    return Decision()


def _push(base: Fields, local: Side) -> Decision:
    if not local.exists:
        return Decision((Action(Op.DELETE_REMOTE),), base=None)
    if same(local.fields, base):
        return Decision(base=base)
    return Decision((Action(Op.UPDATE_REMOTE, local.fields),), base=local.fields)


def _pull(remote: Side) -> Decision:
    if not remote.exists:
        return Decision((Action(Op.DELETE_LOCAL),), base=None)
    return Decision((Action(Op.UPDATE_LOCAL, remote.fields),), base=remote.fields)


def _both_changed(
    base: Fields, local: Side, remote: Side, strategy: Strategy, push: bool
) -> Decision:
    if not local.exists and not remote.exists:
        return Decision(base=None)
    # An edit beats a delete: the deleted side gets the edited item back.
    if not local.exists:
        return Decision((Action(Op.UPDATE_LOCAL, remote.fields),), base=remote.fields, loser=LOCAL)
    if not remote.exists:
        if not push:  # import only: the service's deletion stands, the local copy is journaled
            return Decision((Action(Op.DELETE_LOCAL),), base=None, loser=LOCAL)
        return Decision((Action(Op.CREATE_REMOTE, local.fields),), base=local.fields, loser=REMOTE)
    return _both_edited(base, local, remote, strategy, push)


def _both_edited(
    base: Fields, local: Side, remote: Side, strategy: Strategy, push: bool
) -> Decision:
    assert local.fields is not None
    assert remote.fields is not None
    if same(local.fields, remote.fields):
        return Decision(base=remote.fields)
    if strategy is Strategy.SOURCE or (
        strategy is Strategy.LATEST and not _local_newer(local, remote)
    ):
        return _remote_wins(remote)
    if strategy is Strategy.LATEST:
        return _local_wins(local)
    if strategy is Strategy.MERGE:
        return _merge(base, local.fields, remote.fields, push)
    return _conflict(base, differing(local.fields, remote.fields))


def _local_newer(local: Side, remote: Side) -> bool:
    if local.modified_at is None:
        return False
    return remote.modified_at is None or local.modified_at > remote.modified_at


def _remote_wins(remote: Side) -> Decision:
    return Decision((Action(Op.UPDATE_LOCAL, remote.fields),), base=remote.fields, loser=LOCAL)


def _local_wins(local: Side) -> Decision:
    return Decision((Action(Op.UPDATE_REMOTE, local.fields),), base=local.fields, loser=REMOTE)


def _conflict(base: Fields, clash: tuple[str, ...]) -> Decision:
    return Decision((Action(Op.CONFLICT, clash=clash),), base=base)


def _merge(base: Fields, local: Fields, remote: Fields, push: bool) -> Decision:
    merged, clash = merge_fields(base, local, remote)
    if clash or not push:
        return _conflict(base, clash)
    actions = []
    if not same(merged, local):
        actions.append(Action(Op.UPDATE_LOCAL, merged))
    if not same(merged, remote):
        actions.append(Action(Op.UPDATE_REMOTE, merged))
    return Decision(tuple(actions), base=merged)


def merge_fields(
    base: Fields, local: Fields, remote: Fields
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Three-way merge per field: the merged fields and the fields that clash."""
    merged: dict[str, Any] = {}
    clash = []
    for name in sorted(set(local) | set(remote)):
        if name not in remote:
            merged[name] = local[name]
        elif name not in local:
            merged[name] = remote[name]
        elif local[name] == remote[name] or remote[name] == base.get(name, _MISSING):
            merged[name] = local[name]
        elif local[name] == base.get(name, _MISSING):
            merged[name] = remote[name]
        else:
            clash.append(name)
    return merged, tuple(clash)


@dataclasses.dataclass(frozen=True)
class MasterAfterWrite:
    """A series master once our delete of one of its instances changed it on the service."""

    local_exdates: list[str]  # for the local master, written without counting as a change
    base: dict[str, Any]  # the master's link's new base
    in_step: bool  # the link may take the service's new version: nothing else moved there


def master_after_write(base: Fields, local_exdates: list[str], remote: Fields) -> MasterAfterWrite:
    """The exception dates the service's master gained from our write become both sides'.

    The local master takes the service's dates, unless DayFlow edited its own since the base
    (an edit not pushed yet): then it keeps them and gains only the new ones. A master that
    also changed otherwise on the service keeps its old version on the link, so the next pull
    brings that change as it would have.
    """
    before, after = list(base.get("exdates") or []), list(remote.get("exdates") or [])
    local = list(local_exdates)
    if local != before:
        local = sorted({*local, *(date for date in after if date not in before)})
    else:
        local = after
    new_base = {**base, "exdates": after}
    return MasterAfterWrite(local, new_base, same(remote, new_base))


def same(a: Fields | None, b: Fields | None) -> bool:
    """Equal on the fields both sides know (a service may not carry every field)."""
    if a is None or b is None:
        return a is b
    return not differing(a, b)


def differing(a: Fields, b: Fields) -> tuple[str, ...]:
    return tuple(sorted(name for name in set(a) & set(b) if a[name] != b[name]))


_MISSING = object()
