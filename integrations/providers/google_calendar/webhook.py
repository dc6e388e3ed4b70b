"""Google Calendar push channels (events.watch): no body, the headers say which channel and what
happened; channels expire and cannot be extended.
https://developers.google.com/calendar/api/guides/push"""

from __future__ import annotations

import datetime as dt
import hmac
import uuid
from collections.abc import Mapping
from urllib.parse import quote

from django.conf import settings
from django.utils import timezone

from integrations.providers.base import field, from_millis
from integrations.providers.google_calendar.provider import GoogleCalendarProvider
from integrations.providers.webhook_base import (
    VERIFIED,
    Handshake,
    Inbound,
    Reason,
    Registrar,
    Verification,
    header,
    precheck,
)

SERVICE = GoogleCalendarProvider.key
# Google documents no default or maximum lifetime for Calendar channels: we ask for this one
# (setting WEBHOOKS_GOOGLE_CHANNEL_TTL_SECONDS).
CHANNEL_TTL_SECONDS = 7 * 24 * 3600


def verify_google(headers: Mapping[str, str], channel_id: str, channel_token: str) -> Verification:
    """Google signs nothing: a channel is authentic when its id is ours and it echoes the
    token we chose. https://developers.google.com/calendar/api/guides/push"""
    presented_id = header(headers, "X-Goog-Channel-ID")
    presented_token = header(headers, "X-Goog-Channel-Token")
    if failed := precheck(presented_token, channel_token):
        return failed
    if not presented_id or not hmac.compare_digest(presented_id.encode(), channel_id.encode()):
        return Verification.reject(Reason.UNKNOWN_CHANNEL)
    if hmac.compare_digest(presented_token.encode(), channel_token.encode()):
        return VERIFIED
    return Verification.reject(Reason.BAD_SIGNATURE)


class GoogleCalendarInbound(Inbound):
    provider = GoogleCalendarProvider
    handled = ("exists", "not_exists")
    signature_headers = ("X-Goog-Channel-Token",)

    def expects_json(self, query):
        return False

    def handshake(self, query, headers, payload):
        """The first message on a new channel has resource state `sync`: nothing changed yet."""
        if header(headers, "X-Goog-Resource-State") != "sync":
            return None
        return Handshake("google_channel_sync", signed=True)

    def verify(self, headers, body, payload, secret, remote_id):
        return verify_google(headers, remote_id, secret)

    def event_type(self, headers, payload):
        return header(headers, "X-Goog-Resource-State")

    def delivery_id(self, headers, payload, body, scope):
        channel = header(headers, "X-Goog-Channel-ID")
        number = header(headers, "X-Goog-Message-Number")
        return f"{channel}:{number}"


class GoogleCalendarRegistrar(Registrar):
    """Renewing means a new channel (a new subscription row) and stopping the old one."""

    provider = GoogleCalendarProvider
    renewal = "replace"

    def wanted(self, provider):
        return list(provider.field_mapping.get("calendars") or ["primary"])

    def create(self, provider, registration):
        ttl = getattr(settings, "WEBHOOKS_GOOGLE_CHANNEL_TTL_SECONDS", CHANNEL_TTL_SECONDS)
        # Ours before the call: Google takes up to 64 characters, a UUID recommended.
        registration.remote_id = str(uuid.uuid4())
        wanted = timezone.now() + dt.timedelta(seconds=ttl)
        body = {
            "id": registration.remote_id,
            "type": "web_hook",
            "address": registration.url,
            "token": registration.secret,
            "expiration": int(wanted.timestamp() * 1000),
        }
        calendar = quote(registration.resource, safe="")
        url = f"{provider.api_base}/calendars/{calendar}/events/watch"
        reply = provider.api("POST", url, json=body)
        registration.resource_id = field(SERVICE, reply, "resourceId", str)
        # Google may shorten the lifetime we asked for; it says so in `expiration` (ms, a string).
        expiration = reply.get("expiration") or body["expiration"]
        registration.expires_at = from_millis(SERVICE, "expiration", expiration)

    def remove(self, provider, registration):
        body = {"id": registration.remote_id, "resourceId": registration.resource_id}
        provider.http.request("POST", f"{provider.api_base}/channels/stop", json=body)


INBOUND = GoogleCalendarInbound()
REGISTRAR = GoogleCalendarRegistrar()
