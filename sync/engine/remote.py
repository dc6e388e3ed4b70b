"""Remote writes: one by one, each followed by its link (and journal entry) in a small
transaction, so a crash loses at most the link of one write, which the next run recovers.
A provider that batches writes sends a batch at once, then each pair is recorded the same
way: a crash loses at most the links of one batch, whose creates have their intents saved
first and carry DayFlow's id (and Todoist's command uuids), so the rerun finds them."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from typing import NamedTuple

from django.db import transaction

from dayflow.models import Event
from integrations.providers.base import Provider, RemoteItem, Write, WriteResult
from integrations.providers.errors import NotFound, Permanent, PreconditionFailed, ProviderError
from sync import bulk, decisions
from sync import fields as codec
from sync.decisions import Action, Decision, Op, master_after_write
from sync.engine.crash import crash_point
from sync.engine.journal import journal
from sync.engine.plan import Pair, chunks
from sync.engine.run import Run
from sync.mapping import FK, dayflow_id
from sync.models import ItemLink, ItemType, JournalEntry

log = logging.getLogger(__name__)


class Written(NamedTuple):
    """A pair once its remote write is done (what the local writes then record), and the
    series master the service changed when the write deleted one of its instances."""

    pair: Pair
    master: RemoteItem | None = None


def prepare_creates(run: Run, batch: list[Pair]) -> list[Pair]:
    """Save an intent (a link without a remote id) before creating remote items, so a
    rerun after a crash looks for the item it may have created instead of copying it.
    Returns the batch, the pairs to create with their intent."""
    prepared, new_links = [], []
    for pair in batch:
        if Op.CREATE_REMOTE in pair.decision.ops and pair.local is not None:
            if pair.link is None:
                pair = dataclasses.replace(pair, link=_intent(run, pair))
                new_links.append(pair.link)
            elif pair.link.remote_id:
                pair.link.remote_id = ""  # recreating an item the service deleted
                pair.link.save(update_fields=["remote_id"])
        prepared.append(pair)
    bulk.create(new_links)
    return prepared


def _intent(run: Run, pair: Pair) -> ItemLink:
    return ItemLink(
        connection=run.connection,
        item_type=pair.item_type,
        dayflow_id=dayflow_id(pair.item_type, pair.local.pk),
        collection=pair.destination,
        base=dict(pair.decision.base or {}),
        **{FK[pair.item_type]: pair.local},
    )


def write(run: Run, pair: Pair) -> Written:
    """Apply the pair's remote write, if any."""
    ops = pair.decision.ops
    try:
        if Op.CREATE_REMOTE in ops:
            return Written(_create(run, pair))
        if Op.UPDATE_REMOTE in ops:
            return Written(_update(run, pair))
        if Op.DELETE_REMOTE in ops:
            return _delete(run, pair)
    except PreconditionFailed:
        return _conflict(run, pair)
    except Permanent as error:
        return Written(_item_failed(run, pair, error))
    return Written(pair)


def write_all(run: Run, pairs: list[Pair]) -> list[Written]:
    """Every pair's remote write: one by one, or, for a provider that batches writes
    (`write_batch_size` > 1) or writes side by side (`write_concurrency` > 1), its creates,
    updates and deletes in batches (`writes_per_batch`), each pair then recorded as a single
    write is. A failure of one write is that pair's alone; an error that is not an item's (a
    rate limit) stops the run once the batch is recorded.

    Side by side, the writes keep their order around the ones that go alone (a series
    instance's delete): a batch is sent before such a write, so a CalDAV master and its
    instance, which share one resource, are written in the order the plan has them."""
    size = writes_per_batch(run.provider)
    if size <= 1:
        return [write(run, pair) for pair in pairs]
    written: dict[int, Written] = {}
    side_by_side = run.provider.write_batch_size <= 1
    stop: ProviderError | None = None
    for step in _steps(pairs, size, in_order=side_by_side):
        if isinstance(step, int):
            written[step] = write(run, pairs[step])
            continue
        stop = _send(run, step, written) or stop
        if stop is not None and side_by_side:
            break  # what is left waits for the next run, as after a single write's error
    if stop is not None:
        raise stop
    return [written[index] for index in range(len(pairs))]


