"""What each service's deliveries look like: how to verify them, which handshake they use,
where their delivery id and event type live, and which events start a sync.

One small class per service, registered by key in `INBOUND` (no discovery magic). The view
runs the guards in a fixed order and asks the class only the service-specific questions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from integrations.providers import provider_class
from webhooks import conf, verify
from webhooks.models import WebhookSubscription
from webhooks.verify import Verification

# Headers never stored in the inbox: they carry signatures, tokens or session data.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "cookie",
        "x-notion-signature",
        "x-signature",
        "linear-signature",
        "x-todoist-hmac-sha256",
        "x-goog-channel-token",
    }
)
REDACTED = "[redacted]"


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The delivery's headers as kept in the inbox, secrets left out."""
    return {
        name: value
        for name, value in headers.items()
        if name.lower() not in SECRET_HEADERS and name.lower() not in {"content-length", "host"}
    }


class Inbound:
    """How one service delivers webhooks. Subclasses are declarations first, hooks second."""

    key: ClassVar[str]
    # True when the secret belongs to one subscription, so its URL names the subscription.
    per_subscription: ClassVar[bool] = True
    # Event types (or their prefixes) that mean "items changed": the rest are acknowledged only.
    handled: ClassVar[tuple[str, ...]] = ()
    # The payload field naming the account, for subscriptions not tied to one connection.
    account_field: ClassVar[str] = ""
    # True when a per-subscription service also posts to the service-wide URL (an app webhook).
    app_wide_too: ClassVar[bool] = False

    def expects_json(self, query: Mapping[str, str]) -> bool:
        return True

    def verify(
        self, headers: Mapping[str, str], body: bytes, payload: Any, sub: WebhookSubscription | None
    ) -> Verification:
        raise NotImplementedError

    def event_type(self, headers: Mapping[str, str], payload: Any) -> str:
        raise NotImplementedError

    def delivery_id(
        self, headers: Mapping[str, str], payload: Any, body: bytes, sub: WebhookSubscription | None
    ) -> str:
        # The id must come from what the signature covers, or a replay with a fresh header
        # is stored and processed again. No signed id from the service: the body's hash,
        # scoped to the subscription so two subscriptions receiving the same event do not
        # swallow each other's delivery.
        scope = sub.public_id if sub else self.key
        return f"{scope}:sha256:{body_hash(body)}"

    def handles(self, event_type: str) -> bool:
        return any(event_type == h or event_type.startswith(h) for h in self.handled)

    def account_id(self, payload: Any) -> str:
        if self.account_field and isinstance(payload, dict):
            return str(payload.get(self.account_field) or "")
        return ""

    def stored_body(self, body: bytes, payload: Any) -> str:
        return body.decode("utf-8", errors="replace")


class NotionInbound(Inbound):
    """https://developers.notion.com/reference/webhooks"""

    key = "notion"
    handled = ("page.", "database.content_updated", "data_source.content_updated")
    account_field = "workspace_id"

    def verify(self, headers, body, payload, sub):
        return verify.verify_notion(headers, body, sub.secret if sub else "")

    def event_type(self, headers, payload):
        return str(payload.get("type") or "")

    def delivery_id(self, headers, payload, body, sub):
        # The event id stays the same across Notion's up-to-8 delivery attempts.
        event_id = payload.get("id")
        return f"event:{event_id}" if event_id else super().delivery_id(headers, payload, body, sub)


class ClickUpInbound(Inbound):
    """https://developer.clickup.com/docs/webhooks (no delivery id: the body hash is used)."""

    key = "clickup"
    handled = ("task",)

    def verify(self, headers, body, payload, sub):
        return verify.verify_clickup(headers, body, sub.secret if sub else "")

    def event_type(self, headers, payload):
        return str(payload.get("event") or "")


