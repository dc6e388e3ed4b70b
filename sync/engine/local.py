"""Local writes: the DayFlow half of one batch, in bulk and in one transaction.

Items, links and journal entries go in as plain rows (`sync.bulk`: no signals, as
`bulk_create`); open conflicts are recorded or refreshed.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from dayflow.models import INBOX, MAIN_CALENDAR, Event, Task
from sync import bulk, directions, links
from sync import fields as codec
from sync.decisions import Action, Op
from sync.engine.journal import journal_row
from sync.engine.plan import Pair
from sync.engine.run import Run
from sync.mapping import COLUMNS, FK, READ_ONLY_COLUMNS, fk_column, model_for
from sync.models import Conflict, ItemLink, ItemType, JournalEntry


class LocalWriter:
    """The local half of one batch, in bulk and in one transaction."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.connection = run.connection
        self.now = timezone.now()
        self.created: list[Pair] = []
        self.updated: list[Pair] = []
        self.deleted: list[Pair] = []
        self.links_to_save: list[ItemLink] = []
        self.links_to_create: list[ItemLink] = []
        self.links_to_delete: list[int] = []
        self.links_to_mark: list[ItemLink] = []
        self.conflicts: list[Pair] = []
        self.journal: list[tuple[dict[str, Any], Pair]] = []
        self._sides: links.Sides | None = None

    @property
    def sides(self) -> links.Sides:
        if self._sides is None:
            self._sides = links.Sides(self.connection.pk)
        return self._sides

    def write(self, batch: list[Pair]) -> None:
        for pair in batch:
            self._sort(pair)
        with transaction.atomic():
            self._create_locals()
            self._update_locals()
            self._refresh_read_only(batch)
            self._follow_moves(batch)
            self._link_series()
            self._save_links()
            self._record_conflicts()
            bulk.insert(JournalEntry, [row for row, _pair in self.journal])
        counts = self.run.counts
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
        if pair.deletion_mark and link is not None and link.pk:
            self._mark(link, pair)
            return
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
            link.web_url = pair.remote.web_url or link.web_url

    def _mark(self, link: ItemLink, pair: Pair) -> None:
        """The deletion policy keeps the pair apart (`sync.deletion_policy`). The link takes
        the local version too, so later runs do not load the item again until it changes."""
        link.deletion_pending, link.deletion_pending_at = pair.deletion_mark, self.now
        if pair.local is not None:
            link.local_version = pair.local.version
        self.links_to_mark.append(link)

    def _new_link(self, pair: Pair) -> ItemLink:
        remote = pair.remote
        link = bulk.blank(ItemLink)(
            connection_id=self.connection.pk,
            item_type=pair.item_type,
            remote_id=remote.remote_id,
            collection=remote.collection,
            remote_version=remote.version,
            dayflow_id=remote.dayflow_id,
            web_url=remote.web_url,
        )
        if pair.local is not None and pair.local.pk:
            setattr(link, fk_column(pair.item_type), pair.local.pk)
        return link

    def _create_locals(self) -> None:
        by_type: dict[str, list[Pair]] = {}
        for pair in self.created:
            by_type.setdefault(pair.item_type, []).append(pair)
        for item_type, pairs in by_type.items():
            new = bulk.blank(model_for(item_type))
            objs = []
            for pair in pairs:
                obj = new(user_id=self.connection.user_id, version=1)
                collection = pair.remote.collection if pair.remote else ""
                setattr(obj, links.side_column(item_type), self.sides.of(item_type, collection))
                codec.apply_local(obj, _write_fields(pair))
                codec.apply_read_only(obj, pair.remote.read_only if pair.remote else {})
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
            model = model_for(item_type)
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
                    columns |= set(COLUMNS[item_type])
                obj.version += 1
                obj.updated_at = self.now
                op = JournalEntry.Op.DELETE if deleting else JournalEntry.Op.UPDATE
                self._link_after_local_write(pair, op, before=before)
            model.all_objects.bulk_update([p.local for p in pairs], sorted(columns))

    def _refresh_read_only(self, batch: list[Pair]) -> None:
        """What the service shows and DayFlow never sends back (a task's list, an event's
        attendees) follows every pull of the item, whatever the sync decided; no new version,
        as it is no edit to send anywhere."""
        by_type: dict[str, list[Task | Event]] = {}
        for pair in batch:
            obj, item = pair.local, pair.remote
            if obj is None or not obj.pk or item is None or not item.read_only:
                continue
            if codec.apply_read_only(obj, item.read_only):
                by_type.setdefault(pair.item_type, []).append(obj)
        for item_type, objs in by_type.items():
            model_for(item_type).all_objects.bulk_update(objs, list(READ_ONLY_COLUMNS[item_type]))

    def _follow_moves(self, batch: list[Pair]) -> None:
        """An item the service moved to another of the connection's containers (a task moved
        to another synced Todoist project) moves to the DayFlow list that container's link
        feeds: the same item, journaled as a move, not a deletion and a new item. No new
        version: it is the service's change, not one to send back."""
        moved: dict[str, list[Task | Event]] = {}
        # The list's direction may keep the service's moves out: the link still learns where
        # the item is, DayFlow's list stays as it is.
        directed = self.connection.field_directions
        kept_here = {
            kind
            for kind in {p.item_type for p in batch}
            if "list" in directions.blocked(kind, directed).incoming
        }
        for pair in batch:
            link, obj, item = pair.link, pair.local, pair.remote
            if link is None or not link.pk or obj is None or obj.is_deleted or item is None:
                continue
            if not item.collection or not link.collection or item.collection == link.collection:
                continue
            if pair.move_to or Op.DELETE_LOCAL in pair.decision.ops:
                continue  # moved in DayFlow meanwhile: DayFlow's list wins (`remote.move`)
            column = links.side_column(pair.item_type)
            side = self.sides.of(pair.item_type, item.collection)
            # "_container": where the service holds it, for undo (`repair._undo_move`).
            before = {"list": _side_words(obj, pair.item_type), "_container": link.collection}
            link.collection = item.collection
            self.links_to_save.append(link)
            if getattr(obj, column) == side or pair.item_type in kept_here:
                continue
            setattr(obj, column, side)
            moved.setdefault(pair.item_type, []).append(obj)
            after = {"list": _side_words(obj, pair.item_type), "_container": link.collection}
            row = journal_row(
                self.run,
                pair,
                JournalEntry.Side.LOCAL,
                JournalEntry.Op.MOVE,
                before,
                after,
                str(obj.version),
            )
            self.journal.append((row, pair))
        for item_type, objs in moved.items():
            model_for(item_type).all_objects.bulk_update(objs, [links.side_column(item_type)])

    def _link_after_local_write(self, pair: Pair, op: str, *, before: dict | None) -> None:
        deleting = op == JournalEntry.Op.DELETE
        after = None if deleting else dict(pair.decision.base or {})
        version = str(pair.local.version)
        row = journal_row(self.run, pair, JournalEntry.Side.LOCAL, op, before, after, version)
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
        setattr(link, fk_column(pair.item_type), pair.local.pk)
        link.base = dict(pair.decision.base or {})
        link.local_version = pair.local.version
        if pair.remote is not None:
            link.remote_id, link.remote_version = pair.remote.remote_id, pair.remote.version
            link.web_url = pair.remote.web_url or link.web_url

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
        ItemLink.objects.bulk_update(
            self.links_to_mark, ["deletion_pending", "deletion_pending_at", "local_version"]
        )
        bulk.create(self.links_to_create)
        ItemLink.objects.bulk_update(
            [link for link in self.links_to_save if link.pk not in set(self.links_to_delete)],
            [
                *("remote_id", "remote_version", "local_version", "base", "task", "event"),
                *("last_error", "web_url", "collection"),
            ],
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
                "job": self.run.job,
                "base": link.base,
                "local": pair.local_json,
                "remote": pair.remote_json if pair.remote_json is not None else link.base,
                "remote_version": _remote_version(pair),
                "fields": list(action.clash),
            }
            Conflict.objects.update_or_create(
                link=link, status=Conflict.Status.OPEN, defaults=values
            )
            self.run.counts["conflicts"] += 1


def _side_words(obj: Task | Event, item_type: str) -> str:
    """The DayFlow list (or calendar) an item is in, by name."""
    if item_type == ItemType.TASK:
        return obj.task_list.name if obj.task_list_id else INBOX
    return obj.calendar.name if obj.calendar_id else MAIN_CALENDAR


def _remote_version(pair: Pair) -> str:
    if pair.remote is not None:
        return pair.remote.version
    if pair.conflict is not None:
        return pair.conflict.remote_version
    return pair.link.remote_version


def _action(pair: Pair, op: Op) -> Action:
    return next(action for action in pair.decision.actions if action.op == op)


def _write_fields(pair: Pair) -> dict[str, Any]:
    action = next(a for a in pair.decision.actions if a.op in (Op.CREATE_LOCAL, Op.UPDATE_LOCAL))
    return dict(action.fields or {})
