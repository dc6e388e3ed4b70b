"""Every connection made before sync links gets one per container it syncs, as
`sync.links.reconcile` makes them; the oldest connection of each kind of item becomes the
destination of the Inbox (or "My calendar"), as the first to sync used to take new items."""

from django.db import migrations

from integrations.providers import PROVIDERS


def containers(connection, provider) -> list[str]:
    chosen = (connection.field_mapping or {}).get(provider.collection_setting)
    if isinstance(chosen, str):
        chosen = [chosen]
    picked = [c for c in chosen if isinstance(c, str) and c] if isinstance(chosen, list) else []
    if picked:
        return list(dict.fromkeys(picked))
    return [] if provider.collection_required else [""]


def make_links(apps, schema_editor) -> None:
    Connection = apps.get_model("integrations", "Connection")
    SyncLink = apps.get_model("sync", "SyncLink")
    taken: set[tuple[int, str]] = set()
    connections = Connection.objects.exclude(status="disconnected").select_related("service")
    for connection in connections.order_by("pk"):
        if connection.service.key not in PROVIDERS:
            continue
        provider = PROVIDERS[connection.service.key]
        offered = set(provider.kinds_synced(connection.field_mapping))
        types = [
            t
            for t, wanted in (("task", connection.sync_tasks), ("event", connection.sync_events))
            if wanted and t in offered
        ]
        for item_type in types:
            for collection in containers(connection, provider):
                first = (connection.user_id, item_type) not in taken
                SyncLink.objects.get_or_create(
                    connection=connection,
                    item_type=item_type,
                    collection=collection,
                    defaults={"user_id": connection.user_id, "is_destination": first},
                )
                taken.add((connection.user_id, item_type))


class Migration(migrations.Migration):
    dependencies = [("sync", "0008_sync_links")]

    operations = [migrations.RunPython(make_links, migrations.RunPython.noop)]
