"""`UserIntegration` becomes `Connection`: the word the pages, the admin and the API use.

The table is renamed too (`integrations_connection`), so SQL, database consoles and the code
say the same thing; on SQLite and PostgreSQL a rename is a catalogue change, not a copy, and the
foreign keys follow it. Django renames the content type itself (so audit rows keep pointing at
their connection); staff permissions are renamed here, so groups keep what they were granted.
"""

from django.db import migrations

OLD, NEW = "userintegration", "connection"
VERBOSE = {OLD: "user integration", NEW: "connection"}  # what Django names a permission after


def rename_permissions(apps, schema_editor, old=OLD, new=NEW):
    Permission = apps.get_model("auth", "Permission")
    for permission in Permission.objects.filter(
        content_type__app_label="integrations", codename__endswith=f"_{old}"
    ):
        action = permission.codename.removesuffix(f"_{old}")
        permission.codename = f"{action}_{new}"
        permission.name = f"Can {action} {VERBOSE[new]}"
        permission.save(update_fields=["codename", "name"])


def restore_permissions(apps, schema_editor):
    rename_permissions(apps, schema_editor, old=NEW, new=OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("integrations", "0002_sync_interval_bounds"),
        ("sync", "0002_itemlink_undone_at"),
        ("webhooks", "0002_subscription_retry"),
    ]

    operations = [
        migrations.RenameModel(old_name="UserIntegration", new_name="Connection"),
        # The index was named after the model (Meta.indexes without a name).
        migrations.RenameIndex(
            model_name="connection",
            new_name="integration_status_9045e9_idx",
            old_name="integration_status_d77709_idx",
        ),
        migrations.RunPython(rename_permissions, restore_permissions),
    ]
