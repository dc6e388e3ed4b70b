"""After a sync: resolve a conflict, undo a job. Both write to both sides, then journal it."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.writer import record
from dayflow.models import Event, Task
from integrations.actions import ActionRefused
from integrations.providers.base import Provider
from integrations.providers.errors import NotFound, ProviderError
from sync import conflicts as settling
from sync import fields as codec
from sync import links
from sync.decisions import same
from sync.engine.providers import provider_for
from sync.mapping import FK, dayflow_id, model_for
from sync.models import Conflict, ItemLink, JournalEntry, SyncJob, SyncLink


class CannotResolve(ActionRefused):
    """A conflict that cannot be settled as asked: the service changed the item again since
    (409), or the resolution itself is not valid for this conflict (400)."""

    def __init__(self, reason: str, *, status: int = 409) -> None:
        super().__init__("resolve", reason)
        self.status = status


# --- conflicts ---------------------------------------------------------------------------------
def resolve_conflict(
    conflict_id: int,
    resolution: str,
    *,
    user: Any = None,
    fields: dict[str, Any] | None = None,
    choices: dict[str, settling.Choice] | None = None,
    request: Any = None,
) -> Conflict:
    """Settle an open conflict (`sync.conflicts.settle`): "local" or "remote" decide the
    clashing fields for DayFlow's or the service's version, "merged" takes `choices` per field
    ("local", "remote" or an `Edited` value; `fields`: typed values by name, as `Edited`). The
    changes made on one side only are kept in all three.

    Both sides end up holding the result and the link's base becomes it, so the next sync finds
    nothing to do; each side's version before is journaled. Raises CannotResolve: 400 when the
    choices do not settle it, 409 when the service changed the item again since (sync first,
    then resolve the fresh conflict).
    """
    conflict = Conflict.objects.select_related("link__connection").get(
        pk=conflict_id, status=Conflict.Status.OPEN
    )
    link = conflict.link
    obj = _local(link)
    target = _target(conflict, resolution, {**(choices or {}), **_edited(fields)})
    current_local = codec.local_fields(obj) if obj is not None and not obj.is_deleted else None
    if not same(target, conflict.remote):
        provider = provider_for(link.connection, someone_waits=True)
        try:
            item = provider.update(link.remote_id, codec.decode(target), conflict.remote_version)
        except ProviderError as error:
            raise CannotResolve(str(error)) from error
        link.remote_version = item.version
        journal_entry(
            link, "remote", "update", conflict.remote, target, item.version, "resolved"
        ).save()
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
        request=request,
        connection=link.connection,
        resource=f"conflict {conflict.pk}",
        details={
            "resolution": resolution,
            "fields": settling.clashing(conflict.base, conflict.local, conflict.remote),
        },
    )
    return conflict


def _edited(fields: dict[str, Any] | None) -> dict[str, settling.Choice]:
    return {name: settling.Edited(value) for name, value in (fields or {}).items()}


def _target(conflict: Conflict, resolution: str, choices: dict) -> dict[str, Any]:
    try:
        target = settling.settle(
            conflict.base, conflict.local, conflict.remote, resolution, choices
        )
        settling.check_span(target)
    except settling.Unsettled as error:
        raise CannotResolve(str(error), status=400) from error
    return target


def _local(link: ItemLink) -> Task | Event | None:
    model = model_for(link.item_type)
    return model.all_objects.filter(pk=link.local_id).first() if link.local_id else None


def _write_local(link: ItemLink, obj: Task | Event, target: dict, *, before: dict | None):
    codec.apply_local(obj, target)
    obj.deleted_at = None
    obj.save()
    journal_entry(link, "local", "update", before, target, str(obj.version), "resolved").save()
    return obj


def journal_entry(
    link: ItemLink,
    side: str,
    op: str,
    before: Any,
    after: Any,
    version: str,
    reason: str,
    *,
    keep_link: bool = True,
) -> JournalEntry:
    """A write made outside a run (settling, "send again", a deletion confirmed or restored),
    journaled as the engine journals its own; `keep_link=False` for a link about to go."""
    return JournalEntry(
        connection=link.connection,
        link=link if link.pk and keep_link else None,
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
    # Links the undo left apart (one side's copy removed): listed on the job's page until sent
    # again (`send_again`).
    unlinked: int = 0


def undo_job(job_id: int, *, user: Any = None, request: Any = None) -> UndoReport:
    """Revert a job's journal, newest entry first, where both sides still hold what it wrote.

    An update goes back to its `before` on both sides; a deletion is restored on both sides,
    under the item's old remote id where the service can (`Provider.restore`); a creation is
    removed from the side it was created on, the original stays, and the link stays marked
    "not synced (undone)" (`ItemLink.undone_at`) until `send_again`. Entries whose item changed
    since are skipped and reported, never forced. docs/architecture.md, "What undo does".
    """
    job = SyncJob.objects.select_related("connection").get(pk=job_id)
    provider = provider_for(job.connection, someone_waits=True)
    report = UndoReport()
    entries = job.journal.filter(reverted_at__isnull=True).order_by("-id")
    for entry in entries.select_related("link"):
        reason = _undo_entry(entry, provider)
        if reason:
            report.skipped.append({"entry": entry.pk, "remote_id": entry.remote_id, "why": reason})
            continue
        JournalEntry.objects.filter(pk=entry.pk).update(reverted_at=timezone.now())
        report.reverted += 1
        report.unlinked += entry.op == JournalEntry.Op.CREATE
    record(
        "sync.job.undone",
        actor=user,
        request=request,
        connection=job.connection,
        resource=f"sync job {job.pk}",
        details={
            "reverted": report.reverted,
            "skipped": len(report.skipped),
            "unlinked": report.unlinked,
        },
    )
    return report


def _undo_entry(entry: JournalEntry, provider: Provider) -> str:
    model = model_for(entry.item_type)
    obj = model.all_objects.filter(pk=entry.local_id).first() if entry.local_id else None
    link = entry.link
    try:
        if entry.op == JournalEntry.Op.MOVE:
            return _undo_move(entry, obj, link, provider)
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


def _undo_move(entry: JournalEntry, obj, link: ItemLink | None, provider: Provider) -> str:
    """Both sides back: the service's item to the container it was in (`Provider.move`), and
    DayFlow's to the list (or calendar) that container's link feeds, with no new version, so
    the next sync has nothing to send."""
    came_from = (entry.before or {}).get("_container")
    went_to = (entry.after or {}).get("_container")
    if not came_from or not went_to or came_from == went_to:
        return "a move between services is not undone: move the item back to its list"
    if link is None or obj is None or obj.is_deleted:
        return "the item is no longer linked"
    if link.collection != went_to or link.local_version != obj.version:
        return "changed since the job"
    if not provider.supports_move:
        return "the service cannot move items"
    home = SyncLink.objects.filter(
        connection=entry.connection, item_type=entry.item_type, collection=came_from
    ).first()
    if home is None:
        return "the connection no longer syncs the container it came from"
    item = provider.move(link.remote_id, came_from, link.remote_version)
    column = links.side_column(entry.item_type)
    with transaction.atomic():
        side = links.side_id(entry.item_type, home)  # a link has the same columns
        type(obj).all_objects.filter(pk=obj.pk).update(**{column: side})
        link.remote_id, link.remote_version = item.remote_id, item.version
        link.collection = item.collection or came_from
        link.save()
    return ""


def _undo_delete(entry: JournalEntry, obj, provider: Provider) -> str:
    """Both sides get the item back: DayFlow's row (its id, so DayFlow's id on the service is
    the same) and the service's, under its old remote id where the service allows."""
    if not entry.before:
        return "nothing recorded to restore"
    if obj is not None and not obj.is_deleted:
        return "restored since the job"
    links = ItemLink.objects.filter(connection=entry.connection, remote_id=entry.remote_id)
    if entry.remote_id and links.exists():
        return "linked again since the job"
    model = model_for(entry.item_type)
    if obj is None:  # removed for good: a new row, deleted until the service has it back
        obj = model(user_id=entry.connection.user_id, deleted_at=timezone.now())
        codec.apply_local(obj, entry.before)
        obj.save()
    flow_id = dayflow_id(entry.item_type, obj.pk)
    # The service first: if it refuses, DayFlow's copy stays deleted and both sides agree.
    item = provider.restore(entry.remote_id, codec.decode(entry.before), dayflow_id=flow_id)
    with transaction.atomic():
        codec.apply_local(obj, entry.before)
        obj.deleted_at = None
        obj.save()
        ItemLink.objects.create(
            connection=entry.connection,
            item_type=entry.item_type,
            remote_id=item.remote_id,
            collection=item.collection,
            remote_version=item.version,
            local_version=obj.version,
            base=entry.before,
            dayflow_id=flow_id,
            **{FK[entry.item_type]: obj},
        )
    return ""