def _steps(pairs: list[Pair], size: int, *, in_order: bool) -> list[int | list[tuple[int, Pair]]]:
    """What to send, in order: a pair's index (a single write) or a batch of (index, pair).
    Batching services: the single writes first, then the batches. Side by side: in order."""
    if not in_order:
        batched = [(index, pair) for index, pair in enumerate(pairs) if _batchable(pair)]
        singles = [index for index, pair in enumerate(pairs) if not _batchable(pair)]
        return [*singles, *chunks(batched, size)]
    steps: list[int | list[tuple[int, Pair]]] = []
    pending: list[tuple[int, Pair]] = []
    for index, pair in enumerate(pairs):
        if _batchable(pair):
            pending.append((index, pair))
            if len(pending) == size:
                steps.append(pending)
                pending = []
            continue
        if pending:
            steps.append(pending)
            pending = []
        steps.append(index)
    if pending:
        steps.append(pending)
    return steps


def _send(
    run: Run, chunk: list[tuple[int, Pair]], written: dict[int, Written]
) -> ProviderError | None:
    """One batch to `write_batch`, each result recorded; the error that stops the run, if any."""
    results = run.provider.write_batch([_request(pair) for _index, pair in chunk])
    # The HTTP client counts every call it took; here a batch is one, a write side by side
    # with others is one as a single write is.
    run.counts["api_calls"] += 1 if run.provider.write_batch_size > 1 else len(chunk)
    crash_point("after_remote_batch")
    stop: ProviderError | None = None
    for (index, pair), result in zip(chunk, results, strict=True):
        if isinstance(result, ProviderError) and not isinstance(result, Permanent):
            stop = stop or result  # not the item's fault: left for the next run
            continue
        written[index] = _record(run, pair, result)
    return stop


# A provider writing side by side (`write_concurrency`) is given this many writes per thread
# at a time: the engine records each round's results (on its own thread, with the database)
# before the next round starts, so a crash loses at most one round's links, as for a batch.
WRITES_PER_THREAD = 10


def writes_per_batch(provider: type[Provider] | Provider) -> int:
    """How many writes the engine hands `write_batch` at a time: the service's batch, or a
    round of writes side by side; 1: item by item, through `write`."""
    if provider.write_batch_size > 1:
        return provider.write_batch_size
    if provider.write_concurrency > 1:
        return provider.write_concurrency * WRITES_PER_THREAD
    return 1


def _batchable(pair: Pair) -> bool:
    ops = pair.decision.ops
    if Op.CREATE_REMOTE in ops:
        return pair.local is not None
    if Op.UPDATE_REMOTE in ops:
        return True
    # A series instance's delete changes its master, which only the single write returns.
    return Op.DELETE_REMOTE in ops and not (pair.link.base or {}).get("series_remote_id")


def _request(pair: Pair) -> Write:
    link, ops = pair.link, pair.decision.ops
    if Op.CREATE_REMOTE in ops:
        fields = codec.decode(_action(pair, Op.CREATE_REMOTE).fields)
        # Its intent was saved before any write (`prepare_creates`), and an intent an earlier
        # run left was looked for at the service before this run's writes (`settle_intents`).
        return Write(
            "create",
            fields,
            dayflow_id=link.dayflow_id or _local_id(pair),
            collection=_container(pair),
            looked_up=True,
        )
    if Op.UPDATE_REMOTE in ops:
        fields = codec.decode(_action(pair, Op.UPDATE_REMOTE).fields)
        return Write("update", fields, remote_id=link.remote_id, version=_seen(pair))
    return Write("delete", remote_id=link.remote_id, version=_seen(pair))


def _record(run: Run, pair: Pair, result: WriteResult) -> Written:
    """One batched write's result, recorded as `write` records the single write's."""
    ops = pair.decision.ops
    if isinstance(result, NotFound) and Op.DELETE_REMOTE in ops:
        result = None  # already gone: the outcome we wanted
    if isinstance(result, PreconditionFailed):
        return _conflict(run, pair)
    if isinstance(result, Permanent):
        return Written(_item_failed(run, pair, result))
    if Op.CREATE_REMOTE in ops and isinstance(result, RemoteItem):
        crash_point("after_remote_create")
        return Written(_created(run, pair, result))
    if Op.UPDATE_REMOTE in ops and isinstance(result, RemoteItem):
        return Written(_updated(run, pair, result))
    if Op.DELETE_REMOTE in ops and result is None:
        return _deleted(run, pair, None)
    error = Permanent(f"no result for {ops}", service=run.provider.key)
    return Written(_item_failed(run, pair, error))


