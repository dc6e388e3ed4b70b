"""Background token upkeep: beat refreshes access tokens before they expire."""

from __future__ import annotations

import logging

from celery import shared_task

from integrations.models import Connection
from integrations.providers.errors import ProviderError
from integrations.tokens import REFRESH_WINDOW, expiring_credentials, refresh_access_token

logger = logging.getLogger(__name__)


@shared_task(name="integrations.refresh_expiring_tokens")
def refresh_expiring_tokens() -> int:
    """Beat's entry point: queue a refresh for every token expiring within REFRESH_WINDOW."""
    ids = list(expiring_credentials().values_list("connection_id", flat=True))
    for connection_id in ids:
        refresh_connection_token.delay(connection_id)
    return len(ids)


@shared_task(name="integrations.refresh_connection_token")
def refresh_connection_token(connection_id: int) -> bool:
    """Refresh one connection's token unless it is gone, inactive or was refreshed meanwhile.

    Failures are already recorded by `refresh_access_token` (needs_reauth and its audit event
    for a refused grant); a transient one is left to the next beat run, well inside the window.
    """
    if not expiring_credentials(REFRESH_WINDOW).filter(connection_id=connection_id).exists():
        return False
    connection = Connection.objects.select_related("service", "user").get(pk=connection_id)
    try:
        refresh_access_token(connection)
    except ProviderError as exc:
        logger.warning("proactive refresh of connection %s failed: %s", connection_id, exc)
        return False
    return True
