"""Pull: every remote page since the cursor, as one value (`Pulled`) for planning."""

from __future__ import annotations

import dataclasses
import logging

from integrations.providers.base import RemoteItem
from integrations.providers.errors import CursorExpired
from sync.engine.run import Run, checkpoint

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Pulled:
    """What the service reported since the cursor: changed items by remote id, deleted ids,
    whether it was a full listing (deletions are then found by difference), the next cursor,
    and the items it holds that we cannot represent (with why)."""

    items: dict[str, RemoteItem] = dataclasses.field(default_factory=dict)
    deleted: set[str] = dataclasses.field(default_factory=set)
    full: bool = False
    cursor: str | None = None
    unsyncable: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def listed_empty(self) -> bool:
        return self.full and not self.items


def pull(run: Run, cursor: str | None) -> Pulled:
    pulled = Pulled()
    while True:
        try:
            page = run.provider.pull(cursor)
        except CursorExpired:
            if cursor is None:
                raise
            log.info("cursor of connection %s expired: full listing", run.connection.pk)
            return pull(run, None)
        run.counts["api_calls"] += 1
        pulled.full = pulled.full or page.full
        for item in page.items:
            if str(item.item_type) in run.types:
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
        checkpoint(run)