def _conflict(run: Run, pair: Pair) -> Written:
    run.counts["conflicts"] += 1
    base = pair.link.base if pair.link else None
    decision = decisions.after_precondition_failed(base)
    return Written(dataclasses.replace(pair, decision=decision, local=None, remote=None))


def _item_failed(run: Run, pair: Pair, error: Exception) -> Pair:
    """The error on the item's link; nothing more to save for it in this run."""
    run.counts["errors"] += 1
    log.warning("sync job %s: item failed: %s", run.job.pk, error)
    if pair.link is not None and pair.link.pk:
        ItemLink.objects.filter(pk=pair.link.pk).update(last_error=str(error)[:2000])
    decision = Decision(base=pair.link.base if pair.link else None)
    return dataclasses.replace(pair, decision=decision, local=None, remote=None, link=None)


def _create(run: Run, pair: Pair) -> Pair:
    item = run.provider.write_one(_request(pair))
    run.counts["api_calls"] += 1
    crash_point("after_remote_create")
    return _created(run, pair, item)


def move(run: Run, pair: Pair) -> Pair:
    """Put a linked item in the container its DayFlow list now sends items to (`Pair.move_to`),
    after the pair's other writes: one call, journaled as a move (before and after: the
    list's name at the service, else its id). A failure of the move is the item's alone (on
    its link, counted as an error) and leaves it where it was, for the next run."""
    link, ops = pair.link, pair.decision.ops
    stays = {Op.CREATE_REMOTE, Op.DELETE_REMOTE, Op.DELETE_LOCAL, Op.CONFLICT}
    if not pair.move_to or link is None or not link.remote_id or stays & set(ops):
        return pair
    try:
        item = run.provider.move(link.remote_id, pair.move_to, link.remote_version)
    except (NotFound, PreconditionFailed, Permanent) as error:
        run.counts["errors"] += 1
        log.warning("sync job %s: move failed: %s", run.job.pk, error)
        link.last_error = f"not moved: {error}"[:2000]
        ItemLink.objects.filter(pk=link.pk).update(last_error=link.last_error)
        if Op.UPDATE_LOCAL in ops:
            return pair
        # The link keeps the item's older version, so the next run tries the move again.
        return dataclasses.replace(pair, local=None, move_to="")
    run.counts["api_calls"] += 1
    run.counts["remote_updated"] += 1
    # "_container": where the service holds it, for undo (`repair._undo_move`).
    before = {
        "list": _list_words(run, pair.item_type, pair.remote, link.collection),
        "_container": link.collection,
    }
    link.remote_id, link.remote_version = item.remote_id, item.version
    link.collection = item.collection or pair.move_to
    link.web_url = item.web_url or link.web_url
    link.last_error = ""
    if pair.local is not None and Op.UPDATE_LOCAL not in ops:
        link.local_version = pair.local.version
    moved = dataclasses.replace(pair, remote=item)
    after = {
        "list": _list_words(run, pair.item_type, item, link.collection),
        "_container": link.collection,
    }
    with transaction.atomic():
        link.save()
        journal(run, moved, JournalEntry.Side.REMOTE, JournalEntry.Op.MOVE, before, after)
    return moved


def _list_words(run: Run, item_type: str, item: RemoteItem | None, container: str) -> str:
    """The container in words: as the item names it, else as its sync link is named (learnt
    from earlier pulls: the item may not have been pulled in this run), else its id."""
    name = (item.read_only or {}).get("list_name") if item is not None else ""
    if isinstance(name, str) and name:
        return name
    link = run.settings.by_container.get((item_type, container))
    return (link.name if link is not None else "") or container


def _container(pair: Pair) -> str:
    """Where a create goes: the container of the item's list's destination, else the one
    its link knows (an item the service deleted, sent again), else the service's default."""
    return pair.destination or (pair.link.collection if pair.link else "")


def _created(run: Run, pair: Pair, item: RemoteItem) -> Pair:
    written = _save_write(run, pair, item, JournalEntry.Op.CREATE, before=None)
    run.counts["remote_created"] += 1
    return written


def _update(run: Run, pair: Pair) -> Pair:
    link, action = pair.link, _action(pair, Op.UPDATE_REMOTE)
    item = run.provider.update(link.remote_id, codec.decode(action.fields), _seen(pair))
    run.counts["api_calls"] += 1
    return _updated(run, pair, item)


