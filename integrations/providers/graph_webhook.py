"""Microsoft Graph change notifications, written once for every Graph service (Outlook today):
the `validationToken` handshake, `clientState` on every notification, batches in `value`,
lifecycle notifications, and subscriptions renewed with PATCH before they expire.
https://learn.microsoft.com/graph/change-notifications-delivery-webhooks"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils import timezone

from integrations.providers.base import Provider, field, iso, parse_datetime
from integrations.providers.webhook_base import (
    VERIFIED,
    Handshake,
    Inbound,
    Lifecycle,
    Reason,
    Registrar,
    Verification,
)

REDACTED = "[redacted]"
# Graph's maximum subscription lifetime (setting WEBHOOKS_GRAPH_MAX_MINUTES): for Outlook events
# it differs by doc version (4230 minutes in one, 10,080 with the API rejecting over 10,070 in
# another). https://learn.microsoft.com/graph/api/resources/subscription#subscription-lifetime
MAX_MINUTES = 4230
# Lifecycle notifications keep a subscription alive; `missed` only means sync.
# https://learn.microsoft.com/graph/change-notifications-lifecycle-events
LIFECYCLE = {
    "lifecycle:subscriptionRemoved": Lifecycle.RECREATE,
    "lifecycle:reauthorizationRequired": Lifecycle.RENEW,
}


def verify_graph(notifications: Iterable[Any], client_state: str) -> Verification:
    """Graph has no signature header: every notification in the batch must carry the
    `clientState` we set on the subscription."""
    if not client_state:
        return Verification.reject(Reason.MISSING_SECRET)
    items = list(notifications)
    if not items or not all(isinstance(item, dict) for item in items):
        return Verification.reject(Reason.MALFORMED)
    for item in items:
        presented = item.get("clientState")
        if not isinstance(presented, str) or not presented:
            return Verification.reject(Reason.MISSING_HEADER)
        if not hmac.compare_digest(presented.encode(), client_state.encode()):
            return Verification.reject(Reason.BAD_SIGNATURE)
    return VERIFIED


class GraphInbound(Inbound):
    """Change and lifecycle notifications, batched in `value`."""

    handled = ("created", "updated", "deleted", "lifecycle:")

    def expects_json(self, query):
        return "validationToken" not in query

    def handshake(self, query, headers, payload):
        """Graph validates a notification URL by posting `?validationToken=…`: echo it,
        decoded, as text/plain within 10 seconds.
        https://learn.microsoft.com/graph/change-notifications-delivery-webhooks#notificationurl-validation
        """
        token = query.get("validationToken")
        return None if token is None else Handshake("graph_validation", echo=token)

    def verify(self, headers, body, payload, secret, remote_id):
        value = payload.get("value")
        if not isinstance(value, list):
            return Verification.reject(Reason.MALFORMED)
        return verify_graph(value, secret)

    def event_type(self, headers, payload):
        first = payload["value"][0]
        if first.get("lifecycleEvent"):
            return f"lifecycle:{first['lifecycleEvent']}"
        return str(first.get("changeType") or "")

    def lifecycle(self, event_type):
        return LIFECYCLE.get(event_type, Lifecycle.NONE)

    def stored_body(self, body, payload):
        # clientState is the subscription's secret: it is not kept in the inbox.
        redacted = {
            **payload,
            "value": [{**item, "clientState": REDACTED} for item in payload["value"]],
        }
        return json.dumps(redacted)


class GraphRegistrar(Registrar):
    """Subscriptions on a Graph resource, renewed with PATCH before they expire.
    https://learn.microsoft.com/graph/api/subscription-post-subscriptions"""

    events = ("created", "updated", "deleted")
    renewal = "extend"

    def create(self, provider, registration):
        expires = _expiry()
        body = {
            "changeType": ",".join(self.events),
            "notificationUrl": registration.url,
            "lifecycleNotificationUrl": registration.url,
            "resource": registration.resource,
            "expirationDateTime": iso(expires),
            "clientState": registration.secret,
        }
        reply = provider.api("POST", f"{provider.api_base}/subscriptions", json=body)
        registration.remote_id = field(provider.key, reply, "id", str)
        registration.expires_at = _expires_at(provider, reply) or expires

    def renew(self, provider, registration):
        expires = _expiry()
        url = f"{provider.api_base}/subscriptions/{registration.remote_id}"
        reply = provider.api("PATCH", url, json={"expirationDateTime": iso(expires)})
        registration.expires_at = _expires_at(provider, reply) or expires

    def remove(self, provider, registration):
        url = f"{provider.api_base}/subscriptions/{registration.remote_id}"
        provider.http.request("DELETE", url)


def _expiry() -> dt.datetime:
    # A minute under the configured maximum: Graph rejects values past its limit.
    minutes = getattr(settings, "WEBHOOKS_GRAPH_MAX_MINUTES", MAX_MINUTES) - 1
    return (timezone.now() + dt.timedelta(minutes=minutes)).replace(microsecond=0)


def _expires_at(provider: Provider, reply: Any) -> dt.datetime | None:
    """The expiry Graph granted, when its answer says (a PATCH may answer with no body)."""
    value = reply.get("expirationDateTime") if isinstance(reply, dict) else None
    if not value:
        return None
    return parse_datetime(provider.key, "expirationDateTime", value)