def _undo_create(entry: JournalEntry, obj, link: ItemLink | None, provider: Provider) -> str:
    """The copy the job made is removed; the original stays, and so does the link, marked
    undone: the engine leaves the pair alone and the job's page offers to send it again."""
    if link is None:
        return "the item is no longer linked"
    if entry.side == JournalEntry.Side.LOCAL:
        if obj is None or obj.is_deleted or obj.version != link.local_version:
            return "changed locally since the job"
        with transaction.atomic():
            obj.soft_delete()
            _mark_undone(link, local_version=obj.version)
        return ""
    if link.base != entry.after:
        return "changed since the job"
    with contextlib.suppress(NotFound):  # already gone: the outcome we wanted
        provider.delete(link.remote_id, link.remote_version)
    link.remote_id = link.remote_version = ""
    _mark_undone(link, local_version=link.local_version)
    return ""


def _mark_undone(link: ItemLink, *, local_version: int) -> None:
    link.local_version = local_version
    link.undone_at = timezone.now()
    link.save()


# --- send again ----------------------------------------------------------------------------------
@dataclasses.dataclass
class SendReport:
    sent: int = 0
    failed: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def undone_links(job: SyncJob):
    """The links an undo of `job` left apart (it reverted their creation) and nobody has sent
    again yet."""
    return (
        ItemLink.objects.filter(connection=job.connection, undone_at__isnull=False)
        .filter(
            journal__job=job,
            journal__op=JournalEntry.Op.CREATE,
            journal__reverted_at__isnull=False,
        )
        .distinct()
        .order_by("pk")
    )


