"""Connection lifecycle → webhook subscriptions (hooked up in WebhooksConfig.ready)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from integrations.models import Connection
from integrations.signals import (
    connection_connected,
    connection_disconnecting,
    connection_status_changed,
)
from webhooks import subscriptions
from webhooks.tasks import register_subscriptions

logger = logging.getLogger(__name__)

# The settings that decide what is watched (field_mapping) and whether push is wanted at all.
SETTINGS_FIELDS = ("field_mapping", "auto_sync", "sync_direction")
_BEFORE = "_webhook_settings_before"


@receiver(connection_connected, dispatch_uid="webhooks.register_on_connect")
def register_on_connect(sender: Any, connection: Connection, **kwargs: Any) -> None:
    """Registration calls the service (and Graph calls us back to validate the URL), so it
    runs in the background once the connection is committed."""
    if not subscriptions.wants_push(connection):
        return
    _reconcile_later(connection)


def _reconcile_later(connection: Connection) -> None:
    pk = connection.pk
    transaction.on_commit(lambda: register_subscriptions.delay(pk))


@receiver(connection_status_changed, dispatch_uid="webhooks.register_on_resume")
def register_on_resume(sender: Any, connection: Connection, new: str = "", **kwargs: Any) -> None:
    """A connection back in service (resumed, reauthorized) gets the subscriptions it lacks."""
    if new == Connection.Status.CONNECTED:
        register_on_connect(sender, connection)


@receiver(connection_disconnecting, dispatch_uid="webhooks.remove_on_disconnect")
def remove_on_disconnect(sender: Any, connection: Connection, **kwargs: Any) -> None:
    """Runs before the credentials are revoked, while the token can still unsubscribe."""
    has_credential = hasattr(connection, "credential")
    if not has_credential:
        logger.info("webhooks: %s has no credentials left, subscriptions only marked", connection)
    subscriptions.remove_all(connection, remote=has_credential)


@receiver(pre_save, sender=Connection, dispatch_uid="webhooks.remember_settings")
def remember_settings(
    sender: Any, instance: Connection, raw: bool = False, update_fields: Any = None, **kw: Any
) -> None:
    """post_save does not say what changed: keep the stored settings to compare with."""
    touched = update_fields is None or bool(set(update_fields) & set(SETTINGS_FIELDS))
    if raw or instance.pk is None or not touched:
        return
    before = Connection.objects.filter(pk=instance.pk).values(*SETTINGS_FIELDS).first()
    setattr(instance, _BEFORE, before)


@receiver(post_save, sender=Connection, dispatch_uid="webhooks.reconcile_on_settings")
def reconcile_on_settings(
    sender: Any, instance: Connection, created: bool = False, **kwargs: Any
) -> None:
    """Calendars picked after connecting get watched, dropped ones unwatched, and switching
    to manual sync removes the subscriptions."""
    before = instance.__dict__.pop(_BEFORE, None)
    if created or before is None or not instance.is_active:
        return
    if all(before[name] == getattr(instance, name) for name in SETTINGS_FIELDS):
        return
    if instance.service.key not in subscriptions.REGISTRARS:
        return
    _reconcile_later(instance)
