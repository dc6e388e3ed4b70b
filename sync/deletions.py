"""Deletions waiting for the person (the "ask" deletion policy): confirm or restore them.

A run under "ask" writes nothing for a deletion: it marks the pair's link with the side whose
copy was deleted (`ItemLink.deletion_pending`, see `sync.deletion_policy`) and every later run
leaves the pair alone. Here the person settles it, for one link or all of a connection's:

- confirm: the surviving copy is deleted too (at the service through the provider, or
  DayFlow's row soft-deleted), and the link is dropped;
- restore: the deleted copy comes back from the surviving one: DayFlow's row as the service
  holds the item now, or the service's item from DayFlow's current version (under its old id
  where the service can undelete, `Provider.restore`); the pair is linked and in step again.

If the other copy is gone meanwhile too, both sides agree already: the link is dropped. Each
settlement is journaled and audited; a service's refusal leaves that link waiting.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from audit.writer import record, scrub
from dayflow.models import Event, Task
from integrations.actions import ActionRefused
from integrations.models import Connection
from integrations.providers.base import Provider, RemoteItem
from integrations.providers.errors import NotFound, ProviderError
from sync import fields as codec
from sync.deletion_policy import WAITING, Mark
from sync.engine.providers import provider_for
from sync.mapping import FK, dayflow_id, model_for
from sync.models import ItemLink, ItemType, JournalEntry
from sync.repair import journal_entry

CONFIRM, RESTORE = "confirm", "restore"
ACTIONS = (CONFIRM, RESTORE)
# Links staff settle in one admin action, as many as the conflicts' bulk settle takes: each
# may call a service, and the request waits for all of them.
MAX_AT_ONCE = 100
AUDITED = {CONFIRM: "sync.deletion.confirmed", RESTORE: "sync.deletion.restored"}


class DeletionRefused(ActionRefused):
    """No deletion waits under that id: 404 when the connection has no such link, 409 when
    its link waits for nothing (settled already, or never asked about)."""

    def __init__(self, action: str, reason: str, *, status: int = 409) -> None:
        super().__init__(action, reason)
        self.status = status


@dataclasses.dataclass
class Settled:
    done: int = 0
    failed: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def waiting(connection: Connection) -> QuerySet[ItemLink]:
    """The connection's deletions that wait for the person, oldest first."""
    return (
        ItemLink.objects.filter(connection=connection, deletion_pending__in=list(WAITING))
        .select_related("task", "event", "handover_to__service")
        .order_by("deletion_pending_at", "pk")
    )


def title_of(link: ItemLink) -> str:
    """The item's title: DayFlow's copy (deleted or not), else as both sides last agreed."""
    obj = link.task if link.item_type == ItemType.TASK else link.event
    return (obj.title if obj is not None else "") or str((link.base or {}).get("title") or "")


def settle(
    connection: Connection,
    action: str,
    link_id: int | None = None,
    *,
    user: Any = None,
    request: Any = None,
) -> Settled:
    """Confirm or restore one waiting deletion (`link_id`) or all of the connection's."""
    if action not in ACTIONS:
        raise DeletionRefused(action, f"{action!r} is neither confirm nor restore", status=400)
    links = list(waiting(connection)) if link_id is None else [_one(connection, action, link_id)]
    provider = provider_for(connection, someone_waits=True) if links else None
    report = Settled()
    for link in links:
        link.connection = connection  # no query per link for it
        try:
            (_confirm if action == CONFIRM else _restore)(link, provider)
        except ProviderError as error:
            # A service's refusal may quote the request: scrubbed before anyone keeps it.
            why = scrub(str(error))
            report.failed.append({"link": link.pk, "why": why})
            ItemLink.objects.filter(pk=link.pk).update(last_error=why[:2000])
            continue
        report.done += 1
    record(
        AUDITED[action],
        actor=user,
        request=request,
        connection=connection,
        resource=f"link {link_id}" if link_id is not None else "all waiting deletions",
        details={"done": report.done, "failed": len(report.failed)},
    )
    return report


def _one(connection: Connection, action: str, link_id: int) -> ItemLink:
    link = waiting(connection).filter(pk=link_id).first()
    if link is not None:
        return link
    if ItemLink.objects.filter(connection=connection, pk=link_id).exists():
        raise DeletionRefused(action, "this item's deletion does not wait for you (any more)")
    raise DeletionRefused(action, "this connection has no such item", status=404)