def _updated(run: Run, pair: Pair, item: RemoteItem) -> Pair:
    before = pair.remote_json if pair.remote_json is not None else pair.link.base
    written = _save_write(run, pair, item, JournalEntry.Op.UPDATE, before=before)
    run.counts["remote_updated"] += 1
    return written


def _delete(run: Run, pair: Pair) -> Written:
    master = None
    with contextlib.suppress(NotFound):  # already gone: the outcome we wanted
        master = _delete_on_service(run, pair.link, _seen(pair))
    run.counts["api_calls"] += 1
    return _deleted(run, pair, master)


def _deleted(run: Run, pair: Pair, master: RemoteItem | None) -> Written:
    link = pair.link
    with transaction.atomic():
        if pair.handed_over:  # the item lives at the other service now: a move, not a loss
            before = {"list": _list_words(run, pair.item_type, pair.remote, link.collection)}
            after = {"list": str(link.handover_to) if link.handover_to_id else ""}
            journal(run, pair, JournalEntry.Side.REMOTE, JournalEntry.Op.MOVE, before, after)
        else:
            journal(run, pair, JournalEntry.Side.REMOTE, JournalEntry.Op.DELETE, link.base, None)
        link.delete()
    run.counts["remote_deleted"] += 1
    return Written(dataclasses.replace(pair, link=None), master)


def _local_id(pair: Pair) -> str:
    return dayflow_id(pair.item_type, pair.local.pk)


def _delete_on_service(run: Run, link: ItemLink, version: str) -> RemoteItem | None:
    """Delete the item; for an instance of a series, its master as the service now holds it."""
    series_remote_id = (link.base or {}).get("series_remote_id") or ""
    if not series_remote_id:
        run.provider.delete(link.remote_id, version)
        return None
    return run.provider.delete_instance(link.remote_id, series_remote_id, version)


def _save_write(run: Run, pair: Pair, item: RemoteItem, op: str, *, before: dict | None) -> Pair:
    link = pair.link
    link.remote_id = item.remote_id
    link.remote_version = item.version
    link.collection = item.collection or link.collection
    link.web_url = item.web_url or link.web_url
    link.base = dict(pair.decision.base or {})
    link.last_error = ""
    if pair.local is not None and Op.UPDATE_LOCAL not in pair.decision.ops:
        link.local_version = pair.local.version
    pair = dataclasses.replace(pair, remote=item)
    with transaction.atomic():
        link.save()
        journal(run, pair, JournalEntry.Side.REMOTE, op, before, link.base, version=item.version)
    return pair


def settle_master(run: Run, item: RemoteItem) -> None:
    """Our delete of an instance changed its master on the service (its exception dates):
    the local master and its link learn them now, so the next pull does not bring our own
    write back as a change made elsewhere, nor a later edit of the series as a conflict.
    Runs after the batch's local writes, which may have saved the same link."""
    link = (
        ItemLink.objects.filter(connection=run.connection, remote_id=item.remote_id)
        .exclude(event=None)
        .first()
    )
    master = link and Event.all_objects.filter(pk=link.event_id).first()
    if master is None:
        return
    remote = codec.encode(ItemType.EVENT, item.fields)
    settled = master_after_write(link.base or {}, master.exdates or [], remote)
    before = codec.local_fields(master)
    with transaction.atomic():
        if settled.local_exdates != list(master.exdates or []):
            master.exdates = settled.local_exdates
            master.save(update_fields=["exdates"], keep_version=True)
        link.base = settled.base
        if settled.in_step:
            link.remote_version = item.version
        link.save(update_fields=["base", "remote_version"])
        # Journaled like any local write, so undoing the deletion reverts the date too.
        pair, op = Pair(ItemType.EVENT, link=link, local=master), JournalEntry.Op.UPDATE
        version = str(master.version)
        journal(run, pair, JournalEntry.Side.LOCAL, op, before, settled.base, version=version)


def _seen(pair: Pair) -> str:
    """The remote version a write may overwrite: the one we just pulled (we decided against
    it knowingly), else the one we last synced."""
    return pair.remote.version if pair.remote is not None else pair.link.remote_version


def _action(pair: Pair, op: Op) -> Action:
    return next(action for action in pair.decision.actions if action.op == op)
