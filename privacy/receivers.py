"""Connection lifecycle → consent records (connected in PrivacyConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from integrations.models import Connection
from integrations.signals import connection_connected
from privacy.consent import record_consent


@receiver(connection_connected, dispatch_uid="privacy.consent_on_connect")
def consent_on_connect(
    sender: Any, connection: Connection, request: Any = None, **kwargs: Any
) -> None:
    record_consent(connection, request=request)
