"""Audit every change to a connection, whoever makes it (page, API, admin, engine)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from audit.writer import record
from integrations.models import Connection

# Lifecycle signals, so the apps that build on integrations (sync, webhooks) can react without
# integrations importing them (imports only go one way: see docs/architecture.md).
# connection_connected(sender, connection, created: bool, request): an account was connected or
#   reconnected and its credentials are stored, with the granted scopes (register webhooks,
#   schedule syncs, record consent from the request's address).
connection_connected = Signal()
# connection_set_up(sender, connection): the settings now name what it needed to sync (its
#   `setup_needed` was not empty before the save and is now): its first sync can start.
connection_set_up = Signal()
# connection_disconnecting(sender, connection, keep_items: bool): sent *before* the credentials
#   are revoked and deleted (remove webhook subscriptions while the token still works, stop
#   schedules, and remove the synced items from DayFlow unless keep_items).
connection_disconnecting = Signal()
# connection_status_changed(sender, connection, old: str, new: str): paused, resumed,
#   needs_reauth, error... (keep beat schedules in step).
connection_status_changed = Signal()

BOOKKEEPING_FIELDS = {"last_sync_at", "last_error", "updated_at"}


@receiver(post_save, sender=Connection)
def connection_saved(sender, instance: Connection, created: bool, update_fields=None, **kwargs):
    if not created and update_fields and set(update_fields) <= BOOKKEEPING_FIELDS:
        return
    action = "connection.created" if created else "connection.updated"
    details = {"service": instance.service.key, "status": instance.status}
    if update_fields:
        details["fields"] = sorted(update_fields)
    record(action, actor=instance.user, connection=instance, details=details)


@receiver(post_delete, sender=Connection)
def connection_deleted(sender, instance: Connection, **kwargs):
    record(
        "connection.deleted",
        actor=instance.user,
        connection=instance,
        details={"service": instance.service.key},
    )
