"""What to do with one item: a pure function over plain data (no ORM, no HTTP, no Django).

The engine gathers, for every item touched on either side, the base (the fields both sides
last agreed on), the local state and the remote state, asks `decide` for actions, and performs
them. Every rule of the sync lives here, so each one has a row in a table test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
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
    # The actions' ops, asked several times per item in a run: computed once, when made (a
    # `functools.cached_property` takes one lock for all instances on Python 3.11).
    ops: tuple[Op, ...] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ops", tuple(action.op for action in self.actions))

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


# --- the sides, as the engine reads them -----------------------------------------------------
def local_side(
    base: Fields | None,
    fields: Fields | None,
    *,
    version: int | None,
    synced_version: int | None,
    modified_at: dt.datetime | None = None,
) -> Side:
    """DayFlow's side of a linked item: `fields` None when it is deleted or gone, `version`
    None when the row is gone. A new version whose fields equal the base is no change (a save
    that changed nothing we sync, or our own write coming back)."""
    if base is None:
        return Side(fields)
    changed = version is None or version != synced_version
    if changed and fields is not None and same(fields, base):
        changed = False
    return Side(fields, changed=changed, modified_at=modified_at)


def remote_side(
    base: Fields | None,
    pulled: Fields | None,
    *,
    pending: bool = False,
    deleted: bool = False,
    version: str = "",
    synced_version: str = "",
    modified_at: dt.datetime | None = None,
) -> Side:
    """The service's side: `pulled` None when this run did not pull the item (unchanged there,
    or `deleted`); `pending` while our create of it is not recorded yet. Echo suppression: a
    pulled version that is the one our write returned, or fields equal to the base, is no
    change."""
    if pending or (base is None and pulled is None):
        return Side(None)
    if base is None:
        return Side(pulled, modified_at=modified_at)
    if deleted:
        return Side(None, changed=True)
    if pulled is None:
        return Side(base)
    changed = version != synced_version and not same(pulled, base)
    return Side(pulled, changed=changed, modified_at=modified_at)


# --- rules around `decide` -----------------------------------------------------------------------
def frozen_by_conflict(
    base: Fields, local: Fields | None, remote: Fields | None, conflict_remote: Fields | None
) -> Decision:
    """An item with an open conflict waits for the user: neither side is written, whatever
    changed since; the conflict is refreshed with it (the service's side as last recorded when
    this run did not pull it)."""
    remote = remote if remote is not None else conflict_remote
    clash = differing(local or {}, remote or {})
    return Decision((Action(Op.CONFLICT, clash=clash),), base=base)


def syncs_local_change(
    *,
    linked_here: bool,
    linked_elsewhere: bool,
    deleted: bool,
    in_step: bool,
    destined_here: bool = True,
) -> bool:
    """Whether a DayFlow item changed since the last sync is this connection's to push.

    An item linked only through another connection came from (or goes to) that service, not
    this one; an unlinked item goes only where its DayFlow list sends new items (its
    destination: `sync.links`), and an unlinked deleted item was never synced; a linked item
    whose version its link holds is in step."""
    if linked_here:
        return not in_step
    return destined_here and not (linked_elsewhere or deleted)


class Handover(StrEnum):
    """What the connection a DayFlow item moved away from does with its own copy."""

    DELETE = "delete"  # the copy at the service goes: the item lives at the other service now
    UNLINK = "unlink"  # the copy stays at the service, kept apart: never synced again
    ASK = "ask"  # the person says, on the connection's review list: delete the copy or keep it


def hand_over(*, policy: str, remote_changed: bool, remote_gone: bool) -> Handover:
    """A DayFlow item moved to a list whose new items go to another connection: that one
    creates it, and this one lets go of its copy. The copy is deleted only where the deletion
    policy propagates deletions and nobody changed it at the service since the last sync (an
    edit made there is never thrown away by a move); under "ask" the person decides, with the
    same exception; else it stays there, kept apart. A copy the service deleted meanwhile
    leaves nothing to delete or ask about."""
    if remote_gone or remote_changed:
        return Handover.UNLINK
    if policy == "ask":
        return Handover.ASK
    return Handover.DELETE if policy == "propagate" else Handover.UNLINK


def adopts_by_dayflow_id(*, linked_here: bool, linked_elsewhere: bool) -> bool:
    """Whether a remote item carrying DayFlow's id pairs with that DayFlow item: not when the
    item is linked through another connection only (a copy made there, not ours)."""
    return linked_here or not linked_elsewhere


def awaits_first_confirmation(
    *, latest_is_preview: bool, synced_before: bool, new_containers: bool
) -> bool:
    """Whether automatic syncs (beat, webhooks, DayFlow edits) leave a connection alone: its
    latest job is the preview of a first sync, the connection's own (it never synced for real)
    or that of containers ticked since it synced (`new_containers`: links made before that
    preview that no real sync went through yet). A sync of theirs would send and import what
    the person has not confirmed, making the duplicates the preview's matching avoids."""
    return latest_is_preview and (not synced_before or new_containers)


@dataclasses.dataclass(frozen=True)
class MassDeletion:
    """Why a run waits for confirmation before deleting."""

    deletions: int
    linked: int
    side_empty: bool


def mass_deletion(
    ops: Sequence[Op],
    *,
    linked: int,
    listed_empty: bool,
    share: float,
    minimum: int,
) -> MassDeletion | None:
    """The mass-deletion guard: None lets the run go on.

    More than `share` of the `linked` items and at least `minimum` deletions, or every linked
    item gone from one side at once whatever the size (`listed_empty`: a full listing found
    nothing), which looks like a broken account or a wrong calendar more than the user's intent.
    """
    deleted_remotely, deleted_locally = ops.count(Op.DELETE_LOCAL), ops.count(Op.DELETE_REMOTE)
    deletions = deleted_remotely + deleted_locally
    if not deletions:
        return None
    remote_empty = listed_empty or deleted_remotely >= linked
    side_empty = linked > 0 and (remote_empty or deleted_locally >= linked)
    if side_empty or (deletions >= minimum and deletions > share * linked):
        return MassDeletion(deletions, linked, side_empty)
    return None


def after_precondition_failed(base: Fields | None) -> Decision:
    """A write the service refused with 412 (the item changed there since our pull): nothing
    is written on either side now and the link keeps its base, so the next run pulls the new
    version and decides with both changes. The job counts it as a conflict."""
    return Decision(base=base)


def same(a: Fields | None, b: Fields | None) -> bool:
    """Equal on the fields both sides know (a service may not carry every field)."""
    if a is None or b is None:
        return a is b
    return not differing(a, b)


def differing(a: Fields, b: Fields) -> tuple[str, ...]:
    return tuple(sorted(name for name in set(a) & set(b) if a[name] != b[name]))


_MISSING = object()
