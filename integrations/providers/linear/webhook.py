"""Linear's webhooks, https://linear.app/developers/webhooks, two ways:

- the OAuth app's webhook, set once in Linear's console and created by Linear for every
  organization that authorizes the app, posting to /api/webhooks/linear/ signed with the app's
  one secret (`LinearProvider.app_webhook_secret()`). Our subscription row only records the
  organization, so a delivery's `organizationId` finds its connections. The supported path;
- webhookCreate through the API, with a URL and a signing secret of our own, only when the
  grant includes the `admin` scope (creating webhooks needs admin permissions since 2024-12).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping
from typing import Any

from integrations.providers.base import field
from integrations.providers.errors import Permanent
from integrations.providers.linear.provider import LinearProvider
from integrations.providers.webhook_base import (
    VERIFIED,
    Inbound,
    Reason,
    Registrar,
    Verification,
    body_hash,
    check_hex,
    header,
    precheck,
)

SERVICE = LinearProvider.key
TOLERANCE_MS = 60_000
# Year 33658 in milliseconds: anything larger (or negative) is not a delivery time.
_LATEST_MS = 10**15


def verify_linear(
    headers: Mapping[str, str], body: bytes, secret: str, *, now_ms: int | None = None
) -> Verification:
    """`Linear-Signature` (hex HMAC-SHA256 of the raw body) plus `webhookTimestamp` (ms, in the
    signed body; header `Linear-Timestamp` as fallback) within 60 s, as Linear's SDK checks.
    https://linear.app/developers/webhooks#securing-webhooks"""
    presented = header(headers, "Linear-Signature")
    if failed := precheck(presented, secret):
        return failed
    signed = check_hex(presented, secret, body)
    return _timestamp(headers, body, now_ms) if signed.ok else signed


def _timestamp(headers: Mapping[str, str], body: bytes, now_ms: int | None) -> Verification:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return Verification.reject(Reason.MALFORMED)
    stamp = payload.get("webhookTimestamp") if isinstance(payload, dict) else None
    if stamp is None:
        stamp = header(headers, "Linear-Timestamp")
        if not stamp:
            return Verification.reject(Reason.STALE_TIMESTAMP)
    stamp = _milliseconds(stamp)
    if stamp is None:
        return Verification.reject(Reason.BAD_TIMESTAMP)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if abs(now_ms - stamp) > TOLERANCE_MS:
        return Verification.reject(Reason.STALE_TIMESTAMP)
    return VERIFIED


def _milliseconds(stamp: object) -> int | None:
    """A Unix time in ms from the body (a JSON number) or the header (digits); None when it
    is not one. json.loads reads `Infinity` and `1e400` as float('inf'), which int() refuses
    with OverflowError."""
    if isinstance(stamp, str) and stamp.strip().isdigit() and len(stamp.strip()) <= 16:
        stamp = int(stamp.strip())
    if isinstance(stamp, float) and math.isfinite(stamp):
        stamp = int(stamp)
    if isinstance(stamp, bool) or not isinstance(stamp, int):
        return None
    return stamp if 0 <= stamp < _LATEST_MS else None


class LinearInbound(Inbound):
    provider = LinearProvider
    handled = ("Issue.",)
    # Webhooks we create have their own URL and secret; the app's webhook posts to the
    # service-wide URL.
    app_wide_too = True
    account_field = "organizationId"
    signature_headers = ("Linear-Signature",)

    def verify(self, headers, body, payload, secret, remote_id):
        return verify_linear(headers, body, secret)

    def event_type(self, headers, payload):
        return f"{payload.get('type') or ''}.{payload.get('action') or ''}"

    def delivery_id(self, headers, payload, body, scope):
        # Linear-Delivery is not signed, so a captured delivery sent again with a new one
        # would pass as new. The signed body names the event; webhookTimestamp is left out
        # because a retry (1 min, 1 h, 6 h later) must carry a fresh one to pass the window.
        event = {name: value for name, value in payload.items() if name != "webhookTimestamp"}
        canonical = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
        return f"{scope}:sha256:{body_hash(canonical)}"


def has_scope(connection: Any, scope: str) -> bool:
    """Whether the stored grant includes `scope` (kept as the token response gave it)."""
    credential = getattr(connection, "credential", None)
    granted = re.split(r"[\s,]+", credential.scopes) if credential and credential.scopes else []
    return scope in granted


class LinearRegistrar(Registrar):
    """Every call is the provider's own GraphQL call: its typed errors, its refresh on a 400."""

    provider = LinearProvider
    events = ("Issue",)
    CREATE = (
        "mutation($input: WebhookCreateInput!) "
        "{ webhookCreate(input: $input) { success webhook { id enabled } } }"
    )
    DELETE = "mutation($id: String!) { webhookDelete(id: $id) { success } }"
    ORGANIZATION = "query { organization { id } }"
    ALL_PUBLIC_TEAMS = "all-public-teams"

    def wanted(self, provider):
        if not has_scope(provider.connection, "admin"):
            return None  # the organization's id comes from the API
        return provider.chosen_collections(provider.field_mapping) or [self.ALL_PUBLIC_TEAMS]

    def resources(self, provider):
        if has_scope(provider.connection, "admin"):
            return self.wanted(provider) or []
        if not provider.app_webhook_secret():
            return []  # no app webhook configured: polling
        organization = field(SERVICE, provider.graphql(self.ORGANIZATION, {}), "organization", dict)
        return [f"{provider.webhook_account_prefix}{field(SERVICE, organization, 'id', str)}"]

    def create(self, provider, registration):
        if registration.resource.startswith(provider.webhook_account_prefix):
            # Linear made the app webhook when the organization authorized us: nothing to
            # register, and deliveries are signed with the app secret, not a secret of ours.
            registration.secret = ""
            return
        scope = (
            {"allPublicTeams": True}
            if registration.resource == self.ALL_PUBLIC_TEAMS
            else {"teamId": registration.resource}
        )
        variables = {
            "input": {
                "url": registration.url,
                "resourceTypes": list(self.events),
                "secret": registration.secret,
                "label": "DayFlow",
                **scope,
            }
        }
        data = field(SERVICE, provider.graphql(self.CREATE, variables), "webhookCreate", dict)
        if not data.get("success"):
            raise Permanent("webhookCreate did not succeed", service=SERVICE)
        registration.remote_id = field(SERVICE, field(SERVICE, data, "webhook", dict), "id", str)

    def remove(self, provider, registration):
        provider.graphql(self.DELETE, {"id": registration.remote_id})


INBOUND = LinearInbound()
REGISTRAR = LinearRegistrar()
