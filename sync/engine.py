"""The I/O around the decisions: pull, collect local changes, decide, guard, apply, checkpoint.

`run_job(job_id)` is the entry point (called by the `sync.run_job` task). A run is a plan and
its application:

1. pull every remote page since the stored cursor (a full listing without one, or when the
   service says the cursor expired: deletions are then found by difference);
2. collect the local changes since the last complete sync (version counters against links);
3. decide every touched item with `sync.decisions.decide` (pure);
4. the mass-deletion guard, or a dry run's report, stop here without changing anything;
5. apply in batches: remote writes one by one (each followed by its link in a small
   transaction), local writes in bulk; between batches, a checkpoint honours pause and cancel
   and saves the progress counters.

The cursor and the local watermark move only when a run completes, so a run killed at any
point is simply run again: what it already applied is recognised by the links' versions, and a
create whose link was not saved is found by DayFlow's id on the remote item.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from audit.writer import record
from dayflow.models import Event, Task
from integrations.models import UserIntegration
from integrations.providers.base import Provider, RemoteItem
from integrations.providers.errors import (
    AuthExpired,
    CursorExpired,
    NotFound,
    Permanent,
    PreconditionFailed,
    ProviderError,
    RateLimited,
    Transient,
)
from integrations.providers.http import api_calls as http_api_calls
from integrations.tokens import mark_needs_reauth, set_status
from sync import bulk, conf, jobs
from sync import fields as codec
from sync.decisions import (
    Action,
    Decision,
    Op,
    Side,
    decide,
    differing,
    master_after_write,
    same,
)
from sync.models import Conflict, ItemLink, ItemType, JournalEntry, SyncCursor, SyncJob

log = logging.getLogger(__name__)

Status = SyncJob.Status
MODELS: dict[str, type[Task] | type[Event]] = {ItemType.TASK: Task, ItemType.EVENT: Event}
FK = {ItemType.TASK: "task", ItemType.EVENT: "event"}
CHUNK = 500  # ids per IN (...) lookup, well under SQLite's parameter limit
_DAYFLOW_ID = re.compile(r"^dayflow-(task|event)-(\d+)$")

ProviderFactory = Callable[[UserIntegration], Provider]


def dayflow_id(item_type: str, pk: int) -> str:
    """DayFlow's id as stored on a remote item (CalDAV UID, extended property, marker…)."""
    return f"dayflow-{item_type}-{pk}"


def parse_dayflow_id(value: str) -> tuple[str, int] | None:
    match = _DAYFLOW_ID.match(value or "")
    return (match.group(1), int(match.group(2))) if match else None


def default_provider(connection: UserIntegration) -> Provider:
    return connection.provider()


PROVIDER_FACTORY: ProviderFactory = default_provider


# --- control flow ------------------------------------------------------------------------------
class Stop(Exception):
    """The job must stop at this checkpoint with this status."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def run_job(job_id: int, *, provider_factory: ProviderFactory | None = None) -> jobs.Outcome:
    """Claim and run one job. Returns its final status, or a wait for the task to retry after.

    `provider_factory` builds the provider for the job's connection (the connection's own
    provider by default).
    """
    job = jobs.claim(job_id)
    if isinstance(job, jobs.Outcome):
        return job
    connection = job.connection
    record(
        "sync.job.started",
        connection=connection,
        resource=f"sync job {job.pk}",
        details={"kind": job.kind, "trigger": job.trigger, "dry_run": job.dry_run},
    )
    outcome = _run_claimed(job, provider_factory or PROVIDER_FACTORY)
    jobs.enqueue_trailing(connection.pk, job.pk)
    return outcome


def _run_claimed(job: SyncJob, provider_factory: ProviderFactory) -> jobs.Outcome:
    engine = Engine(job, provider_factory(job.connection))
    try:
        engine.run()
    except Stop as stop:
        engine.save_progress()
        jobs.finish(job, stop.status, final=stop.status != Status.PAUSED)
        return jobs.Outcome(stop.status)
    except RateLimited as error:
        engine.save_progress()
        return jobs.requeue(job, error.retry_after, f"rate limited: {error}")
    except Transient as error:
        engine.save_progress()
        _note_error(job.connection_id, str(error))
        return jobs.retry(job, str(error))
    except AuthExpired as error:
        engine.save_progress()
        _needs_reauth(job.connection, error)
        jobs.finish(job, Status.FAILED, error=str(error))
        return jobs.Outcome(Status.FAILED)
    except Exception as error:
        log.exception("sync job %s failed", job.pk)
        engine.save_progress()
        jobs.finish(job, Status.FAILED, error=f"{type(error).__name__}: {error}")
        if isinstance(error, Permanent):  # the next run would fail the same way
            _stop_on_error(job.connection, str(error))
        elif isinstance(error, ProviderError):  # the service's answer, worded by the provider
            _note_error(job.connection_id, str(error))
        return jobs.Outcome(Status.FAILED)
    engine.save_progress()
    jobs.finish(job, Status.SUCCEEDED)
    if not job.dry_run:
        UserIntegration.objects.filter(pk=job.connection_id).update(
            last_sync_at=timezone.now(), last_error=""
        )
    return jobs.Outcome(Status.SUCCEEDED)


def _note_error(connection_id: int, error: str) -> None:
    """What stopped the last sync, on the connection's row (its page shows it)."""
    UserIntegration.objects.filter(pk=connection_id).update(last_error=error[:2000])


