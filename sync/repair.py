"""After a sync: resolve a conflict, undo a job. Both write to both sides, then journal it."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.writer import record
from dayflow.models import Event, Task
from integrations.providers.base import Provider
from integrations.providers.errors import NotFound, ProviderError
from sync import engine
from sync import fields as codec
from sync.decisions import same
from sync.models import Conflict, ItemLink, ItemType, JournalEntry, SyncJob

MODELS = {ItemType.TASK: Task, ItemType.EVENT: Event}


class CannotResolve(Exception):
    pass


def _provider(connection: Any, factory: engine.ProviderFactory | None) -> Provider:
    return (factory or engine.PROVIDER_FACTORY)(connection)


# --- conflicts ---------------------------------------------------------------------------------
def resolve_conflict(
    conflict_id: int,
    resolution: str,
    *,
    user: Any = None,
    fields: dict[str, Any] | None = None,
    provider_factory: engine.ProviderFactory | None = None,
) -> Conflict:
    """Settle an open conflict: keep DayFlow's version, the service's, or merged `fields`.

    Both sides end up holding the chosen fields and the link's base becomes them; the version
    that lost is journaled. Raises CannotResolve when the service changed the item again since
    (sync first, then resolve the fresh conflict).
    """
    conflict = Conflict.objects.select_related("link__connection").get(
        pk=conflict_id, status=Conflict.Status.OPEN
    )
    link = conflict.link
    obj = _local(link)
    target = _target(conflict, resolution, fields)
    current_local = codec.local_fields(obj) if obj is not None and not obj.is_deleted else None
    if not same(target, conflict.remote):
        provider = _provider(link.connection, provider_factory)
        try:
            item = provider.update(link.remote_id, codec.decode(target), conflict.remote_version)
        except ProviderError as error:
            raise CannotResolve(str(error)) from error
        link.remote_version = item.version
        _entry(link, "remote", "update", conflict.remote, target, item.version, "resolved").save()
    else:
        link.remote_version = conflict.remote_version
    with transaction.atomic():
        if obj is not None and not same(target, current_local):
            obj = _write_local(link, obj, target, before=current_local)
        link.base = dict(target)
        link.local_version = obj.version if obj is not None else 0
        link.save()
        conflict.status = Conflict.Status.RESOLVED
        conflict.resolution = resolution
        conflict.resolved_by = user if getattr(user, "pk", None) else None
        conflict.resolved_at = timezone.now()
        conflict.save()
    record(
        "sync.conflict.resolved",
        actor=user,
        connection=link.connection,
        resource=f"conflict {conflict.pk}",
        details={"resolution": resolution, "fields": conflict.fields},
    )
    return conflict


def _target(conflict: Conflict, resolution: str, fields: dict | None) -> dict[str, Any]:
    if resolution == Conflict.Resolution.LOCAL and conflict.local is not None:
        return dict(conflict.local)
    if resolution == Conflict.Resolution.REMOTE and conflict.remote is not None:
        return dict(conflict.remote)
    if resolution == Conflict.Resolution.MERGED and fields:
        allowed = set(conflict.local or {}) | set(conflict.remote or {})
        unknown = set(fields) - allowed
        if unknown:
            raise CannotResolve(f"unknown fields: {', '.join(sorted(unknown))}")
        return {**(conflict.remote or {}), **fields}
    raise CannotResolve(f"cannot resolve with {resolution!r}")


def _local(link: ItemLink) -> Task | Event | None:
    model = MODELS[ItemType(link.item_type)]
    return model.all_objects.filter(pk=link.local_id).first() if link.local_id else None


def _write_local(link: ItemLink, obj: Task | Event, target: dict, *, before: dict | None):
    codec.apply_local(obj, target)
    obj.deleted_at = None
    obj.save()
    _entry(link, "local", "update", before, target, str(obj.version), "resolved").save()
    return obj


def _entry(
    link: ItemLink, side: str, op: str, before: Any, after: Any, version: str, reason: str
) -> JournalEntry:
    return JournalEntry(
        connection=link.connection,
        link=link if link.pk else None,
        item_type=link.item_type,
        side=side,
        op=op,
        local_id=link.local_id,
        remote_id=link.remote_id,
        before=before,
        after=after,
        version_after=str(version),
        reason=reason,
    )


# --- undo --------------------------------------------------------------------------------------
@dataclasses.dataclass
class UndoReport:
    reverted: int = 0
    skipped: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def undo_job(
    job_id: int, *, user: Any = None, provider_factory: engine.ProviderFactory | None = None
) -> UndoReport:
    """Revert a job's journal, newest entry first, where both sides still hold what it wrote.

    An update goes back to its `before` on both sides; a deletion is restored on both sides; a
    creation is removed from the side it was created on (the original stays). Entries whose
    item changed since are skipped and reported, never forced.
    """
    job = SyncJob.objects.select_related("connection").get(pk=job_id)
    provider = _provider(job.connection, provider_factory)
    report = UndoReport()
    entries = job.journal.filter(reverted_at__isnull=True).order_by("-id")
    for entry in entries.select_related("link"):
        reason = _undo_entry(entry, provider)
        if reason:
            report.skipped.append({"entry": entry.pk, "remote_id": entry.remote_id, "why": reason})
            continue
        JournalEntry.objects.filter(pk=entry.pk).update(reverted_at=timezone.now())
        report.reverted += 1
    record(
        "sync.job.undone",
        actor=user,
        connection=job.connection,
        resource=f"sync job {job.pk}",
        details={"reverted": report.reverted, "skipped": len(report.skipped)},
    )
    return report


def _undo_entry(entry: JournalEntry, provider: Provider) -> str:
    model = MODELS[ItemType(entry.item_type)]
    obj = model.all_objects.filter(pk=entry.local_id).first() if entry.local_id else None
    link = entry.link
    try:
        if entry.op == JournalEntry.Op.UPDATE:
            return _undo_update(entry, obj, link, provider)
        if entry.op == JournalEntry.Op.DELETE:
            return _undo_delete(entry, obj, provider)
        return _undo_create(entry, obj, link, provider)
    except ProviderError as error:
        return f"the service refused: {error}"


def _undo_update(entry: JournalEntry, obj, link: ItemLink | None, provider: Provider) -> str:
    if link is None or obj is None or obj.is_deleted:
        return "the item is no longer linked"
    if link.base != entry.after or link.local_version != obj.version:
        return "changed since the job"
    if not same(codec.local_fields(obj), entry.after):
        return "changed locally since the job"
    item = provider.update(link.remote_id, codec.decode(entry.before), link.remote_version)
    with transaction.atomic():
        codec.apply_local(obj, entry.before)
        obj.save()
        link.base, link.remote_version, link.local_version = entry.before, item.version, obj.version
        link.save()
    return ""


def _undo_delete(entry: JournalEntry, obj, provider: Provider) -> str:
    if not entry.before:
        return "nothing recorded to restore"
    if obj is not None and not obj.is_deleted:
        return "restored since the job"
    model = MODELS[ItemType(entry.item_type)]
    obj = obj or model(user_id=entry.connection.user_id)
    codec.apply_local(obj, entry.before)
    obj.deleted_at = None
    obj.save()
    item = provider.create(
        codec.decode(entry.before), dayflow_id=engine.dayflow_id(entry.item_type, obj.pk)
    )
    with transaction.atomic():
        ItemLink.objects.create(
            connection=entry.connection,
            item_type=entry.item_type,
            remote_id=item.remote_id,
            remote_version=item.version,
            local_version=obj.version,
            base=entry.before,
            dayflow_id=engine.dayflow_id(entry.item_type, obj.pk),
            **{engine.FK[entry.item_type]: obj},
        )
    return ""


def _undo_create(entry: JournalEntry, obj, link: ItemLink | None, provider: Provider) -> str:
    if link is None:
        return "the item is no longer linked"
    if entry.side == JournalEntry.Side.LOCAL:
        if obj is None or obj.is_deleted or obj.version != link.local_version:
            return "changed locally since the job"
        obj.soft_delete()
    else:
        if link.base != entry.after:
            return "changed since the job"
        with contextlib.suppress(NotFound):  # already gone: the outcome we wanted
            provider.delete(link.remote_id, link.remote_version)
    link.delete()
    return ""
