"""The token lifecycle: store token responses, refresh without races, revoke on disconnect.

`refresh_access_token` is the one way a connection's access token is renewed, proactively (the
beat task in `integrations.tasks`) and on demand (the HTTP client's 401 hook). Services with
rotating refresh tokens (Linear, Todoist, Fastmail, Microsoft) revoke a grant whose old refresh
token is used twice, so only one refresh per connection may run at a time, across processes: a
lock in the shared cache (Redis in production, the database cache by default), and a caller that
waited for it re-reads the credential and uses the token the other caller stored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterator
from typing import Any

import requests
from django.db import transaction
from django.utils import timezone

from audit.writer import record
from dayflow import backoff
from integrations import locks
from integrations.models import Connection, Credential
from integrations.oauth.backends import BACKENDS
from integrations.oauth.base import TIMEOUT, ProviderOAuth2
from integrations.oauth.strategy import load_strategy
from integrations.providers.errors import AuthExpired, Permanent, Transient, UnexpectedPayload
from integrations.signals import connection_status_changed

logger = logging.getLogger(__name__)

REFRESH_WINDOW = dt.timedelta(minutes=10)
# Seconds before the 2nd and 3rd attempt on 5xx / network errors.
RETRY_DELAYS = (backoff.exponential(1, base=0.5), backoff.exponential(2, base=0.5))
LOCK_TTL = 120  # seconds; longer than the worst refresh (3 attempts x TIMEOUT + delays)
LOCK_WAIT = 60.0  # seconds a second caller waits for the first one's refresh
LOCK_POLL = 0.1
# Connections whose grant is gone: refreshing again would only repeat a refused request.
GONE = {Connection.Status.NEEDS_REAUTH, Connection.Status.DISCONNECTED}

_sleep = time.sleep  # tests replace it to skip the backoff


class InvalidGrant(Exception):
    """The token endpoint refused the grant (revoked or expired refresh token, used code)."""


# --- storing token responses -----------------------------------------------------------------
def apply_token_response(credential: Credential, payload: dict[str, Any]) -> None:
    """Copy a token endpoint's answer onto `credential` (not saved).

    A refresh token is replaced only when the service sent one: Google sends it only on
    consent, and rotating services send a new one on every refresh.
    """
    credential.access_token = payload["access_token"]
    if payload.get("refresh_token"):
        credential.refresh_token = payload["refresh_token"]
    expires_in = payload.get("expires_in")
    credential.expires_at = (
        timezone.now() + dt.timedelta(seconds=int(expires_in)) if expires_in else None
    )
    if payload.get("scope"):
        scope = payload["scope"]
        credential.scopes = " ".join(scope) if isinstance(scope, list) else str(scope)


def backend_for(service_key: str) -> ProviderOAuth2:
    """A social-core backend without a request, for server-side token calls."""
    return BACKENDS[service_key](load_strategy(None))


# --- the token endpoint ------------------------------------------------------------------------
def token_request(backend: ProviderOAuth2, params: dict[str, str]) -> dict[str, Any]:
    """POST to the service's token endpoint, retrying transient failures with backoff."""
    delays = iter(RETRY_DELAYS)
    while True:
        try:
            return _token_request_once(backend, params)
        except Transient:
            delay = next(delays, None)
            if delay is None:
                raise
            _sleep(delay)


def _token_request_once(backend: ProviderOAuth2, params: dict[str, str]) -> dict[str, Any]:
    service = backend.service_key
    body = {"json": params} if backend.ACCESS_TOKEN_PAYLOAD == "json" else {"data": params}
    try:
        response = requests.post(
            backend.access_token_url(),
            headers={"Accept": "application/json"},
            auth=backend.token_auth(),
            timeout=TIMEOUT,
            **body,
        )
    except requests.RequestException as exc:
        raise Transient(
            f"token endpoint unreachable ({type(exc).__name__})", service=service
        ) from None
    if response.status_code >= 500 or response.status_code == 429:
        raise Transient(f"token endpoint answered {response.status_code}", service=service)
    payload = _json_or_none(response)
    if response.status_code >= 400 or (payload and "error" in payload):
        _raise_token_error(service, response.status_code, payload or {})
    if not payload or not isinstance(payload.get("access_token"), str):
        raise UnexpectedPayload(service, "access_token", "missing from the token response")
    return payload


def _json_or_none(response: requests.Response) -> dict[str, Any] | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _raise_token_error(service: str, status: int, payload: dict[str, Any]) -> None:
    error = payload.get("error")
    if error == "invalid_grant":
        # Fastmail marks an invalid_grant it expects to clear as `temporary`.
        # https://www.fastmail.com/developer/oauth/
        if payload.get("temporary"):
            raise Transient("token endpoint: temporary invalid_grant", service=service)
        raise InvalidGrant(service)
    raise Permanent(
        f"token endpoint refused the request ({error or status})", status=status, service=service
    )


