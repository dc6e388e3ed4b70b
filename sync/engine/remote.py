"""Remote writes: one by one, each followed by its link (and journal entry) in a small
transaction, so a crash loses at most the link of one write, which the next run recovers."""

from __future__ import annotations

import contextlib
import logging

from django.db import transaction

from dayflow.models import Event
from integrations.providers.base import RemoteItem
from integrations.providers.errors import NotFound, Permanent, PreconditionFailed
from sync import bulk, decisions
from sync import fields as codec
from sync.decisions import Action, Decision, Op, master_after_write
from sync.engine.crash import crash_point
from sync.engine.journal import journal
from sync.engine.plan import Pair
from sync.engine.run import Run
from sync.mapping import FK, dayflow_id
from sync.models import ItemLink, ItemType, JournalEntry

log = logging.getLogger(__name__)


def prepare_creates(run: Run, batch: list[Pair]) -> None:
    """Save an intent (a link without a remote id) before creating remote items, so a
    rerun after a crash looks for the item it may have created instead of copying it."""
    new_links = []
    for pair in batch:
        if Op.CREATE_REMOTE not in pair.decision.ops or pair.local is None:
            continue
        if pair.link is None:
            pair.link = ItemLink(
                connection=run.connection,
                item_type=pair.item_type,
                dayflow_id=dayflow_id(pair.item_type, pair.local.pk),
                base=dict(pair.decision.base or {}),
                **{FK[pair.item_type]: pair.local},
            )
            new_links.append(pair.link)
        elif pair.link.remote_id:
            pair.link.remote_id = ""  # recreating an item the service deleted
            pair.link.save(update_fields=["remote_id"])
    bulk.create(new_links)


def write(run: Run, pair: Pair) -> RemoteItem | None:
    """Apply the pair's remote write, if any. Returns the series master the service changed
    when the write deleted one of its instances (`settle_master` takes it in)."""
    ops = pair.decision.ops
    try:
        if Op.CREATE_REMOTE in ops:
            _create(run, pair)
        elif Op.UPDATE_REMOTE in ops:
            _update(run, pair)
        elif Op.DELETE_REMOTE in ops:
            return _delete(run, pair)
    except PreconditionFailed:
        pair.decision = decisions.after_precondition_failed(pair.link.base if pair.link else None)
        pair.local = pair.remote = None
        run.counts["conflicts"] += 1
    except Permanent as error:
        _item_failed(run, pair, error)
    return None


def _item_failed(run: Run, pair: Pair, error: Exception) -> None:
    run.counts["errors"] += 1
    log.warning("sync job %s: item failed: %s", run.job.pk, error)
    if pair.link is not None and pair.link.pk:
        ItemLink.objects.filter(pk=pair.link.pk).update(last_error=str(error)[:2000])
    pair.decision = Decision(base=pair.link.base if pair.link else None)
    pair.local = pair.remote = None
    pair.link = None  # nothing more to save for it in this run


def _create(run: Run, pair: Pair) -> None:
    link, action = pair.link, _action(pair, Op.CREATE_REMOTE)
    item = run.provider.create(
        codec.decode(action.fields),
        dayflow_id=link.dayflow_id or dayflow_id(pair.item_type, pair.local.pk),
    )
    run.counts["api_calls"] += 1
    crash_point("after_remote_create")
    _save_write(run, pair, item, JournalEntry.Op.CREATE, before=None)
    run.counts["remote_created"] += 1


def _update(run: Run, pair: Pair) -> None:
    link, action = pair.link, _action(pair, Op.UPDATE_REMOTE)
    before = pair.remote_json if pair.remote_json is not None else link.base
    item = run.provider.update(link.remote_id, codec.decode(action.fields), _seen(pair))
    run.counts["api_calls"] += 1
    _save_write(run, pair, item, JournalEntry.Op.UPDATE, before=before)
    run.counts["remote_updated"] += 1


def _delete(run: Run, pair: Pair) -> RemoteItem | None:
    link = pair.link
    master = None
    with contextlib.suppress(NotFound):  # already gone: the outcome we wanted
        master = _delete_on_service(run, link, _seen(pair))
    run.counts["api_calls"] += 1
    with transaction.atomic():
        journal(run, pair, JournalEntry.Side.REMOTE, JournalEntry.Op.DELETE, link.base, None)
        link.delete()
    pair.link = None
    run.counts["remote_deleted"] += 1
    return master


def _delete_on_service(run: Run, link: ItemLink, version: str) -> RemoteItem | None:
    """Delete the item; for an instance of a series, its master as the service now holds it."""
    series_remote_id = (link.base or {}).get("series_remote_id") or ""
    if not series_remote_id:
        run.provider.delete(link.remote_id, version)
        return None
    return run.provider.delete_instance(link.remote_id, series_remote_id, version)


def _save_write(run: Run, pair: Pair, item: RemoteItem, op: str, *, before: dict | None) -> None:
    link = pair.link
    link.remote_id = item.remote_id
    link.remote_version = item.version
    link.base = dict(pair.decision.base or {})
    link.last_error = ""
    if pair.local is not None and Op.UPDATE_LOCAL not in pair.decision.ops:
        link.local_version = pair.local.version
    pair.remote = item
    with transaction.atomic():
        link.save()
        journal(run, pair, JournalEntry.Side.REMOTE, op, before, link.base, version=item.version)


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
