"""Which DayFlow model a synced item is, where its link points, and DayFlow's id for it.

The one place the engine, undo and the lifecycle receivers look these up: an item type names a
local model (`Task`, `Event`), the link's column for it (`task`, `event`), the columns a sync
writes, and DayFlow's id as stored on the service's copy (`dayflow-<type>-<pk>`).
The field values themselves are converted in `sync.fields`.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from dayflow.models import Event, Task
from sync.models import ItemType

MODELS: dict[str, type[Task] | type[Event]] = {ItemType.TASK: Task, ItemType.EVENT: Event}
# The ItemLink foreign key (and JournalEntry's local id) of each item type.
FK = {ItemType.TASK: "task", ItemType.EVENT: "event"}
# The columns a sync writes on DayFlow's side (sync.fields sets them from the fields).
COLUMNS: dict[str, tuple[str, ...]] = {
    ItemType.TASK: (
        *("title", "notes", "status", "due_date", "due_at", "priority", "completed_at", "tags"),
    ),
    ItemType.EVENT: (
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
    ),
}
# The columns filled from what a service shows and never written back (`sync.fields.READ_ONLY`).
READ_ONLY_COLUMNS: dict[str, tuple[str, ...]] = {
    ItemType.TASK: ("list_name",),
    ItemType.EVENT: ("attendees",),
}
_DAYFLOW_ID = re.compile(r"^dayflow-(task|event)-(\d+)$")


class LocalRef(NamedTuple):
    """A DayFlow item named by type and primary key, as DayFlow's id spells it."""

    item_type: str
    pk: int


def model_for(item_type: str) -> type[Task] | type[Event]:
    return MODELS[ItemType(item_type)]


def fk_column(item_type: str) -> str:
    """The link's foreign key column of this item type (`task_id`, `event_id`)."""
    return f"{FK[item_type]}_id"


def dayflow_id(item_type: str, pk: int) -> str:
    """DayFlow's id as stored on a remote item (CalDAV UID, extended property, marker…)."""
    return f"dayflow-{item_type}-{pk}"


def parse_dayflow_id(value: str) -> LocalRef | None:
    match = _DAYFLOW_ID.match(value or "")
    return LocalRef(match.group(1), int(match.group(2))) if match else None