class LinearInbound(Inbound):
    """https://linear.app/developers/webhooks"""

    key = "linear"
    handled = ("Issue.",)
    # The OAuth app's webhook (set in Linear's console, created for each organization that
    # authorizes the app) posts to /api/webhooks/linear/, signed with the app's one signing
    # secret; webhooks we create through the API (admin scope) have their own URL and secret.
    app_wide_too = True
    account_field = "organizationId"

    def verify(self, headers, body, payload, sub):
        secret = sub.secret if sub else conf.get("WEBHOOKS_LINEAR_APP_SECRET")
        return verify.verify_linear(headers, body, secret)

    def event_type(self, headers, payload):
        return f"{payload.get('type') or ''}.{payload.get('action') or ''}"

    def delivery_id(self, headers, payload, body, sub):
        # Linear-Delivery is not signed, so a captured delivery sent again with a new one
        # would pass as new. The signed body names the event; webhookTimestamp is left out
        # because a retry (1 min, 1 h, 6 h later) must carry a fresh one to pass the window.
        event = {name: value for name, value in payload.items() if name != "webhookTimestamp"}
        canonical = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
        scope = sub.public_id if sub else self.key
        return f"{scope}:sha256:{body_hash(canonical)}"


class TodoistInbound(Inbound):
    """One app-wide webhook set in Todoist's App Management Console, signed with the app's
    client secret. https://developer.todoist.com/api/v1/#tag/Webhooks"""

    key = "todoist"
    per_subscription = False
    handled = ("item:",)
    account_field = "user_id"

    def verify(self, headers, body, payload, sub):
        return verify.verify_todoist(headers, body, provider_class(self.key).client_secret())

    def event_type(self, headers, payload):
        return str(payload.get("event_name") or "")

    # X-Todoist-Delivery-ID is not signed: a captured delivery sent again with a new one
    # would pass as new. The inherited id is the hash of the signed body, which Todoist's
    # retries of one notification repeat.


class GoogleCalendarInbound(Inbound):
    """Push channels carry no body: the headers say which channel and what happened.
    https://developers.google.com/calendar/api/guides/push"""

    key = "google-calendar"
    handled = ("exists", "not_exists")

    def expects_json(self, query):
        return False

    def verify(self, headers, body, payload, sub):
        if sub is None:
            return Verification.reject(verify.Reason.UNKNOWN_CHANNEL)
        return verify.verify_google(headers, sub.remote_id, sub.secret)

    def event_type(self, headers, payload):
        return verify.header(headers, "X-Goog-Resource-State")

    def delivery_id(self, headers, payload, body, sub):
        channel = verify.header(headers, "X-Goog-Channel-ID")
        number = verify.header(headers, "X-Goog-Message-Number")
        return f"{channel}:{number}"


class OutlookInbound(Inbound):
    """Microsoft Graph change and lifecycle notifications, batched in `value`.
    https://learn.microsoft.com/graph/change-notifications-delivery-webhooks"""

    key = "outlook"
    handled = ("created", "updated", "deleted", "lifecycle:")

    def expects_json(self, query):
        return "validationToken" not in query

    def verify(self, headers, body, payload, sub):
        value = payload.get("value")
        if not isinstance(value, list):
            return Verification.reject(verify.Reason.MALFORMED)
        return verify.verify_graph(value, sub.secret if sub else "")

    def event_type(self, headers, payload):
        first = payload["value"][0]
        if first.get("lifecycleEvent"):
            return f"lifecycle:{first['lifecycleEvent']}"
        return str(first.get("changeType") or "")

    def stored_body(self, body, payload):
        # clientState is the subscription's secret: it is not kept in the inbox.
        redacted = {
            **payload,
            "value": [{**item, "clientState": REDACTED} for item in payload["value"]],
        }
        return json.dumps(redacted)


INBOUND: dict[str, Inbound] = {
    spec.key: spec
    for spec in (
        NotionInbound(),
        ClickUpInbound(),
        LinearInbound(),
        TodoistInbound(),
        GoogleCalendarInbound(),
        OutlookInbound(),
    )
}