# --- confirm -------------------------------------------------------------------------------------
def _confirm(link: ItemLink, provider: Provider) -> None:
    obj = _local(link)
    if link.deletion_pending == Mark.MOVED:  # the item lives at the other service now
        with contextlib.suppress(NotFound):
            provider.delete(link.remote_id, link.remote_version)
        taker = str(link.handover_to) if link.handover_to_id else ""
        entry = journal_entry(
            link,
            "remote",
            "move",
            {"list": link.collection},
            {"list": taker},
            "",
            "move confirmed: old copy deleted",
            keep_link=False,
        )
    elif link.deletion_pending == Mark.LOCAL:
        with contextlib.suppress(NotFound):  # gone from the service already: as wanted
            provider.delete(link.remote_id, link.remote_version)
        entry = _entry(link, "remote", "delete", link.base, None, "")
    else:
        entry = None
        if obj is not None and not obj.is_deleted:
            before = codec.local_fields(obj)
            obj.soft_delete()
            entry = _entry(link, "local", "delete", before, None, str(obj.version))
    with transaction.atomic():
        if entry is not None:
            entry.save()
        link.delete()


# --- restore -------------------------------------------------------------------------------------
def _restore(link: ItemLink, provider: Provider) -> None:
    if link.deletion_pending == Mark.MOVED:  # keep the copy at the service, apart for good
        link.deletion_pending = Mark.UNLINKED
        link.save(update_fields=["deletion_pending"])
    elif link.deletion_pending == Mark.LOCAL:
        _restore_local(link, provider)
    else:
        _restore_remote(link, provider)


def _restore_local(link: ItemLink, provider: Provider) -> None:
    """DayFlow's copy comes back as the service holds the item now: runs left the pair alone
    while it waited, so edits made there meanwhile are in it."""
    try:
        item = provider.get(link.remote_id)
    except NotFound:
        link.delete()  # gone from the service too: both sides agree
        return
    fields = codec.encode(link.item_type, item.fields)
    obj = _local(link) or model_for(link.item_type)(user_id=link.connection.user_id)
    with transaction.atomic():
        codec.apply_local(obj, fields)
        obj.deleted_at = None
        obj.save()
        setattr(link, FK[link.item_type], obj)
        _relink(link, item, fields, obj.version)
        _entry(link, "local", "update", None, fields, str(obj.version)).save()


def _restore_remote(link: ItemLink, provider: Provider) -> None:
    """The service's copy comes back from DayFlow's current version, under DayFlow's id."""
    obj = _local(link)
    if obj is None or obj.is_deleted:
        link.delete()  # gone from DayFlow too: both sides agree
        return
    fields = codec.local_fields(obj, _series_remote_id(link, obj))
    flow_id = link.dayflow_id or dayflow_id(link.item_type, obj.pk)
    item = provider.restore(
        link.remote_id, codec.decode(fields), dayflow_id=flow_id, collection=link.collection
    )
    with transaction.atomic():
        link.dayflow_id = flow_id
        _relink(link, item, fields, obj.version)
        _entry(link, "remote", "create", None, fields, item.version).save()


# --- shared --------------------------------------------------------------------------------------
def _local(link: ItemLink) -> Task | Event | None:
    model = model_for(link.item_type)
    return model.all_objects.filter(pk=link.local_id).first() if link.local_id else None


def _relink(link: ItemLink, item: RemoteItem, fields: dict[str, Any], local_version: int) -> None:
    link.remote_id, link.remote_version = item.remote_id, item.version
    link.collection = item.collection or link.collection
    link.base, link.local_version = dict(fields), local_version
    link.deletion_pending, link.deletion_pending_at, link.last_error = "", None, ""
    link.save()


def _series_remote_id(link: ItemLink, obj: Task | Event) -> str:
    series_id = getattr(obj, "series_id", None)
    if not series_id:
        return ""
    master = ItemLink.objects.filter(connection=link.connection, event_id=series_id).first()
    return master.remote_id if master is not None else ""


def _entry(
    link: ItemLink, side: str, op: str, before: Any, after: Any, version: str
) -> JournalEntry:
    deleting = op == "delete"
    reason = "deletion confirmed" if deleting else "deletion restored"
    return journal_entry(link, side, op, before, after, version, reason, keep_link=not deleting)