def send_again(job_id: int, *, user: Any = None, request: Any = None) -> SendReport:
    """Sync once more what undoing `job_id` left apart, so both sides agree again.

    An item DayFlow had pushed (and undo removed from the service) is created at the service
    again from DayFlow's current version; an item the job had imported (and undo removed from
    DayFlow) comes back into DayFlow as the service holds it now. If the other side is gone as
    well, both sides already agree: the link is dropped.
    """
    job = SyncJob.objects.select_related("connection").get(pk=job_id)
    provider = provider_for(job.connection, someone_waits=True)
    report = SendReport()
    for link in undone_links(job):
        try:
            _send_link(link, provider)
        except ProviderError as error:
            report.failed.append({"link": link.pk, "why": str(error)})
            ItemLink.objects.filter(pk=link.pk).update(last_error=str(error)[:2000])
            continue
        report.sent += 1
    record(
        "sync.job.sent_again",
        actor=user,
        request=request,
        connection=job.connection,
        resource=f"sync job {job.pk}",
        details={"sent": report.sent, "failed": len(report.failed)},
    )
    return report


def _send_link(link: ItemLink, provider: Provider) -> None:
    obj = _local(link)
    if link.remote_id:
        _bring_back_local(link, obj, provider)
    else:
        _create_remote_again(link, obj, provider)


def _create_remote_again(link: ItemLink, obj, provider: Provider) -> None:
    if obj is None or obj.is_deleted:
        link.delete()  # gone from DayFlow too: nothing is left to sync
        return
    fields = codec.local_fields(obj, _series_remote_id(link, obj))
    flow_id = link.dayflow_id or dayflow_id(link.item_type, obj.pk)
    item = provider.create(codec.decode(fields), dayflow_id=flow_id, collection=link.collection)
    with transaction.atomic():
        _relink(link, item, fields, obj.version)
        journal_entry(link, "remote", "create", None, fields, item.version, "sent again").save()


def _bring_back_local(link: ItemLink, obj, provider: Provider) -> None:
    try:
        item = provider.get(link.remote_id)
    except NotFound:
        link.delete()  # gone from the service too: nothing is left to sync
        return
    fields = codec.encode(link.item_type, item.fields)
    model = model_for(link.item_type)
    obj = obj or model(user_id=link.connection.user_id)
    with transaction.atomic():
        codec.apply_local(obj, fields)
        obj.deleted_at = None
        obj.save()
        setattr(link, FK[link.item_type], obj)
        _relink(link, item, fields, obj.version)
        journal_entry(link, "local", "update", None, fields, str(obj.version), "sent again").save()


def _relink(link: ItemLink, item, fields: dict[str, Any], local_version: int) -> None:
    link.remote_id, link.remote_version = item.remote_id, item.version
    link.collection = item.collection or link.collection
    link.base, link.local_version = dict(fields), local_version
    link.undone_at, link.last_error = None, ""
    link.save()


def _series_remote_id(link: ItemLink, obj) -> str:
    series_id = getattr(obj, "series_id", None)
    if not series_id:
        return ""
    master = ItemLink.objects.filter(connection=link.connection, event_id=series_id).first()
    return master.remote_id if master is not None else ""
