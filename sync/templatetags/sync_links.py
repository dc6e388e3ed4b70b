"""The "Where its items go" part of a connection's settings page, rendered by the sync app so
the integrations app needs no import of it."""

from __future__ import annotations

from typing import Any

from django import template

from dayflow.models import INBOX, MAIN_CALENDAR, Calendar, TaskList
from integrations.models import Connection
from sync.models import ItemType

register = template.Library()


@register.inclusion_tag("sync/_where_items_go.html", takes_context=True)
def where_items_go(context: dict[str, Any], connection: Connection) -> dict[str, Any]:
    """Each of the connection's sync links with a select of the DayFlow list (or calendar) it
    feeds: three queries, however many links and lists."""
    found = list(connection.sync_links.select_related("connection__service"))
    sides: dict[str, list[tuple[str, str]]] = {}
    if any(link.item_type == ItemType.TASK for link in found):
        owned = TaskList.objects.for_user(connection.user_id).values_list("pk", "name")
        sides[ItemType.TASK] = [("", INBOX), *((str(pk), name) for pk, name in owned)]
    if any(link.item_type == ItemType.EVENT for link in found):
        owned = Calendar.objects.for_user(connection.user_id).values_list("pk", "name")
        sides[ItemType.EVENT] = [("", MAIN_CALENDAR), *((str(pk), name) for pk, name in owned)]
    rows = [
        {
            "link": link,
            "choices": sides[link.item_type],
            "chosen": str(link.dayflow_side_id or ""),
            "noun": "list" if link.item_type == ItemType.TASK else "calendar",
            "items": "tasks" if link.item_type == ItemType.TASK else "events",
        }
        for link in found
    ]
    return {"rows": rows, "csrf_token": context.get("csrf_token"), "connection": connection}
