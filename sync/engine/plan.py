"""Plan: pair what was pulled with the local changes and their links, and decide each pair.

`plan(run, pulled, watermark)` returns the pairs to apply, each with its `Decision` (from
`sync.decisions`, pure). Pairs are keyed while they are gathered by what identifies them so
far: their link, else the remote item, else the local item (`LinkKey`, `RemoteKey`,
`LocalKey`); a pair found twice (a remote item carrying DayFlow's id, a link whose create a
crash lost) is merged under its link.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Exists, OuterRef

from dayflow.models import Event, Task
from integrations.providers.base import RemoteItem
from sync import conf, decisions, deletion_policy, directions, links
from sync import fields as codec
from sync.decisions import Decision, Op
from sync.engine.pull import Pulled
from sync.engine.run import Run
from sync.mapping import FK, fk_column, model_for, parse_dayflow_id
from sync.models import Conflict, ItemLink, ItemType, SyncLink
from sync.rules import Outcome, matches, outcome

CHUNK = 500  # ids per IN (...) lookup, well under SQLite's parameter limit


@dataclasses.dataclass(frozen=True)
class LinkKey:
    link_id: int


@dataclasses.dataclass(frozen=True)
class RemoteKey:
    remote_id: str


@dataclasses.dataclass(frozen=True)
class LocalKey:
    item_type: str
    local_id: int


Key = LinkKey | RemoteKey | LocalKey


@dataclasses.dataclass
class Pair:
    """One item touched on either side, with everything `decide` and the writes need."""

    item_type: str
    link: ItemLink | None = None
    local: Task | Event | None = None
    remote: RemoteItem | None = None
    remote_deleted: bool = False
    decision: Decision = dataclasses.field(default_factory=Decision)
    local_json: dict[str, Any] | None = None
    remote_json: dict[str, Any] | None = None
    conflict: Conflict | None = None
    # The link's mark under the "unlink" or "ask" deletion policy (`sync.deletion_policy`).
    deletion_mark: str = ""
    outcome: Outcome = Outcome.SYNC
    # For a DayFlow item new to this connection: the container its list's destination names
    # (`sync.links`), where it is created.
    destination: str = ""
    # For a linked item moved to a DayFlow list whose destination is another container of
    # this connection: that container, where the service moves it (`remote.move`).
    move_to: str = ""
    # DayFlow's copy moved to a list another connection takes (`ItemLink.handover_to`):
    # this connection lets go of its copy, deleting it or not (`decisions.hand_over`).
    handed_over: bool = False


Pairs = dict[Key, Pair]


def key(link: ItemLink | None, item: RemoteItem | None = None) -> LinkKey | RemoteKey:
    if link is not None:
        return LinkKey(link.pk)
    return RemoteKey(item.remote_id if item else "")


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- the plan ------------------------------------------------------------------------------------
def plan(run: Run, pulled: Pulled, watermark: dt.datetime | None) -> list[Pair]:
    pairs: Pairs = {}
    links = links_for_remote(run, pulled)
    follow_moves(run, pulled, links)
    add_remote(pairs, pulled, links)
    add_local_changes(run, pairs, watermark)
    load_locals(run, pairs)
    match_by_dayflow_id(run, pairs)
    drop_deleted_instances(run, pairs)
    settle_intents(run, pairs)
    leave_undone(pairs)
    leave_kept_apart(pairs)
    series = series_remote_ids(run, pairs)
    open_conflicts = find_open_conflicts(pairs)
    for pair in pairs.values():
        decide_pair(run, pair, series)
        if pair.link is not None and pair.link.pk in open_conflicts:
            keep_conflict(pair, open_conflicts[pair.link.pk])
        pair.outcome = follow_rules(run, pair)
    planned = [
        p
        for p in pairs.values()
        if p.outcome is not Outcome.LEAVE_OUT and (p.decision.actions or touches(p))
    ]
    note_rules(run, pairs.values())
    # An instance's deletion rewrites its master on the service: after the master's own
    # writes, so the master's link is settled once (see `remote.settle_master`).
    return sorted(planned, key=deletes_an_instance)


def links_for_remote(run: Run, pulled: Pulled) -> dict[str, ItemLink]:
    links = ItemLink.objects.filter(connection=run.connection, item_type__in=run.types)
    if pulled.full:
        # A full listing covers everything the provider's pull reaches (several calendars
        # behind one cursor): its links carry their own calendar.
        return {link.remote_id: link for link in links.exclude(remote_id="")}
    ids = [*pulled.items, *pulled.deleted]
    return {
        link.remote_id: link
        for chunk in chunks(ids, CHUNK)
        for link in links.filter(remote_id__in=chunk)
    }


def follow_moves(run: Run, pulled: Pulled, links: dict[str, ItemLink]) -> None:
    """Items moved at the service to another container the connection syncs, where the move
    gives them another remote id (a Google event's id carries its calendar): the link of the
    id that went away follows the item to its new id, so the item moves in DayFlow instead of
    being deleted there and imported again. Only an id that went away in this same pull is
    followed: the same event in two calendars at once (a meeting) stays two items."""
    if not run.provider.moves_change_ids:
        return
    gone = set(pulled.deleted)
    if pulled.full:
        gone |= set(links) - set(pulled.items)
    arrived = [remote_id for remote_id in pulled.items if remote_id not in links]
    if not gone or not arrived:
        return
    containers = set(
        SyncLink.objects.filter(connection=run.connection).values_list("collection", flat=True)
    )
    for remote_id in arrived:
        for before in run.provider.ids_in_other_containers(remote_id, containers):
            link = links.get(before)
            if before in gone and link is not None:
                del links[before]
                pulled.deleted.discard(before)
                link.remote_id = remote_id
                links[remote_id] = link
                break


def add_remote(pairs: Pairs, pulled: Pulled, links: dict[str, ItemLink]) -> None:
    for remote_id, item in pulled.items.items():
        link = links.get(remote_id)
        pairs[key(link, item)] = Pair(str(item.item_type), link=link, remote=item)
    gone = set(pulled.deleted)
    if pulled.full:
        gone |= set(links) - set(pulled.items) - set(pulled.unsyncable)
    for remote_id in gone:
        link = links.get(remote_id)
        if link is not None:
            pairs[key(link)] = Pair(link.item_type, link=link, remote_deleted=True)


def add_local_changes(run: Run, pairs: Pairs, watermark: dt.datetime | None) -> None:
    skew = dt.timedelta(seconds=int(conf.get("DAYFLOW_SYNC_CLOCK_SKEW")))
    for item_type in run.types:
        candidates = model_for(item_type).all_objects.filter(user_id=run.connection.user_id)
        if watermark is not None:
            candidates = candidates.filter(updated_at__gte=watermark - skew)
        # Items whose own link already holds their version are not changes: leave them in
        # the database (after a first sync that is every item it wrote, since they were
        # written after the watermark), so the cost follows the changes, not the account.
        in_step = ItemLink.objects.filter(
            connection=run.connection,
            **{FK[item_type]: OuterRef("pk")},
            local_version=OuterRef("version"),
        )
        objs = {obj.pk: obj for obj in candidates.exclude(Exists(in_step))}
        own, elsewhere = links_of_locals(run, item_type, list(objs))
        destinations = links.destination_map(run.connection.user_id, item_type)
        # A move in DayFlow goes out unless the list's direction keeps it here.
        moves_go_out = (
            "list" not in directions.blocked(item_type, run.connection.field_directions).outgoing
        )
        for pk, obj in objs.items():
            link = own.get(pk)
            destination = destinations.get(links.side_id(item_type, obj))
            destined_here = (
                destination is not None and destination.connection_id == run.connection.pk
            )
            if not decisions.syncs_local_change(
                linked_here=link is not None,
                linked_elsewhere=pk in elsewhere,
                deleted=obj.is_deleted,
                in_step=link is not None and obj.version == link.local_version,
                destined_here=destined_here,
            ):
                if run.job.dry_run and link is None and pk not in elsewhere and not obj.is_deleted:
                    run.unsent.append((item_type, obj))
                continue
            k = key(link) if link else LocalKey(item_type, pk)
            pair = pairs.setdefault(k, Pair(item_type, link=link))
            pair.local = obj
            if link is None and destined_here:
                pair.destination = destination.collection
            elif (
                link is not None
                and moves_go_out
                and destined_here
                and not obj.is_deleted
                and not _instance(obj)
                and not in_its_containers_list(run, link, links.side_id(item_type, obj))
            ):
                pair.move_to = moved_to(run, link, destination.collection)


def _instance(obj: Task | Event) -> bool:
    """An overridden instance of a series: it moves with its series, never alone."""
    return getattr(obj, "series_id", None) is not None


def in_its_containers_list(run: Run, link: ItemLink, side: int | None) -> bool:
    """Whether a linked item is in the DayFlow list its container at the service feeds: then
    it is where it belongs, whatever that list's destination (an edit, or its list deleted so
    that it and its container's link both went to the Inbox, is no move)."""
    fed = run.settings.by_container.get((link.item_type, link.collection))
    return fed is not None and fed.dayflow_side_id == side


def moved_to(run: Run, link: ItemLink, container: str) -> str:
    """The container a linked item moves to at the service: its list's destination, when
    that is another container the service can move it to ("" when it stays)."""
    if not run.provider.supports_move or not container or not link.remote_id:
        return ""
    return container if link.collection and container != link.collection else ""


def links_of_locals(
    run: Run, item_type: str, pks: list[int]
) -> tuple[dict[int, ItemLink], set[int]]:
    """The links of these local items: this connection's by item, and the items linked
    through another connection."""
    column = fk_column(item_type)
    own: dict[int, ItemLink] = {}
    elsewhere: set[int] = set()
    for chunk in chunks(pks, CHUNK):
        for link in ItemLink.objects.filter(**{f"{column}__in": chunk}):
            local_id = getattr(link, column)
            if link.connection_id == run.connection.pk:
                own[local_id] = link
            elif link.handover_to_id != run.connection.pk:  # handed to this one: ours to take
                elsewhere.add(local_id)
    return own, elsewhere


def load_locals(run: Run, pairs: Pairs) -> None:
    for item_type in run.types:
        wanted = [
            p.link.local_id
            for p in pairs.values()
            if p.item_type == item_type and p.local is None and p.link and p.link.local_id
        ]
        objs = fetch_locals(run, item_type, wanted)
        for pair in pairs.values():
            if pair.item_type == item_type and pair.local is None and pair.link:
                pair.local = objs.get(pair.link.local_id)


def fetch_locals(run: Run, item_type: str, pks: Iterable[int]) -> dict[int, Task | Event]:
    model = model_for(item_type)
    found: dict[int, Task | Event] = {}
    for chunk in chunks(list(pks), CHUNK):
        query = model.all_objects.filter(pk__in=chunk, user_id=run.connection.user_id)
        found.update({obj.pk: obj for obj in query})
    return found


def match_by_dayflow_id(run: Run, pairs: Pairs) -> None:
    """Unlinked remote items that carry DayFlow's id pair with that local item (first sync
    and creates whose link a crash lost), instead of being imported as copies."""
    unlinked = [p for p in pairs.values() if p.link is None and p.remote is not None]
    wanted: dict[str, list[int]] = {t: [] for t in run.types}
    for pair in unlinked:
        ref = parse_dayflow_id(pair.remote.dayflow_id)
        if ref and ref.item_type in wanted:
            wanted[ref.item_type].append(ref.pk)
    for item_type, pks in wanted.items():
        if not pks:
            continue
        objs = fetch_locals(run, item_type, pks)
        own, elsewhere = links_of_locals(run, item_type, list(objs))
        for pair in unlinked:
            ref = parse_dayflow_id(pair.remote.dayflow_id)
            if not ref or ref.item_type != item_type or ref.pk not in objs:
                continue
            if decisions.adopts_by_dayflow_id(
                linked_here=ref.pk in own, linked_elsewhere=ref.pk in elsewhere
            ):
                adopt(pairs, pair, objs[ref.pk], own.get(ref.pk))


def adopt(pairs: Pairs, pair: Pair, obj: Task | Event, link: ItemLink | None) -> None:
    pairs.pop(LocalKey(pair.item_type, obj.pk), None)
    if link is not None:
        pairs.pop(key(link), None)
        if link.remote_id and link.remote_id != pair.remote.remote_id:
            return  # linked to another remote item already: this one is a stray copy
        link.remote_id = pair.remote.remote_id
        pair.link = link
    pair.local = obj


def drop_deleted_instances(run: Run, pairs: Pairs) -> None:
    """Unlinked cancelled instances whose DayFlow copy is deleted are in step already:
    Google keeps an instance DayFlow deleted as a cancelled exception of its series, which
    the next pull would otherwise import as a new item."""
    cancelled = {
        k: (p.remote.fields["series_remote_id"], p.remote.fields["recurrence_id"])
        for k, p in pairs.items()
        if p.link is None and p.local is None and is_cancelled_instance(p.remote)
    }
    if not cancelled:
        return
    masters = dict(
        ItemLink.objects.filter(
            connection=run.connection, remote_id__in={s for s, _ in cancelled.values()}
        )
        .exclude(event=None)
        .values_list("remote_id", "event_id")
    )
    deleted = set(
        Event.all_objects.filter(
            user_id=run.connection.user_id,
            series_id__in=list(masters.values()),
            deleted_at__isnull=False,
        ).values_list("series_id", "recurrence_id")
    )
    for k, (series_remote_id, recurrence_id) in cancelled.items():
        if (masters.get(series_remote_id), recurrence_id) in deleted:
            del pairs[k]


def settle_intents(run: Run, pairs: Pairs) -> None:
    """Links whose remote create an earlier run began but did not record (a crash between
    the write and the link save): find the item by DayFlow's id, or create it now."""
    pending = ItemLink.objects.filter(
        connection=run.connection, remote_id="", item_type__in=run.types, undone_at=None
    )
    matched = {p.link.pk for p in pairs.values() if p.link is not None and p.remote}
    for link in pending:
        if link.pk in matched:
            continue  # the pull brought the item back with DayFlow's id: already matched
        pair = pairs.get(key(link)) or Pair(link.item_type, link=link)
        found = find_by_dayflow_id(run, link.dayflow_id)
        if found is not None:
            pairs.pop(RemoteKey(found.remote_id), None)
            pair.link.remote_id = found.remote_id
            pair.remote = found
        pairs[key(link)] = pair
    load_locals(run, pairs)


def find_by_dayflow_id(run: Run, value: str) -> RemoteItem | None:
    find = getattr(run.provider, "find_by_dayflow_id", None)
    if find is None or not value:
        return None
    try:
        found = find(value)
    except NotImplementedError:
        return None
    run.counts["api_calls"] += 1
    return found


def leave_undone(pairs: Pairs) -> None:
    """Pairs an undo left apart wait for the user's "send again" (sync.repair): syncing them
    now would delete the side undo kept, or import again the copy it removed."""
    for k in [k for k, p in pairs.items() if p.link is not None and p.link.undone_at]:
        del pairs[k]


def leave_kept_apart(pairs: Pairs) -> None:
    """Pairs the deletion policy kept apart: unlinked for good, or a deletion waiting for the
    person (sync.deletions). Syncing them would delete the kept copy or send it back as new."""
    for k in [k for k, p in pairs.items() if p.link is not None and p.link.deletion_pending]:
        del pairs[k]


def series_remote_ids(run: Run, pairs: Pairs) -> dict[int, str]:
    series_ids = {
        p.local.series_id
        for p in pairs.values()
        if isinstance(p.local, Event) and p.local.series_id
    }
    if not series_ids:
        return {}
    links = ItemLink.objects.filter(connection=run.connection, event_id__in=series_ids)
    return {link.event_id: link.remote_id for link in links}


def find_open_conflicts(pairs: Pairs) -> dict[int, Conflict]:
    link_ids = [p.link.pk for p in pairs.values() if p.link is not None and p.link.pk]
    return {
        conflict.link_id: conflict
        for chunk in chunks(link_ids, CHUNK)
        for conflict in Conflict.objects.filter(link_id__in=chunk, status=Conflict.Status.OPEN)
    }


def keep_conflict(pair: Pair, conflict: Conflict) -> None:
    """An item with an open conflict waits for the user (`decisions.frozen_by_conflict`)."""
    if pair.remote_json is None:
        pair.remote_json = conflict.remote
    pair.decision = decisions.frozen_by_conflict(
        pair.link.base, pair.local_json, pair.remote_json, conflict.remote
    )
    pair.conflict = conflict
    pair.deletion_mark = ""


def decide_pair(run: Run, pair: Pair, series: dict[int, str]) -> None:
    link, obj, item = pair.link, pair.local, pair.remote
    pending = link is not None and not link.remote_id
    base = None if link is None or pending else link.base
    lacks = run.provider.lacking()
    if obj is not None:
        fields = codec.local_fields(obj, series.get(getattr(obj, "series_id", None), ""))
        pair.local_json = codec.carried(pair.item_type, fields, lacks)
    if item is not None:
        pair.remote_json = codec.carried(
            pair.item_type, codec.encode(pair.item_type, item.fields), lacks
        )
    alive = obj is not None and not obj.is_deleted
    local = decisions.local_side(
        base,
        pair.local_json if alive else None,
        version=obj.version if obj is not None else None,
        synced_version=link.local_version if link is not None else None,
        modified_at=obj.updated_at if obj is not None else None,
    )
    remote = decisions.remote_side(
        base,
        pair.remote_json,
        pending=pending,
        deleted=pair.remote_deleted,
        version=item.version if item is not None else "",
        synced_version=link.remote_version if link is not None else "",
        modified_at=item.updated_at if item is not None else None,
    )
    connection = run.connection
    if (
        alive
        and link is not None
        and link.remote_id
        and link.handover_to_id not in (None, connection.pk)
    ):
        hand_over(run, pair, remote)
        return
    rule = directions.blocked(pair.item_type, connection.field_directions)
    decision = directions.decide_directed(
        rule, base, local, remote, connection.conflict_resolution, connection.sync_direction
    )
    policy = run.settings.policy(pair.item_type, container_of(pair))
    outcome = deletion_policy.on_deletion(decision, policy, base=base)
    pair.decision, pair.deletion_mark = outcome.decision, str(outcome.mark)


def hand_over(run: Run, pair: Pair, remote: decisions.Side) -> None:
    """Let go of an item DayFlow moved to a list another connection takes: delete this
    service's copy, keep it apart, or ask the person, as `decisions.hand_over` says."""
    policy = run.settings.policy(pair.item_type, container_of(pair))
    way = decisions.hand_over(
        policy=policy, remote_changed=remote.changed, remote_gone=pair.remote_deleted
    )
    pair.handed_over = True
    if pair.remote_deleted:  # nothing left at the service: nothing to keep apart
        pair.decision = Decision(base=None)
        return
    if way is decisions.Handover.DELETE:
        pair.decision = Decision((decisions.Action(Op.DELETE_REMOTE),), base=None)
        return
    # The link stays, marked: the engine leaves the pair alone, so the copy kept at the
    # service is never imported into DayFlow again as a second item.
    pair.decision = Decision(base=pair.link.base if pair.link else None)
    asks = way is decisions.Handover.ASK
    pair.deletion_mark = str(deletion_policy.Mark.MOVED if asks else deletion_policy.Mark.UNLINKED)


def container_of(pair: Pair) -> str:
    """The container the pair lives in at the service: the remote item's, else its link's,
    else (a DayFlow item new to the connection) its destination's."""
    if pair.remote is not None:
        return pair.remote.collection
    if pair.link is not None:
        return pair.link.collection
    return pair.destination


def follow_rules(run: Run, pair: Pair) -> Outcome:
    """The rules of the pair's container (`sync.rules`; its link's own, else the
    connection's) on one decided pair: a pair out of them is left out, or unlinked without
    any write (`decision.base` None drops the link), or updated and then unlinked
    (`phases.apply_batch` drops its link after the writes)."""
    rules = run.settings.rules(pair.item_type, container_of(pair))
    if not rules:
        return Outcome.SYNC
    sides = []
    if pair.local_json is not None and pair.local is not None and not pair.local.is_deleted:
        sides.append({**pair.local_json, "tags": list(getattr(pair.local, "tags", None) or [])})
    if pair.remote_json is not None and pair.remote is not None:
        sides.append({**pair.remote.fields, **pair.remote_json})
    ops = set(pair.decision.ops)
    found = outcome(
        linked=pair.link is not None,
        pending=pair.link is not None and not pair.link.remote_id,
        in_conflict=pair.conflict is not None or pair.decision.is_conflict,
        sides_match=[matches(pair.item_type, side, rules, run.today) for side in sides],
        updates_only=bool(ops) and ops <= {Op.UPDATE_LOCAL, Op.UPDATE_REMOTE},
    )
    if found is Outcome.UNLINK:
        pair.decision = Decision(base=None)
    return found


def note_rules(run: Run, pairs: Iterable[Pair]) -> None:
    """How many items the rules kept out and let go, on the job's report (its page says so)."""
    counted = {Outcome.LEAVE_OUT: 0, Outcome.UNLINK: 0}
    for pair in pairs:
        if pair.outcome is Outcome.UPDATE_THEN_UNLINK:
            counted[Outcome.UNLINK] += 1
        elif pair.outcome in counted:
            counted[pair.outcome] += 1
    if any(counted.values()):
        run.note_report(
            rules={"left_out": counted[Outcome.LEAVE_OUT], "unlinked": counted[Outcome.UNLINK]}
        )


def moved_at_service(pair: Pair) -> bool:
    link, item = pair.link, pair.remote
    return bool(
        link is not None
        and item is not None
        and link.collection
        and item.collection
        and item.collection != link.collection
    )


def touches(pair: Pair) -> bool:
    """Pairs without writes that still move a link (agreement, new versions, unlink) or
    refresh what the service shows read-only."""
    link = pair.link
    if link is None:
        return pair.local is not None and pair.remote is not None
    if pair.decision.base is None or pair.deletion_mark:
        return True
    if pair.decision.base != link.base or not link.remote_id:
        return True
    if pair.remote is not None and pair.remote.version != link.remote_version:
        return True
    if moved_at_service(pair):  # some services move an item without a new version
        return True
    if shows_new_read_only(pair):
        return True
    return pair.local is not None and pair.local.version != link.local_version


def shows_new_read_only(pair: Pair) -> bool:
    obj, item = pair.local, pair.remote
    if obj is None or item is None or not item.read_only:
        return False
    return bool(codec.read_only_changes(obj, item.read_only))


def is_cancelled_instance(item: RemoteItem | None) -> bool:
    if item is None or item.item_type != ItemType.EVENT:
        return False
    fields = item.fields
    return fields.get("status") == "cancelled" and bool(fields.get("series_remote_id"))


def deletes_an_instance(pair: Pair) -> bool:
    base = pair.link.base if pair.link is not None else None
    return Op.DELETE_REMOTE in pair.decision.ops and bool((base or {}).get("series_remote_id"))
