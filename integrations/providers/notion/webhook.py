"""Notion's webhooks: one subscription set up in the integration's settings, keyed with the
verification token Notion posts once. https://developers.notion.com/reference/webhooks"""

from __future__ import annotations

from collections.abc import Mapping

from integrations.providers.notion.provider import NotionProvider
from integrations.providers.webhook_base import (
    Handshake,
    Inbound,
    Reason,
    Verification,
    check_hex,
    header,
    precheck,
)


def verify_notion(headers: Mapping[str, str], body: bytes, secret: str) -> Verification:
    """`X-Notion-Signature: sha256=<hex>`, keyed with the subscription's verification token.
    https://developers.notion.com/reference/webhooks#validating-event-payloads"""
    presented = header(headers, "X-Notion-Signature")
    if failed := precheck(presented, secret):
        return failed
    prefix, _, digest = presented.partition("=")
    if prefix.strip().lower() != "sha256" or not digest:
        return Verification.reject(Reason.BAD_SIGNATURE)
    return check_hex(digest, secret, body)


class NotionInbound(Inbound):
    provider = NotionProvider
    handled = ("page.", "database.content_updated", "data_source.content_updated")
    account_field = "workspace_id"
    signature_headers = ("X-Notion-Signature",)

    def handshake(self, query, headers, payload):
        """Notion posts `{"verification_token": …}` once; staff paste it back into Notion, and
        it becomes the signing key. https://developers.notion.com/reference/webhooks#step-2"""
        token = payload.get("verification_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            return None
        return Handshake("notion_verification_token", offered_secret=token)

    def verify(self, headers, body, payload, secret, remote_id):
        return verify_notion(headers, body, secret)

    def event_type(self, headers, payload):
        return str(payload.get("type") or "")

    def delivery_id(self, headers, payload, body, scope):
        # The event id stays the same across Notion's up-to-8 delivery attempts.
        event_id = payload.get("id")
        return (
            f"event:{event_id}" if event_id else super().delivery_id(headers, payload, body, scope)
        )


INBOUND = NotionInbound()