def _stop_on_error(connection: UserIntegration, error: str) -> None:
    """No retry can fix it (settings the service refuses, an address that is not one): the
    connection stops syncing, its page shows why, and saving its settings starts it again."""
    connection.refresh_from_db(fields=["status"])  # paused or disconnected meanwhile: stays so
    if connection.status == UserIntegration.Status.CONNECTED:
        set_status(connection, UserIntegration.Status.ERROR, last_error=error[:2000])


def _needs_reauth(connection: UserIntegration, error: AuthExpired) -> None:
    connection.refresh_from_db(fields=["status"])  # the token refresh may have flipped it already
    mark_needs_reauth(connection, str(error)[:2000])


# --- the plan ----------------------------------------------------------------------------------
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


@dataclasses.dataclass
class Pulled:
    items: dict[str, RemoteItem] = dataclasses.field(default_factory=dict)
    deleted: set[str] = dataclasses.field(default_factory=set)
    full: bool = False
    cursor: str | None = None
    unsyncable: dict[str, str] = dataclasses.field(default_factory=dict)


class Engine:
    """One run of one job over one connection."""

    def __init__(self, job: SyncJob, provider: Provider) -> None:
        self.job = job
        self.connection = job.connection
        self.provider = provider
        self.counts = {name: getattr(job, name) for name in SyncJob.COUNTERS}
        # The HTTP client counts every request of a REST provider (retries, refreshes and
        # read-backs included); CalDAV's own session does not, so the engine counts too.
        self.http_calls_before = http_api_calls(job.connection_id)
        self.calls_before = job.api_calls
        self.types = self._item_types()
        self.batch_size = int(conf.get("DAYFLOW_SYNC_BATCH"))
        self.masters_written: list[RemoteItem] = []  # by deletions of instances, per batch

    def _item_types(self) -> tuple[str, ...]:
        offered = {str(t) for t in self.provider.item_types} or {ItemType.TASK, ItemType.EVENT}
        wanted = []
        if self.connection.sync_tasks and ItemType.TASK in offered:
            wanted.append(ItemType.TASK)
        if self.connection.sync_events and ItemType.EVENT in offered:
            wanted.append(ItemType.EVENT)
        return tuple(wanted)

    # --- the run -----------------------------------------------------------------------------
    def run(self) -> None:
        for collection in self.collections():
            self.sync_collection(collection)

    def collections(self) -> list[str]:
        return [""]

    def sync_collection(self, collection: str) -> None:
        cursor_row, _ = SyncCursor.objects.get_or_create(
            connection=self.connection, collection=collection
        )
        started = timezone.now()
        incremental = self.job.kind == SyncJob.Kind.INCREMENTAL and bool(cursor_row.value)
        pulled = self.pull(cursor_row.value if incremental else None, collection)
        self._report_unsyncable(pulled.unsyncable)
        watermark = cursor_row.local_watermark if incremental else None
        pairs = self.plan(pulled, watermark, collection)
        self.guard(pairs, pulled)
        if self.job.dry_run:
            self.job.report = {**self.job.report, "preview": preview(pairs)}
            SyncJob.objects.filter(pk=self.job.pk).update(report=self.job.report)
            return
        for batch in chunks(pairs, self.batch_size):
            self.checkpoint()
            self.apply(batch, collection)
        self.checkpoint()
        cursor_row.value = pulled.cursor or ""
        cursor_row.local_watermark = started
        cursor_row.save(update_fields=["value", "local_watermark", "updated_at"])

    def pull(self, cursor: str | None, collection: str) -> Pulled:
        pulled = Pulled()
        while True:
            try:
                page = self.provider.pull(cursor, collection)
            except CursorExpired:
                if cursor is None:
                    raise
                log.info("cursor of connection %s expired: full listing", self.connection.pk)
                return self.pull(None, collection)
            self.counts["api_calls"] += 1
            pulled.full = pulled.full or page.full
            for item in page.items:
                if str(item.item_type) in self.types:
                    pulled.items[item.remote_id] = item
                    pulled.deleted.discard(item.remote_id)
            for remote_id in page.deleted_ids:
                pulled.items.pop(remote_id, None)
                pulled.deleted.add(remote_id)
            for remote_id, reason in page.unsyncable.items():
                pulled.unsyncable[remote_id] = reason
                pulled.deleted.discard(remote_id)
            cursor = page.next_cursor
            if not page.has_more:
                pulled.cursor = cursor
                return pulled
            self.checkpoint()

    # --- planning ----------------------------------------------------------------------------
    def plan(self, pulled: Pulled, watermark: Any, collection: str) -> list[Pair]:
        pairs: dict[tuple, Pair] = {}
        links = self._links_for_remote(pulled, collection)
        self._add_remote(pairs, pulled, links)
        self._add_local_changes(pairs, watermark)
        self._load_locals(pairs)
        self._match_by_dayflow_id(pairs)
        self._drop_deleted_instances(pairs)
        self._settle_intents(pairs)
        _leave_undone(pairs)
        series = self._series_remote_ids(pairs)
        open_conflicts = self._open_conflicts(pairs)
        for pair in pairs.values():
            self._decide(pair, series)
            if pair.link is not None and pair.link.pk in open_conflicts:
                self._keep_conflict(pair, open_conflicts[pair.link.pk])
        planned = [p for p in pairs.values() if p.decision.actions or self._touches(p)]
        # An instance's deletion rewrites its master on the service: after the master's own
        # writes, so the master's link is settled once (see `_settle_master`).
        return sorted(planned, key=_deletes_an_instance)

    def _links_for_remote(self, pulled: Pulled, collection: str) -> dict[str, ItemLink]:
        links = ItemLink.objects.filter(connection=self.connection, item_type__in=self.types)
        if pulled.full:
            # The engine's collection "" stands for everything the provider's pull covers
            # (several calendars behind one cursor): its links carry their own calendar.
            found = links.exclude(remote_id="")
            if collection:
                found = found.filter(collection=collection)
            return {link.remote_id: link for link in found}
        ids = [*pulled.items, *pulled.deleted]
        return {
            link.remote_id: link
            for chunk in chunks(ids, CHUNK)
            for link in links.filter(remote_id__in=chunk)
        }

    def _add_remote(
        self, pairs: dict[tuple, Pair], pulled: Pulled, links: dict[str, ItemLink]
    ) -> None:
        for remote_id, item in pulled.items.items():
            link = links.get(remote_id)
            pairs[_key(link, item)] = Pair(str(item.item_type), link=link, remote=item)
        gone = set(pulled.deleted)
        if pulled.full:
            gone |= set(links) - set(pulled.items) - set(pulled.unsyncable)
        for remote_id in gone:
            link = links.get(remote_id)
            if link is not None:
                pairs[_key(link)] = Pair(link.item_type, link=link, remote_deleted=True)

    def _add_local_changes(self, pairs: dict[tuple, Pair], watermark: Any) -> None:
        skew = dt.timedelta(seconds=int(conf.get("DAYFLOW_SYNC_CLOCK_SKEW")))
        for item_type in self.types:
            model = MODELS[item_type]
            candidates = model.all_objects.filter(user_id=self.connection.user_id)
            if watermark is not None:
                candidates = candidates.filter(updated_at__gte=watermark - skew)
            # Items whose own link already holds their version are not changes: leave them in
            # the database (after a first sync that is every item it wrote, since they were
            # written after the watermark), so the cost follows the changes, not the account.
            in_step = ItemLink.objects.filter(
                connection=self.connection,
                **{FK[item_type]: OuterRef("pk")},
                local_version=OuterRef("version"),
            )
            objs = {obj.pk: obj for obj in candidates.exclude(Exists(in_step))}
            own, elsewhere = self._links_of_locals(item_type, list(objs))
            for pk, obj in objs.items():
                link = own.get(pk)
                if link is None and (pk in elsewhere or obj.is_deleted):
                    continue  # synced through another connection, or deleted and never synced
                if link is not None and obj.version == link.local_version:
                    continue
                key = _key(link) if link else (item_type, "local", pk)
                pair = pairs.setdefault(key, Pair(item_type, link=link))
                pair.local = obj

    def _links_of_locals(
        self, item_type: str, pks: list[int]
    ) -> tuple[dict[int, ItemLink], set[int]]:
        fk = FK[item_type]
        own: dict[int, ItemLink] = {}
        elsewhere: set[int] = set()
        for chunk in chunks(pks, CHUNK):
            for link in ItemLink.objects.filter(**{f"{fk}_id__in": chunk}):
                local_id = getattr(link, f"{fk}_id")
                if link.connection_id == self.connection.pk:
                    own[local_id] = link
                else:
                    elsewhere.add(local_id)
        return own, elsewhere

    def _load_locals(self, pairs: dict[tuple, Pair]) -> None:
        for item_type in self.types:
            wanted = [
                p.link.local_id
                for p in pairs.values()
                if p.item_type == item_type and p.local is None and p.link and p.link.local_id
            ]
            objs = self._fetch_locals(item_type, wanted)
            for pair in pairs.values():
                if pair.item_type == item_type and pair.local is None and pair.link:
                    pair.local = objs.get(pair.link.local_id)

    def _fetch_locals(self, item_type: str, pks: Iterable[int]) -> dict[int, Task | Event]:
        model = MODELS[item_type]
        found: dict[int, Task | Event] = {}
        for chunk in chunks(list(pks), CHUNK):
            query = model.all_objects.filter(pk__in=chunk, user_id=self.connection.user_id)
            found.update({obj.pk: obj for obj in query})
        return found

    def _match_by_dayflow_id(self, pairs: dict[tuple, Pair]) -> None:
        """Unlinked remote items that carry DayFlow's id pair with that local item (first sync
        and creates whose link a crash lost), instead of being imported as copies."""
        unlinked = [p for p in pairs.values() if p.link is None and p.remote is not None]
        wanted: dict[str, list[int]] = {t: [] for t in self.types}
        for pair in unlinked:
            parsed = parse_dayflow_id(pair.remote.dayflow_id)
            if parsed and parsed[0] in wanted:
                wanted[parsed[0]].append(parsed[1])
        for item_type, pks in wanted.items():
            if not pks:
                continue
            objs = self._fetch_locals(item_type, pks)
            own, elsewhere = self._links_of_locals(item_type, list(objs))
            for pair in unlinked:
                parsed = parse_dayflow_id(pair.remote.dayflow_id)
                if not parsed or parsed[0] != item_type or parsed[1] not in objs:
                    continue
                if parsed[1] in elsewhere and parsed[1] not in own:
                    continue
                self._adopt(pairs, pair, objs[parsed[1]], own.get(parsed[1]))

    def _drop_deleted_instances(self, pairs: dict[tuple, Pair]) -> None:
        """Unlinked cancelled instances whose DayFlow copy is deleted are in step already:
        Google keeps an instance DayFlow deleted as a cancelled exception of its series, which
        the next pull would otherwise import as a new item."""
        cancelled = {
            key: (p.remote.fields["series_remote_id"], p.remote.fields["recurrence_id"])
            for key, p in pairs.items()
            if p.link is None and p.local is None and _is_cancelled_instance(p.remote)
        }
        if not cancelled:
            return
        masters = dict(
            ItemLink.objects.filter(
                connection=self.connection, remote_id__in={s for s, _ in cancelled.values()}
            )
            .exclude(event=None)
            .values_list("remote_id", "event_id")
        )
        deleted = set(
            Event.all_objects.filter(
                user_id=self.connection.user_id,
                series_id__in=list(masters.values()),
                deleted_at__isnull=False,
            ).values_list("series_id", "recurrence_id")
        )
        for key, (series_remote_id, recurrence_id) in cancelled.items():
            if (masters.get(series_remote_id), recurrence_id) in deleted:
                del pairs[key]

    def _adopt(
        self, pairs: dict[tuple, Pair], pair: Pair, obj: Task | Event, link: ItemLink | None
    ) -> None:
        pairs.pop((pair.item_type, "local", obj.pk), None)
        if link is not None:
            pairs.pop(_key(link), None)
            if link.remote_id and link.remote_id != pair.remote.remote_id:
                return  # linked to another remote item already: this one is a stray copy
            link.remote_id = pair.remote.remote_id
            pair.link = link
        pair.local = obj

    def _settle_intents(self, pairs: dict[tuple, Pair]) -> None:
        """Links whose remote create an earlier run began but did not record (a crash between
        the write and the link save): find the item by DayFlow's id, or create it now."""
        pending = ItemLink.objects.filter(
            connection=self.connection, remote_id="", item_type__in=self.types, undone_at=None
        )
        matched = {p.link.pk for p in pairs.values() if p.link is not None and p.remote}
        for link in pending:
            if link.pk in matched:
                continue  # the pull brought the item back with DayFlow's id: already matched
            pair = pairs.get(_key(link)) or Pair(link.item_type, link=link)
            found = self._find_by_dayflow_id(link.dayflow_id)
            if found is not None:
                pairs.pop(("remote", found.remote_id), None)
                pair.link.remote_id = found.remote_id
                pair.remote = found
            pairs[_key(link)] = pair
        self._load_locals(pairs)

    def _find_by_dayflow_id(self, value: str) -> RemoteItem | None:
        find = getattr(self.provider, "find_by_dayflow_id", None)
        if find is None or not value:
            return None
        try:
            found = find(value)
        except NotImplementedError:
            return None
        self.counts["api_calls"] += 1
        return found

    def _series_remote_ids(self, pairs: dict[tuple, Pair]) -> dict[int, str]:
        series_ids = {
            p.local.series_id
            for p in pairs.values()
            if isinstance(p.local, Event) and p.local.series_id
        }
        if not series_ids:
            return {}
        links = ItemLink.objects.filter(connection=self.connection, event_id__in=series_ids)
        return {link.event_id: link.remote_id for link in links}

    def _open_conflicts(self, pairs: dict[tuple, Pair]) -> dict[int, Conflict]:
        link_ids = [p.link.pk for p in pairs.values() if p.link is not None and p.link.pk]
        return {
            conflict.link_id: conflict
            for chunk in chunks(link_ids, CHUNK)
            for conflict in Conflict.objects.filter(link_id__in=chunk, status=Conflict.Status.OPEN)
        }

    def _keep_conflict(self, pair: Pair, conflict: Conflict) -> None:
        """An item with an open conflict waits for the user: neither side is written; the
        conflict is refreshed with whatever changed since."""
        if pair.remote_json is None:
            pair.remote_json = conflict.remote
        clash = differing(pair.local_json or {}, pair.remote_json or {})
        pair.decision = Decision((Action(Op.CONFLICT, clash=clash),), base=pair.link.base)
        pair.conflict = conflict

    def _decide(self, pair: Pair, series: dict[int, str]) -> None:
        link, obj = pair.link, pair.local
        pending = link is not None and not link.remote_id
        base = None if link is None or pending else link.base
        if obj is not None:
            series_id = getattr(obj, "series_id", None)
            pair.local_json = codec.local_fields(obj, series.get(series_id, ""))
        local = self._local_side(pair, base)
        remote = self._remote_side(pair, base, pending)
        pair.decision = decide(
            base,
            local,
            remote,
            self.connection.conflict_resolution,
            self.connection.sync_direction,
        )

    def _local_side(self, pair: Pair, base: dict | None) -> Side:
        obj, link = pair.local, pair.link
        alive = obj is not None and not obj.is_deleted
        fields = pair.local_json if alive else None
        if base is None:
            return Side(fields)
        changed = obj is None or obj.version != link.local_version
        if changed and alive and same(fields, base):
            changed = False
        return Side(fields, changed=changed, modified_at=obj.updated_at if obj else None)

    def _remote_side(self, pair: Pair, base: dict | None, pending: bool) -> Side:
        item = pair.remote
        if item is not None:
            pair.remote_json = codec.encode(pair.item_type, item.fields)
        if pending or (base is None and item is None):
            return Side(None)
        if base is None:
            return Side(pair.remote_json, modified_at=item.updated_at)
        if pair.remote_deleted:
            return Side(None, changed=True)
        if item is None:
            return Side(base)
        changed = item.version != pair.link.remote_version and not same(pair.remote_json, base)
        return Side(pair.remote_json, changed=changed, modified_at=item.updated_at)

    def _touches(self, pair: Pair) -> bool:
        """Pairs without writes that still move a link (agreement, new versions, unlink)."""
        link = pair.link
        if link is None:
            return pair.local is not None and pair.remote is not None
        if pair.decision.base is None:
            return True
        if pair.decision.base != link.base or not link.remote_id:
            return True
        if pair.remote is not None and pair.remote.version != link.remote_version:
            return True
        return pair.local is not None and pair.local.version != link.local_version

    # --- the guard ---------------------------------------------------------------------------
    def guard(self, pairs: list[Pair], pulled: Pulled) -> None:
        if self.job.confirmed or self.job.dry_run:
            return
        ops = [op for pair in pairs for op in pair.decision.ops]
        deleted_remotely, deleted_locally = ops.count(Op.DELETE_LOCAL), ops.count(Op.DELETE_REMOTE)
        deletions = deleted_remotely + deleted_locally
        if not deletions:
            return
        linked = ItemLink.objects.filter(connection=self.connection).exclude(remote_id="").count()
        share = float(conf.get("DAYFLOW_SYNC_MASS_DELETE_SHARE"))
        minimum = int(conf.get("DAYFLOW_SYNC_MASS_DELETE_MIN"))
        # Every linked item gone from one side at once looks like a broken account or a wrong
        # calendar more than like the user's intent: always ask, whatever the size.
        remote_empty = (pulled.full and not pulled.items) or deleted_remotely >= linked
        looks_empty = linked > 0 and (remote_empty or deleted_locally >= linked)
        if looks_empty or (deletions >= minimum and deletions > share * linked):
            self.job.report = {
                **self.job.report,
                "preview": preview(pairs),
                "guard": {"deletions": deletions, "linked": linked, "side_empty": looks_empty},
            }
            SyncJob.objects.filter(pk=self.job.pk).update(report=self.job.report)
            raise Stop(Status.NEEDS_CONFIRMATION)

    # --- checkpoints ---------------------------------------------------------------------------
    def checkpoint(self) -> None:
        """Between pages and batches: save progress, renew the lease, honour pause/cancel."""
        self.save_progress()
        control = SyncJob.objects.filter(pk=self.job.pk).values_list("control", flat=True).first()
        if control == SyncJob.Control.PAUSE:
            raise Stop(Status.PAUSED)
        if control == SyncJob.Control.CANCEL:
            raise Stop(Status.CANCELLED)

    def save_progress(self) -> None:
        http_calls = self.calls_before + http_api_calls(self.connection.pk) - self.http_calls_before
        self.counts["api_calls"] = max(self.counts["api_calls"], http_calls)
        SyncJob.objects.filter(pk=self.job.pk).update(heartbeat_at=timezone.now(), **self.counts)
        for name, value in self.counts.items():
            setattr(self.job, name, value)

    # --- applying ------------------------------------------------------------------------------
    def apply(self, batch: list[Pair], collection: str) -> None:
        self._prepare_remote_creates(batch, collection)
        self.masters_written = []
        for pair in batch:
            self._apply_remote(pair, collection)
        LocalWriter(self).write(batch)
        for master in self.masters_written:
            self._settle_master(master)

    def _settle_master(self, item: RemoteItem) -> None:
        """Our delete of an instance changed its master on the service (its exception dates):
        the local master and its link learn them now, so the next pull does not bring our own
        write back as a change made elsewhere, nor a later edit of the series as a conflict.
        Runs after the batch's local writes, which may have saved the same link."""
        link = (
            ItemLink.objects.filter(connection=self.connection, remote_id=item.remote_id)
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
            self._journal(pair, JournalEntry.Side.LOCAL, op, before, settled.base, version=version)

    def _prepare_remote_creates(self, batch: list[Pair], collection: str) -> None:
        """Save an intent (a link without a remote id) before creating remote items, so a
        rerun after a crash looks for the item it may have created instead of copying it."""
        new_links = []
        for pair in batch:
            if Op.CREATE_REMOTE not in pair.decision.ops or pair.local is None:
                continue
            if pair.link is None:
                pair.link = ItemLink(
                    connection=self.connection,
                    item_type=pair.item_type,
                    collection=collection,
                    dayflow_id=dayflow_id(pair.item_type, pair.local.pk),
                    base=dict(pair.decision.base or {}),
                    **{FK[pair.item_type]: pair.local},
                )
                new_links.append(pair.link)
            elif pair.link.remote_id:
                pair.link.remote_id = ""  # recreating an item the service deleted
                pair.link.save(update_fields=["remote_id"])
        bulk.create(new_links)

    def _apply_remote(self, pair: Pair, collection: str) -> None:
        ops = pair.decision.ops
        try:
            if Op.CREATE_REMOTE in ops:
                self._create_remote(pair, collection)
            elif Op.UPDATE_REMOTE in ops:
                self._update_remote(pair)
            elif Op.DELETE_REMOTE in ops:
                self._delete_remote(pair)
        except PreconditionFailed:
            # Changed remotely since our pull: leave the link, the next run sees both changes.
            pair.decision = Decision(base=pair.link.base if pair.link else None)
            pair.local = None
            pair.remote = None
            self.counts["conflicts"] += 1
        except Permanent as error:
            self._item_failed(pair, error)

    def _report_unsyncable(self, unsyncable: dict[str, str]) -> None:
        """Remote items we cannot represent: an error each, on the job and on their link."""
        for remote_id, reason in unsyncable.items():
            self.counts["errors"] += 1
            log.warning("sync job %s: %s left unsynced: %s", self.job.pk, remote_id, reason)
            ItemLink.objects.filter(connection=self.connection, remote_id=remote_id).update(
                last_error=reason[:2000]
            )
        if unsyncable:
            errors = [{"remote_id": r, "error": e[:500]} for r, e in unsyncable.items()]
            self.job.report = {**self.job.report, "unsyncable": errors[:100]}
            SyncJob.objects.filter(pk=self.job.pk).update(report=self.job.report)

    def _item_failed(self, pair: Pair, error: Exception) -> None:
        self.counts["errors"] += 1
        log.warning("sync job %s: item failed: %s", self.job.pk, error)
        if pair.link is not None and pair.link.pk:
            ItemLink.objects.filter(pk=pair.link.pk).update(last_error=str(error)[:2000])
        pair.decision = Decision(base=pair.link.base if pair.link else None)
        pair.local = pair.remote = None
        pair.link = None  # nothing more to save for it in this run

    def _create_remote(self, pair: Pair, collection: str) -> None:
        link, action = pair.link, _action(pair, Op.CREATE_REMOTE)
        item = self.provider.create(
            codec.decode(action.fields),
            dayflow_id=link.dayflow_id or dayflow_id(pair.item_type, pair.local.pk),
            collection=collection,
        )
        self.counts["api_calls"] += 1
        crash_point("after_remote_create")
        self._save_remote_write(pair, item, JournalEntry.Op.CREATE, before=None)
        self.counts["remote_created"] += 1

    def _update_remote(self, pair: Pair) -> None:
        link, action = pair.link, _action(pair, Op.UPDATE_REMOTE)
        before = pair.remote_json if pair.remote_json is not None else link.base
        item = self.provider.update(link.remote_id, codec.decode(action.fields), _seen(pair))
        self.counts["api_calls"] += 1
        self._save_remote_write(pair, item, JournalEntry.Op.UPDATE, before=before)
        self.counts["remote_updated"] += 1

    def _delete_remote(self, pair: Pair) -> None:
        link = pair.link
        master = None
        with contextlib.suppress(NotFound):  # already gone: the outcome we wanted
            master = self._delete_on_service(link, _seen(pair))
        self.counts["api_calls"] += 1
        with transaction.atomic():
            self._journal(pair, JournalEntry.Side.REMOTE, JournalEntry.Op.DELETE, link.base, None)
            link.delete()
        pair.link = None
        self.counts["remote_deleted"] += 1
        if master is not None:
            self.masters_written.append(master)

    def _delete_on_service(self, link: ItemLink, version: str) -> RemoteItem | None:
        """Delete the item; for an instance of a series, its master as the service now holds it."""
        series_remote_id = (link.base or {}).get("series_remote_id") or ""
        if not series_remote_id:
            self.provider.delete(link.remote_id, version)
            return None
        return self.provider.delete_instance(link.remote_id, series_remote_id, version)

    def _save_remote_write(
        self, pair: Pair, item: RemoteItem, op: str, *, before: dict | None
    ) -> None:
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
            self._journal(
                pair, JournalEntry.Side.REMOTE, op, before, link.base, version=item.version
            )

    def _journal(
        self,
        pair: Pair,
        side: str,
        op: str,
        before: dict | None,
        after: dict | None,
        *,
        version: str = "",
    ) -> None:
        JournalEntry.objects.create(**self._journal_row(pair, side, op, before, after, version))

    def _journal_row(
        self, pair: Pair, side: str, op: str, before: Any, after: Any, version: str = ""
    ) -> dict[str, Any]:
        """One journal entry as columns (`bulk.insert`'s row); `link_id` may still be None
        for a link created in the same batch: `LocalWriter` fills it in once it exists."""
        link = pair.link
        return {
            "job_id": self.job.pk,
            "connection_id": self.connection.pk,
            "link_id": link.pk if link is not None else None,
            "item_type": pair.item_type,
            "side": side,
            "op": op,
            "local_id": pair.local.pk if pair.local is not None else None,
            "remote_id": (link.remote_id if link else "")
            or (pair.remote.remote_id if pair.remote else ""),
            "before": before,
            "after": after,
            "version_after": str(version),
            "reason": _reason(pair, side, self.connection.conflict_resolution),
        }


class LocalWriter:
    """The local half of one batch, in bulk and in one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection = engine.connection
        self.now = timezone.now()
        self.created: list[Pair] = []
        self.updated: list[Pair] = []
        self.deleted: list[Pair] = []
        self.links_to_save: list[ItemLink] = []
        self.links_to_create: list[ItemLink] = []
        self.links_to_delete: list[int] = []
        self.conflicts: list[Pair] = []
        self.journal: list[tuple[dict[str, Any], Pair]] = []

    def write(self, batch: list[Pair]) -> None:
        for pair in batch:
            self._sort(pair)
        with transaction.atomic():
            self._create_locals()
            self._update_locals()
            self._link_series()
            self._save_links()
            self._record_conflicts()
            bulk.insert(JournalEntry, [row for row, _pair in self.journal])
        counts = self.engine.counts
        counts["processed"] += len(batch)
        counts["local_created"] += len(self.created)
        counts["local_updated"] += len(self.updated) - len(self.deleted)
        counts["local_deleted"] += len(self.deleted)

    def _sort(self, pair: Pair) -> None:
        ops = pair.decision.ops
        if Op.CONFLICT in ops:
            self.conflicts.append(pair)
        elif Op.CREATE_LOCAL in ops or (Op.UPDATE_LOCAL in ops and pair.local is None):
            self.created.append(pair)
        elif Op.UPDATE_LOCAL in ops:
            self.updated.append(pair)
        elif Op.DELETE_LOCAL in ops and pair.local is not None:
            self.updated.append(pair)
            self.deleted.append(pair)
        elif pair.link is not None or (pair.local is not None and pair.remote is not None):
            self._bookkeep(pair)

    def _bookkeep(self, pair: Pair) -> None:
        """No local write: record agreement, new versions, or drop the link."""
        link = pair.link
        if Op.DELETE_LOCAL in pair.decision.ops or pair.decision.base is None:
            if link is not None and link.pk:
                self.links_to_delete.append(link.pk)
            return
        if link is None:
            link = pair.link = self._new_link(pair)
            self.links_to_create.append(link)
        else:
            self.links_to_save.append(link)
        link.base = dict(pair.decision.base)
        if pair.local is not None:
            link.local_version = pair.local.version
        if pair.remote is not None:
            link.remote_id, link.remote_version = pair.remote.remote_id, pair.remote.version

    def _new_link(self, pair: Pair) -> ItemLink:
        remote = pair.remote
        link = ItemLink(
            connection_id=self.connection.pk,
            item_type=pair.item_type,
            remote_id=remote.remote_id,
            collection=remote.collection,
            remote_version=remote.version,
            dayflow_id=remote.dayflow_id,
        )
        if pair.local is not None and pair.local.pk:
            setattr(link, f"{FK[pair.item_type]}_id", pair.local.pk)
        return link

    def _create_locals(self) -> None:
        by_type: dict[str, list[Pair]] = {}
        for pair in self.created:
            by_type.setdefault(pair.item_type, []).append(pair)
        for item_type, pairs in by_type.items():
            model = MODELS[item_type]
            objs = []
            for pair in pairs:
                obj = model(user_id=self.connection.user_id, version=1)
                codec.apply_local(obj, _write_fields(pair))
                obj.created_at = obj.updated_at = self.now
                objs.append(obj)
            bulk.create(objs)
            for pair, obj in zip(pairs, objs, strict=True):
                pair.local = obj
                self._link_after_local_write(pair, JournalEntry.Op.CREATE, before=None)

    def _update_locals(self) -> None:
        by_type: dict[str, list[Pair]] = {}
        for pair in self.updated:
            by_type.setdefault(pair.item_type, []).append(pair)
        for item_type, pairs in by_type.items():
            model = MODELS[item_type]
            columns: set[str] = {"version", "updated_at", "deleted_at"}
            for pair in pairs:
                obj = pair.local
                before = pair.local_json if not obj.is_deleted else None
                deleting = Op.DELETE_LOCAL in pair.decision.ops
                if deleting:
                    obj.deleted_at = self.now
                else:
                    codec.apply_local(obj, _write_fields(pair))
                    obj.deleted_at = None
                    columns |= set(_columns(item_type))
                obj.version += 1
                obj.updated_at = self.now
                op = JournalEntry.Op.DELETE if deleting else JournalEntry.Op.UPDATE
                self._link_after_local_write(pair, op, before=before)
            model.all_objects.bulk_update([p.local for p in pairs], sorted(columns))

    def _link_after_local_write(self, pair: Pair, op: str, *, before: dict | None) -> None:
        deleting = op == JournalEntry.Op.DELETE
        after = None if deleting else dict(pair.decision.base or {})
        version = str(pair.local.version)
        row = self.engine._journal_row(pair, JournalEntry.Side.LOCAL, op, before, after, version)
        self.journal.append((row, pair))
        if deleting:
            if pair.link is not None and pair.link.pk:
                self.links_to_delete.append(pair.link.pk)
            return
        link = pair.link
        if link is None:
            link = pair.link = self._new_link(pair)
            self.links_to_create.append(link)
        elif link.pk:
            self.links_to_save.append(link)
        setattr(link, f"{FK[pair.item_type]}_id", pair.local.pk)
        link.base = dict(pair.decision.base or {})
        link.local_version = pair.local.version
        if pair.remote is not None:
            link.remote_id, link.remote_version = pair.remote.remote_id, pair.remote.version

    def _link_series(self) -> None:
        """Overridden instances point at their series master, found by its remote id."""
        wanted = {
            p.decision.base.get("series_remote_id"): p
            for p in self.created + self.updated
            if p.item_type == ItemType.EVENT and (p.decision.base or {}).get("series_remote_id")
        }
        if not wanted:
            return
        masters = dict(
            ItemLink.objects.filter(
                connection=self.connection, remote_id__in=list(wanted)
            ).values_list("remote_id", "event_id")
        )
        for link in self.links_to_create:
            if link.item_type == ItemType.EVENT and link.remote_id in wanted:
                masters.setdefault(link.remote_id, link.event_id)
        changed = []
        for pair in self.created + self.updated:
            series_remote_id = (pair.decision.base or {}).get("series_remote_id")
            if pair.item_type == ItemType.EVENT and series_remote_id in masters:
                pair.local.series_id = masters[series_remote_id]
                changed.append(pair.local)
        Event.all_objects.bulk_update(changed, ["series"])

    def _save_links(self) -> None:
        if self.links_to_delete:
            ItemLink.objects.filter(pk__in=self.links_to_delete).delete()
        bulk.create(self.links_to_create)
        ItemLink.objects.bulk_update(
            [link for link in self.links_to_save if link.pk not in set(self.links_to_delete)],
            ["remote_id", "remote_version", "local_version", "base", "task", "event", "last_error"],
        )
        deleted = set(self.links_to_delete)
        for row, pair in self.journal:
            # The pair's link, created above if it is new, unless this batch deleted it.
            link = pair.link
            row["link_id"] = link.pk if link is not None and link.pk not in deleted else None

    def _record_conflicts(self) -> None:
        for pair in self.conflicts:
            link = pair.link
            if link is None:
                link = pair.link = self._new_link(pair)
                setattr(link, FK[pair.item_type], pair.local)
                link.local_version = 0  # both sides stay "changed" until resolved
                link.remote_version = ""
                link.save()
            action = _action(pair, Op.CONFLICT)
            values = {
                "job": self.engine.job,
                "base": link.base,
                "local": pair.local_json,
                "remote": pair.remote_json if pair.remote_json is not None else link.base,
                "remote_version": _remote_version(pair),
                "fields": list(action.clash),
            }
            Conflict.objects.update_or_create(
                link=link, status=Conflict.Status.OPEN, defaults=values
            )
            self.engine.counts["conflicts"] += 1


# --- helpers -------------------------------------------------------------------------------------
def _leave_undone(pairs: dict[tuple, Pair]) -> None:
    """Pairs an undo left apart wait for the user's "send again" (sync.repair): syncing them
    now would delete the side undo kept, or import again the copy it removed."""
    for key in [k for k, p in pairs.items() if p.link is not None and p.link.undone_at]:
        del pairs[key]


def _key(link: ItemLink | None, item: RemoteItem | None = None) -> tuple:
    if link is not None:
        return ("link", link.pk)
    return ("remote", item.remote_id if item else "")


def _is_cancelled_instance(item: RemoteItem | None) -> bool:
    if item is None or item.item_type != ItemType.EVENT:
        return False
    fields = item.fields
    return fields.get("status") == "cancelled" and bool(fields.get("series_remote_id"))


def _deletes_an_instance(pair: Pair) -> bool:
    base = pair.link.base if pair.link is not None else None
    return Op.DELETE_REMOTE in pair.decision.ops and bool((base or {}).get("series_remote_id"))


def _remote_version(pair: Pair) -> str:
    if pair.remote is not None:
        return pair.remote.version
    if pair.conflict is not None:
        return pair.conflict.remote_version
    return pair.link.remote_version


def _seen(pair: Pair) -> str:
    """The remote version a write may overwrite: the one we just pulled (we decided against
    it knowingly), else the one we last synced."""
    return pair.remote.version if pair.remote is not None else pair.link.remote_version


def _action(pair: Pair, op: Op):
    return next(action for action in pair.decision.actions if action.op == op)


def _write_fields(pair: Pair) -> dict[str, Any]:
    action = next(a for a in pair.decision.actions if a.op in (Op.CREATE_LOCAL, Op.UPDATE_LOCAL))
    return dict(action.fields or {})


def _columns(item_type: str) -> tuple[str, ...]:
    if item_type == ItemType.TASK:
        return ("title", "notes", "status", "due_date", "due_at", "priority", "completed_at")
    return (
        "title",
        "description",
        "location",
        "status",
        "all_day",
        "start",
        "end",
        "timezone",
        "start_date",
        "end_date",
        "rrule",
        "exdates",
        "recurrence_id",
    )


def _reason(pair: Pair, side: str, strategy: str) -> str:
    if pair.decision.loser == side:
        return f"lost:{strategy}"
    return "applied"


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def preview(pairs: list[Pair]) -> dict[str, dict[str, int]]:
    """What a run would do, per side: the report of a dry run and of the mass-deletion guard."""
    names = {
        Op.CREATE_LOCAL: ("local", "create"),
        Op.UPDATE_LOCAL: ("local", "update"),
        Op.DELETE_LOCAL: ("local", "delete"),
        Op.CREATE_REMOTE: ("remote", "create"),
        Op.UPDATE_REMOTE: ("remote", "update"),
        Op.DELETE_REMOTE: ("remote", "delete"),
        Op.CONFLICT: ("both", "conflict"),
    }
    report: dict[str, dict[str, int]] = {
        "local": {"create": 0, "update": 0, "delete": 0},
        "remote": {"create": 0, "update": 0, "delete": 0},
        "both": {"conflict": 0},
    }
    for pair in pairs:
        for op in pair.decision.ops:
            side, what = names[op]
            report[side][what] += 1
    return report


def crash_point(name: str) -> None:
    """A seam for the crash tests: a hook that may kill the process at this exact point."""
    hook = CRASH_HOOKS.get(name)
    if hook is not None:
        hook()


CRASH_HOOKS: dict[str, Callable[[], None]] = {}