# --- refresh ------------------------------------------------------------------------------------
def refresh_access_token(connection: Connection, *, failed_token: str | None = None) -> str:
    """Renew the access token of `connection` and return the token to use now.

    One refresh per connection at a time across processes; a caller whose `failed_token` (or,
    without one, the token it saw on entry) was already replaced returns the stored token
    without refreshing. Raises AuthExpired after marking the connection `needs_reauth` when the
    service refuses the grant, and Transient (status unchanged) when the token endpoint keeps
    failing with 5xx or network errors.
    """
    seen = failed_token if failed_token is not None else _stored_access_token(connection)
    with refresh_lock(connection.pk):
        credential = Credential.objects.filter(connection_id=connection.pk).first()
        status = Connection.objects.filter(pk=connection.pk).values_list("status", flat=True)
        if credential is None or status.first() in GONE:
            raise AuthExpired("the connection must be connected again", service=_key(connection))
        if credential.access_token and credential.access_token != seen:
            return credential.access_token
        return _refresh(connection, credential)


def _key(connection: Connection) -> str:
    return connection.service.key


def _stored_access_token(connection: Connection) -> str:
    credential = Credential.objects.filter(connection_id=connection.pk).first()
    return credential.access_token if credential else ""


def _refresh(connection: Connection, credential: Credential) -> str:
    service = connection.service.key
    if not credential.refresh_token:
        # ClickUp and older Notion/Todoist apps issue long-lived tokens without a refresh
        # token: a rejected one can only be replaced by connecting again.
        mark_needs_reauth(connection, "the service issued no refresh token")
        raise AuthExpired("access token rejected and no refresh token", service=service)
    backend = backend_for(service)
    try:
        payload = token_request(backend, backend.refresh_token_params(credential.refresh_token))
    except InvalidGrant:
        mark_needs_reauth(connection, "the service refused the refresh token (invalid_grant)")
        raise AuthExpired("refresh token revoked or expired", service=service) from None
    except (Transient, Permanent) as error:
        # Read by the monitoring (security.rules.grant_failures): refreshes that keep failing.
        record(
            "connection.token_refresh_failed",
            actor=connection.user,
            connection=connection,
            details={"service": service, "error": str(error)[:200]},
            success=False,
        )
        raise
    with transaction.atomic():
        credential = Credential.objects.select_for_update().get(pk=credential.pk)
        apply_token_response(credential, payload)  # access and rotated refresh token together
        credential.save()
    record(
        "connection.token_refreshed",
        actor=connection.user,
        connection=connection,
        details={"service": service, "rotated": bool(payload.get("refresh_token"))},
    )
    return credential.access_token


def mark_needs_reauth(connection: Connection, reason: str) -> None:
    """The user must connect again: status, signal and one audit event (not one per caller)."""
    if connection.status == Connection.Status.NEEDS_REAUTH:
        return
    set_status(connection, Connection.Status.NEEDS_REAUTH, last_error=reason)
    record(
        "connection.needs_reauth",
        actor=connection.user,
        connection=connection,
        details={"service": connection.service.key, "reason": reason},
        success=False,
    )


def set_status(connection: Connection, new: str, *, last_error: str | None = None) -> None:
    """Change the connection's status and tell the apps that keep schedules in step."""
    old = connection.status
    connection.status = new
    fields = ["status", "updated_at"]
    if last_error is not None:
        connection.last_error = last_error
        fields.append("last_error")
    connection.save(update_fields=fields)
    if old != new:
        connection_status_changed.send(sender=Connection, connection=connection, old=old, new=new)


@contextlib.contextmanager
def refresh_lock(connection_id: int) -> Iterator[None]:
    """Hold the per-connection refresh lock across processes, waiting for another holder."""
    try:
        with locks.exclusive(
            f"integrations:token-refresh:{connection_id}",
            ttl=LOCK_TTL,
            wait=LOCK_WAIT,
            poll=LOCK_POLL,
        ):
            yield
    except locks.LockTimeout:
        raise Transient(f"token refresh of connection {connection_id} is taking too long") from None


def expiring_credentials(within: dt.timedelta = REFRESH_WINDOW):
    """Credentials of active connections whose access token expires within `within`."""
    return Credential.objects.filter(
        connection__status=Connection.Status.CONNECTED,
        expires_at__lte=timezone.now() + within,
    ).exclude(refresh_token="")


# --- revocation -----------------------------------------------------------------------------
def revoke(connection: Connection) -> bool:
    """Revoke the connection's grant at the service, where it offers revocation.

    Returns True when the service confirmed it; False when it has no revocation endpoint
    (ClickUp, Microsoft) or refused. Never raises: disconnecting goes on either way.
    """
    credential = Credential.objects.filter(connection_id=connection.pk).first()
    backend_class = BACKENDS.get(connection.service.key)
    if credential is None or backend_class is None or not credential.access_token:
        return False
    request = backend_for(connection.service.key).revoke_request(
        credential.access_token, credential.refresh_token
    )
    if request is None:
        return False
    try:
        response = requests.post(timeout=TIMEOUT, **request)
    except requests.RequestException as exc:
        logger.warning("revoking connection %s failed: %s", connection.pk, type(exc).__name__)
        return False
    if not response.ok:
        logger.warning("revoking connection %s: HTTP %s", connection.pk, response.status_code)
    return response.ok
