"""Connection lifecycle → webhook subscriptions (hooked up in WebhooksConfig.ready)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from integrations.models import UserIntegration
from integrations.signals import (
    connection_connected,
    connection_disconnecting,
    connection_status_changed,
)
from webhooks import subscriptions

logger = logging.getLogger(__name__)


@receiver(connection_connected, dispatch_uid="webhooks.register_on_connect")
def register_on_connect(sender: Any, connection: UserIntegration, **kwargs: Any) -> None:
    """Registration calls the service (and Graph calls us back to validate the URL), so it
    runs in the background once the connection is committed."""
    if not subscriptions.wants_push(connection):
        return
    from webhooks.tasks import register_subscriptions

    pk = connection.pk
    transaction.on_commit(lambda: register_subscriptions.delay(pk))


@receiver(connection_status_changed, dispatch_uid="webhooks.register_on_resume")
def register_on_resume(
    sender: Any, connection: UserIntegration, new: str = "", **kwargs: Any
) -> None:
    """A connection back in service (resumed, reauthorized) gets the subscriptions it lacks."""
    if new == UserIntegration.Status.CONNECTED:
        register_on_connect(sender, connection)


@receiver(connection_disconnecting, dispatch_uid="webhooks.remove_on_disconnect")
def remove_on_disconnect(sender: Any, connection: UserIntegration, **kwargs: Any) -> None:
    """Runs before the credentials are revoked, while the token can still unsubscribe."""
    has_credential = hasattr(connection, "credential")
    if not has_credential:
        logger.info("webhooks: %s has no credentials left, subscriptions only marked", connection)
    subscriptions.remove_all(connection, remote=has_credential)
