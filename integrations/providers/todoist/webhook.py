"""Todoist's webhook: one, app-wide, set in Todoist's App Management Console and signed with
the app's client secret. https://developer.todoist.com/api/v1/#tag/Webhooks"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping

from integrations.providers.todoist.provider import TodoistProvider
from integrations.providers.webhook_base import (
    VERIFIED,
    Inbound,
    Reason,
    Verification,
    header,
    hmac_sha256,
    precheck,
)


def verify_todoist(headers: Mapping[str, str], body: bytes, secret: str) -> Verification:
    """`X-Todoist-Hmac-SHA256`: **base64** (not hex) HMAC-SHA256 of the body with the app's
    client secret. https://developer.todoist.com/api/v1/#tag/Webhooks"""
    presented = header(headers, "X-Todoist-Hmac-SHA256")
    if failed := precheck(presented, secret):
        return failed
    try:
        given = base64.b64decode(presented.strip(), validate=True)
    except (binascii.Error, ValueError):
        return Verification.reject(Reason.BAD_SIGNATURE)
    if hmac.compare_digest(hmac_sha256(secret, body), given):
        return VERIFIED
    return Verification.reject(Reason.BAD_SIGNATURE)


class TodoistInbound(Inbound):
    provider = TodoistProvider
    per_subscription = False
    handled = ("item:",)
    account_field = "user_id"
    signature_headers = ("X-Todoist-Hmac-SHA256",)

    def verify(self, headers, body, payload, secret, remote_id):
        return verify_todoist(headers, body, secret)

    def event_type(self, headers, payload):
        return str(payload.get("event_name") or "")

    # X-Todoist-Delivery-ID is not signed: a captured delivery sent again with a new one
    # would pass as new. The inherited id is the hash of the signed body, which Todoist's
    # retries of one notification repeat.


INBOUND = TodoistInbound()
