"""Authenticity checks, one pure function per service over (headers, raw body, secret).

Every comparison of a presented value with the expected one is constant-time
(`hmac.compare_digest`), and a failure names a reason, never the secret or the signature.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import math
import time
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

LINEAR_TOLERANCE_MS = 60_000


class Reason(StrEnum):
    MISSING_HEADER = "missing_header"
    MISSING_SECRET = "missing_secret"
    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"
    # Signed, but the timestamp is not a time (Infinity, NaN, a word, an absurd number): 400.
    BAD_TIMESTAMP = "bad_timestamp"
    MALFORMED = "malformed"
    UNKNOWN_CHANNEL = "unknown_channel"


@dataclasses.dataclass(frozen=True)
class Verification:
    """The verdict on one delivery: `ok`, or the reason it was rejected."""

    ok: bool
    reason: Reason | None = None

    @classmethod
    def reject(cls, reason: Reason) -> Verification:
        return cls(ok=False, reason=reason)


VERIFIED = Verification(ok=True)


def hmac_sha256(key: str | bytes, message: bytes) -> bytes:
    """The raw HMAC-SHA256 digest (tested against RFC 4231's published vectors)."""
    raw_key = key.encode() if isinstance(key, str) else key
    return hmac.new(raw_key, message, hashlib.sha256).digest()


def header(headers: Mapping[str, str], name: str) -> str:
    """A header's value by case-insensitive name ('' when absent)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


def _check_hex(presented: str, key: str, body: bytes) -> Verification:
    expected = hmac_sha256(key, body).hex()
    if hmac.compare_digest(expected.encode(), presented.strip().lower().encode()):
        return VERIFIED
    return Verification.reject(Reason.BAD_SIGNATURE)


def _precheck(presented: str, secret: str) -> Verification | None:
    if not secret:
        return Verification.reject(Reason.MISSING_SECRET)
    if not presented:
        return Verification.reject(Reason.MISSING_HEADER)
    return None


def verify_notion(headers: Mapping[str, str], body: bytes, secret: str) -> Verification:
    """`X-Notion-Signature: sha256=<hex>`, keyed with the subscription's verification token.
    https://developers.notion.com/reference/webhooks#validating-event-payloads"""
    presented = header(headers, "X-Notion-Signature")
    if failed := _precheck(presented, secret):
        return failed
    prefix, _, digest = presented.partition("=")
    if prefix.strip().lower() != "sha256" or not digest:
        return Verification.reject(Reason.BAD_SIGNATURE)
    return _check_hex(digest, secret, body)


def verify_clickup(headers: Mapping[str, str], body: bytes, secret: str) -> Verification:
    """`X-Signature`: hex HMAC-SHA256 of the body with the webhook's secret.
    https://developer.clickup.com/docs/webhooksignature"""
    presented = header(headers, "X-Signature")
    return _precheck(presented, secret) or _check_hex(presented, secret, body)


def verify_linear(
    headers: Mapping[str, str], body: bytes, secret: str, *, now_ms: int | None = None
) -> Verification:
    """`Linear-Signature` (hex HMAC-SHA256 of the raw body) plus `webhookTimestamp` (ms, in the
    signed body; header `Linear-Timestamp` as fallback) within 60 s, as Linear's SDK checks.
    https://linear.app/developers/webhooks#securing-webhooks"""
    presented = header(headers, "Linear-Signature")
    if failed := _precheck(presented, secret):
        return failed
    signed = _check_hex(presented, secret, body)
    return _linear_timestamp(headers, body, now_ms) if signed.ok else signed


def _linear_timestamp(headers: Mapping[str, str], body: bytes, now_ms: int | None) -> Verification:
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
    if abs(now_ms - stamp) > LINEAR_TOLERANCE_MS:
        return Verification.reject(Reason.STALE_TIMESTAMP)
    return VERIFIED


# Year 33658 in milliseconds: anything larger (or negative) is not a delivery time.
_LATEST_MS = 10**15


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


def verify_todoist(headers: Mapping[str, str], body: bytes, secret: str) -> Verification:
    """`X-Todoist-Hmac-SHA256`: **base64** (not hex) HMAC-SHA256 of the body with the app's
    client secret. https://developer.todoist.com/api/v1/#tag/Webhooks"""
    presented = header(headers, "X-Todoist-Hmac-SHA256")
    if failed := _precheck(presented, secret):
        return failed
    try:
        given = base64.b64decode(presented.strip(), validate=True)
    except (binascii.Error, ValueError):
        return Verification.reject(Reason.BAD_SIGNATURE)
    if hmac.compare_digest(hmac_sha256(secret, body), given):
        return VERIFIED
    return Verification.reject(Reason.BAD_SIGNATURE)


def verify_google(headers: Mapping[str, str], channel_id: str, channel_token: str) -> Verification:
    """Google signs nothing: a channel is authentic when its id is ours and it echoes the
    token we chose. https://developers.google.com/calendar/api/guides/push"""
    presented_id = header(headers, "X-Goog-Channel-ID")
    presented_token = header(headers, "X-Goog-Channel-Token")
    if failed := _precheck(presented_token, channel_token):
        return failed
    if not presented_id or not hmac.compare_digest(presented_id.encode(), channel_id.encode()):
        return Verification.reject(Reason.UNKNOWN_CHANNEL)
    if hmac.compare_digest(presented_token.encode(), channel_token.encode()):
        return VERIFIED
    return Verification.reject(Reason.BAD_SIGNATURE)


def verify_graph(notifications: Iterable[Any], client_state: str) -> Verification:
    """Graph has no signature header: every notification in the batch must carry the
    `clientState` we set on the subscription.
    https://learn.microsoft.com/graph/change-notifications-delivery-webhooks"""
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
