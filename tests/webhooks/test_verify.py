"""The pure verification functions, and the HMAC step against RFC 4231's published vectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integrations.providers.clickup.webhook import verify_clickup
from integrations.providers.google_calendar.webhook import verify_google
from integrations.providers.graph_webhook import verify_graph
from integrations.providers.linear.webhook import verify_linear
from integrations.providers.notion.webhook import verify_notion
from integrations.providers.todoist.webhook import verify_todoist
from integrations.providers.webhook_base import Reason, hmac_sha256

from .helpers import b64_hmac, hex_hmac

VECTORS = Path("/work/shared/providers/recorded/hmac/hmac-sha256-published-vectors.json")
BODY = b'{"event":"taskUpdated","task_id":"1vj37mc"}'
SECRET = "s3cret-value"


def _bytes(vector: dict, name: str) -> bytes:
    """The vector file spells keys and messages in a few ways; read each as written."""
    if f"{name}_ascii" in vector:
        return vector[f"{name}_ascii"].encode()
    if f"{name}_hex" in vector:
        return bytes.fromhex(vector[f"{name}_hex"])
    spelled = vector[name]  # e.g. "0x0b repeated 20 times"
    byte, _, count = spelled.removesuffix(" times").partition(" repeated ")
    return bytes([int(byte, 16)]) * int(count)


def _vectors() -> list[dict]:
    return json.loads(VECTORS.read_text())["vectors"]


@pytest.mark.parametrize("vector", _vectors(), ids=lambda v: v["name"])
def test_hmac_helper_passes_the_published_vectors(vector):
    # given a published (key, message, digest) triple
    key, message = _bytes(vector, "key"), _bytes(vector, "message")
    # when the helper digests it / then the digest is the published one
    digest = hmac_sha256(key, message).hex()
    expected = vector["hmac_sha256_hex"]
    assert digest[: len(expected)] == expected
    assert len(expected) >= 32


def test_the_vector_file_has_the_rfc_cases():
    names = {v["name"] for v in _vectors()}
    assert {"rfc4231-tc1", "rfc4231-tc2", "rfc4231-tc4"} <= names


HEX_CASES = [
    # (function, header name, header value, expected reason)
    (verify_clickup, "X-Signature", hex_hmac(SECRET, BODY), None),
    (verify_clickup, "X-Signature", hex_hmac(SECRET, BODY).upper(), None),
    (verify_clickup, "X-Signature", hex_hmac("other", BODY), Reason.BAD_SIGNATURE),
    (verify_clickup, "X-Signature", hex_hmac(SECRET, BODY + b" "), Reason.BAD_SIGNATURE),
    (verify_clickup, "X-Signature", b64_hmac(SECRET, BODY), Reason.BAD_SIGNATURE),
    (verify_clickup, "X-Other", hex_hmac(SECRET, BODY), Reason.MISSING_HEADER),
    (verify_notion, "X-Notion-Signature", "sha256=" + hex_hmac(SECRET, BODY), None),
    (
        verify_notion,
        "X-Notion-Signature",
        hex_hmac(SECRET, BODY),
        Reason.BAD_SIGNATURE,
    ),
    (verify_notion, "X-Notion-Signature", "sha1=" + hex_hmac(SECRET, BODY), "bad"),
    (verify_todoist, "X-Todoist-Hmac-SHA256", b64_hmac(SECRET, BODY), None),
    (verify_todoist, "X-Todoist-Hmac-SHA256", hex_hmac(SECRET, BODY), "bad"),
    (verify_todoist, "X-Todoist-Hmac-SHA256", "not base64!", Reason.BAD_SIGNATURE),
    (verify_todoist, "X-Todoist-Hmac-SHA256", "", Reason.MISSING_HEADER),
]


@pytest.mark.parametrize(("check", "name", "value", "reason"), HEX_CASES)
def test_signature_checks(check, name, value, reason):
    # given a body signed (or not) per the service's algorithm
    headers = {name: value}
    # when it is verified
    result = check(headers, BODY, SECRET)
    # then only the documented encoding with the right key passes
    if reason is None:
        assert result.ok
    else:
        assert not result.ok
        assert reason == "bad" or result.reason == reason


def test_header_names_are_case_insensitive():
    headers = {"x-todoist-hmac-sha256": b64_hmac(SECRET, BODY)}
    assert verify_todoist(headers, BODY, SECRET).ok


def test_no_secret_never_verifies():
    headers = {"X-Signature": hex_hmac("", BODY)}
    assert verify_clickup(headers, BODY, "").reason == Reason.MISSING_SECRET


LINEAR_NOW = 1_764_028_212_345


@pytest.mark.parametrize(
    ("stamp", "ok"),
    [
        (LINEAR_NOW, True),
        (LINEAR_NOW - 59_999, True),
        (LINEAR_NOW + 59_999, True),
        (LINEAR_NOW - 60_001, False),
        (LINEAR_NOW + 60_001, False),
    ],
)
def test_linear_timestamp_window(stamp, ok):
    # given a correctly signed Linear body with a timestamp at some distance from now
    body = json.dumps({"type": "Issue", "webhookTimestamp": stamp}).encode()
    headers = {"Linear-Signature": hex_hmac(SECRET, body)}
    # when verified at LINEAR_NOW
    result = verify_linear(headers, body, SECRET, now_ms=LINEAR_NOW)
    # then only a timestamp within 60 seconds passes
    assert result.ok is ok
    if not ok:
        assert result.reason == Reason.STALE_TIMESTAMP


@pytest.mark.parametrize("stamp", [float("inf"), float("nan"), "yesterday", True, 10**30, -1])
def test_linear_timestamps_that_are_not_times_are_refused_as_such(stamp):
    # given a correctly signed Linear body whose timestamp is not a Unix time in ms
    body = json.dumps({"type": "Issue", "webhookTimestamp": stamp}).encode()
    headers = {"Linear-Signature": hex_hmac(SECRET, body)}
    # when verified
    result = verify_linear(headers, body, SECRET, now_ms=LINEAR_NOW)
    # then it is refused as malformed, not raised
    assert result.reason == Reason.BAD_TIMESTAMP


def test_linear_falls_back_to_the_timestamp_header():
    body = b'{"type": "Issue"}'
    headers = {"Linear-Signature": hex_hmac(SECRET, body), "Linear-Timestamp": str(LINEAR_NOW)}
    assert verify_linear(headers, body, SECRET, now_ms=LINEAR_NOW).ok


def test_linear_bad_signature_is_reported_before_the_timestamp():
    body = json.dumps({"webhookTimestamp": 1}).encode()
    headers = {"Linear-Signature": hex_hmac("wrong", body)}
    result = verify_linear(headers, body, SECRET, now_ms=LINEAR_NOW)
    assert result.reason == Reason.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"X-Goog-Channel-ID": "chan-1", "X-Goog-Channel-Token": SECRET}, None),
        ({"X-Goog-Channel-ID": "chan-2", "X-Goog-Channel-Token": SECRET}, Reason.UNKNOWN_CHANNEL),
        ({"X-Goog-Channel-ID": "chan-1", "X-Goog-Channel-Token": "nope"}, Reason.BAD_SIGNATURE),
        ({"X-Goog-Channel-ID": "chan-1"}, Reason.MISSING_HEADER),
    ],
)
def test_google_channel_token(headers, reason):
    result = verify_google(headers, "chan-1", SECRET)
    assert result.ok is (reason is None)
    assert result.reason == reason


@pytest.mark.parametrize(
    ("states", "reason"),
    [
        ([SECRET], None),
        ([SECRET, SECRET], None),
        ([SECRET, "forged"], Reason.BAD_SIGNATURE),
        ([SECRET, None], Reason.MISSING_HEADER),
        ([], Reason.MALFORMED),
    ],
)
def test_graph_client_state_in_every_notification(states, reason):
    notifications = [{"clientState": s} if s else {"changeType": "created"} for s in states]
    result = verify_graph(notifications, SECRET)
    assert result.ok is (reason is None)
    assert result.reason == reason
