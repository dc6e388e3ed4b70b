"""How many of a person's DayFlow items a connection's rules would let through: the settings
page's preview, counted before anything is saved.

Only DayFlow's side is counted: the service's items are not stored between syncs (a link
keeps only what both sides agreed on), so how many of them match is known at the next sync.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from dayflow.models import Event, Task
from integrations.models import Connection
from sync import fields as codec
from sync.mapping import fk_column, model_for
from sync.models import ItemLink, ItemType, SyncLink
from sync.rules import matches

NAMES = {"task": ("task", "tasks"), "event": ("event", "events")}


@dataclasses.dataclass(frozen=True)
class Count:
    kind: str
    matching: int
    total: int
    let_go: int  # linked now, would be unlinked (kept on both sides)

    @property
    def words(self) -> str:
        one, many = NAMES[self.kind]
        return f"{self.matching} of {self.total} {one if self.total == 1 else many}"


def count(connection: Connection, rules: Any, today: dt.date) -> list[Count]:
    """Per kind of item the connection's service carries: DayFlow's items (not deleted) that
    match `rules`, all of them, and the linked ones that would stop syncing."""
    return [_count(connection, kind, rules, today) for kind in connection.offered_fields()]


def count_link(link: SyncLink, rules: Any, today: dt.date) -> Count:
    """As `count`, for one sync link: only its kind of item, only those in its DayFlow list
    (or calendar; None is the Inbox or "My calendar"), let go only if linked by its
    connection."""
    kind = str(link.item_type)
    side = "task_list_id" if kind == ItemType.TASK else "calendar_id"
    return _count(link.connection, kind, rules, today, {side: link.dayflow_side_id})


def _count(
    connection: Connection, kind: str, rules: Any, today: dt.date, where: dict | None = None
) -> Count:
    column = fk_column(kind)
    linked = set(
        ItemLink.objects.filter(connection=connection, item_type=kind)
        .exclude(**{f"{column}__isnull": True})
        .values_list(column, flat=True)
    )
    matching = total = let_go = 0
    items = model_for(kind).objects.filter(user_id=connection.user_id, **(where or {}))
    for obj in items.iterator():
        total += 1
        if matches(kind, item_fields(obj), rules, today):
            matching += 1
        elif obj.pk in linked:
            let_go += 1
    return Count(kind, matching, total, let_go)


def item_fields(obj: Task | Event) -> dict[str, Any]:
    fields = codec.local_fields(obj)
    if isinstance(obj, Task):
        fields["tags"] = list(obj.tags or [])
    return fields


def sentence(counts: list[Count]) -> str:
    """ "3 of 10 tasks and 2 of 4 events in DayFlow match." """
    if not counts:
        return "This service syncs nothing rules apply to."
    parts = [c.words for c in counts]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    verb = "matches" if len(counts) == 1 and counts[0].matching == 1 else "match"
    return f"{listed} in DayFlow {verb}."
