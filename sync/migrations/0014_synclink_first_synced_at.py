"""Each sync link remembers when a real sync first went through its container.

Forwards: the links of a connection that has synced count as synced already, as of its last
sync (no preview holds them back); those of a connection that never synced stay empty, and
wait for its first sync as before. Backwards: the column goes.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def synced_already(apps, schema_editor) -> None:
    Connection = apps.get_model("integrations", "Connection")
    SyncLink = apps.get_model("sync", "SyncLink")
    last_sync = Connection.objects.filter(pk=OuterRef("connection_id")).values("last_sync_at")
    SyncLink.objects.filter(connection__last_sync_at__isnull=False).update(
        first_synced_at=Subquery(last_sync[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0007_connection_next_sync_at"),
        ("sync", "0013_schedules_to_next_sync_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="synclink",
            name="first_synced_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="first synced"),
        ),
        migrations.RunPython(synced_already, migrations.RunPython.noop, elidable=True),
    ]
