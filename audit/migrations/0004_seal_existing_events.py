"""Link the events written before the chain existed into it, oldest first, and make the chain
head's one row."""

from django.db import migrations

from audit.hashing import FIELDS, seal

BATCH = 2000


def seal_existing(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChainHead = apps.get_model("audit", "AuditChainHead")
    last_id, last_hash = None, ""
    while True:
        # In pages by id, not one open cursor: SQLite does not isolate a read from the writes.
        rows = AuditEvent.objects.order_by("id")
        if last_id is not None:
            rows = rows.filter(id__gt=last_id)
        page = list(rows.values("id", *FIELDS)[:BATCH])
        if not page:
            break
        sealed = list(seal(page, last_hash))
        AuditEvent.objects.bulk_update(
            [AuditEvent(id=i, content_hash=own, chain_hash=chained) for i, own, chained in sealed],
            ["content_hash", "chain_hash"],
        )
        last_id, _, last_hash = sealed[-1]
    AuditChainHead.objects.update_or_create(
        pk=1, defaults={"last_event_id": last_id, "chain_hash": last_hash}
    )


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_chain")]

    operations = [migrations.RunPython(seal_existing, migrations.RunPython.noop)]
