"""What talks to a service on behalf of one connection: its provider, its HTTP client, its rate.

This module sits above the HTTP client (`integrations.providers.http`), the token lifecycle
(`integrations.tokens`) and the models, and wires them together: the client sends the
connection's token, refreshes it on a 401 and shares the connection's rate limit and call
counter. Nothing below imports it, so the layers under it stay free of cycles
(`tests/dayflow/test_import_graph.py`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

from integrations.models import Connection
from integrations.providers import PROVIDERS
from integrations.providers.base import AuthStyle, Provider
from integrations.providers.errors import AuthExpired
from integrations.providers.http import CallGate, HttpClient
from integrations.tokens import refresh_access_token


def rate_for(service: str) -> tuple[int, float] | None:
    """The request rate for `service`: DAYFLOW_RATE_LIMITS overrides the provider's own."""
    overrides: Mapping[str, Any] = getattr(settings, "DAYFLOW_RATE_LIMITS", {})
    if service in overrides:
        limit, per = overrides[service]
        return int(limit), float(per)
    return PROVIDERS[service].rate_limit if service in PROVIDERS else None


def client_for(connection: Connection, **options: Any) -> HttpClient:
    """The HttpClient of one connection: its token, its provider's rate and headers, refresh."""
    provider = connection.service.provider
    try:
        token = {"value": connection.credential.access_token}
    except ObjectDoesNotExist:
        raise AuthExpired("the connection has no credentials", service=provider.key) from None

    def auth_headers() -> dict[str, str]:
        value = token["value"] if provider.raw_token_header else f"Bearer {token['value']}"
        return {**provider.default_headers, "Authorization": value}

    def refresh(failed_authorization: str) -> None:
        failed = failed_authorization.removeprefix("Bearer ")
        token["value"] = refresh_access_token(connection, failed_token=failed)

    options.setdefault("rate", rate_for(provider.key))
    return HttpClient(
        provider.key,
        connection_id=connection.pk,
        auth_headers=auth_headers,
        refresh=refresh,
        **options,
    )


def gate_for(connection: Connection) -> CallGate:
    """The connection's rate limit and call counter, for a transport other than HttpClient."""
    key = connection.service.key
    return CallGate(key, connection.pk, rate_for(key))


# A person waits for the answer (a page listing what to pick, an API request): one retry and a
# few seconds at most, then the page says the service could not be reached. HttpClient's own
# budget (5 attempts, 2 minutes) is for a sync job, which nobody watches.
WHILE_SOMEONE_WAITS: dict[str, Any] = {"max_attempts": 2, "max_total_wait": 4.0}


def provider_for(connection: Connection, *, someone_waits: bool = False) -> Provider:
    """The connection's provider, every call it makes metered as the connection's.

    The HTTP client is built on first use, so a connection without credentials fails at its
    first call (as AuthExpired, inside the sync job), not here. `someone_waits`: the call is
    made while a request waits on it, with `WHILE_SOMEONE_WAITS`'s shorter retry budget.
    """
    provider = connection.service.provider
    if provider.auth is AuthStyle.APP_PASSWORD:
        # CalDAV talks through python-caldav, not HttpClient; the same gate meters it.
        return provider(connection, gate=gate_for(connection))
    options = WHILE_SOMEONE_WAITS if someone_waits else {}
    return provider(connection, client_factory=functools.partial(client_for, connection, **options))
