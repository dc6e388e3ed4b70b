"""Audit every change to a connection, whoever makes it (page, API, admin, engine)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from audit.writer import record
from integrations.models import UserIntegration

BOOKKEEPING_FIELDS = {"last_sync_at", "last_error", "updated_at"}


@receiver(post_save, sender=UserIntegration)
def connection_saved(
    sender, instance: UserIntegration, created: bool, update_fields=None, **kwargs
):
    if not created and update_fields and set(update_fields) <= BOOKKEEPING_FIELDS:
        return
    action = "connection.created" if created else "connection.updated"
    details = {"service": instance.service.key, "status": instance.status}
    if update_fields:
        details["fields"] = sorted(update_fields)
    record(action, actor=instance.user, connection=instance, details=details)


@receiver(post_delete, sender=UserIntegration)
def connection_deleted(sender, instance: UserIntegration, **kwargs):
    record(
        "connection.deleted",
        actor=instance.user,
        connection=instance,
        details={"service": instance.service.key},
    )
