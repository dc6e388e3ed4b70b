"""The kinds of item a connection syncs. Outside `sync.engine` so that `sync.links`, which
the engine imports, can ask too without an import cycle."""

from __future__ import annotations

from integrations.models import Connection
from integrations.providers.base import Provider
from sync.models import ItemType


def item_types(connection: Connection, provider: Provider) -> tuple[str, ...]:
    """Tasks and/or events: those the service offers (both when it says none) that the
    connection's settings sync."""
    offered = {str(t) for t in provider.item_types} or {ItemType.TASK, ItemType.EVENT}
    wanted = []
    if connection.sync_tasks and ItemType.TASK in offered:
        wanted.append(ItemType.TASK)
    if connection.sync_events and ItemType.EVENT in offered:
        wanted.append(ItemType.EVENT)
    return tuple(wanted)
