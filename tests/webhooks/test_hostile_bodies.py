"""Hostile bodies get a clear 4xx, an audit row and no inbox row; never a 500."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine

from dayflow import safe_json
from integrations.providers.hooks import INBOUND

from .helpers import deliveries, fixture, hex_hmac, meta, rejections, url

pytestmark = pytest.mark.django_db
DEEP = b"[" * 200_000 + b"]" * 200_000
LINEAR_SECRET = "lin_wh_our-chosen-signing-secret"


@pytest.fixture
def endpoint(make_connection, make_subscription):
    """The URL a service's deliveries are posted to: its subscription's where it has one."""

    def make(service: str) -> str:
        if not INBOUND[service].per_subscription:
            return url(service)
        connection = make_connection(service)
        return url(service, make_subscription(connection, remote_id="r-1", secret="s"))

    return make


@pytest.mark.parametrize("service", sorted(s for s in INBOUND if s != "google-calendar"))
@pytest.mark.parametrize("body", [DEEP, b'{"a":' * 100_000 + b"1" + b"}" * 100_000])
def test_deeply_nested_json_gets_400_and_is_audited(client, endpoint, fresh_cache, service, body):
    response = client.post(endpoint(service), body, content_type="application/json")

    assert response.status_code == 400
    assert len(rejections("too_deep")) == 1
    assert deliveries() == 0


def test_google_calendar_never_parses_the_body(client, endpoint, fresh_cache):
    response = client.post(endpoint("google-calendar"), DEEP, content_type="application/json")

    assert response.status_code == 401
    assert deliveries() == 0


@pytest.mark.parametrize(
    ("body", "deep"),
    [
        (b"[" * 64 + b"]" * 64, False),
        (b"[" * 65 + b"]" * 65, True),
        (b'{"a": "' + b"[" * 1000 + b'"}', False),  # brackets inside a string nest nothing
        (b'{"a": "\\"' + b"[" * 1000 + b'"}', False),  # nor after an escaped quote
    ],
)
def test_the_depth_scan_counts_only_real_nesting(body, deep):
    assert (safe_json.depth(body) > safe_json.MAX_DEPTH) is deep


@pytest.mark.parametrize(
    "stamp", [b"Infinity", b"-Infinity", b"NaN", b"1e400", b'"soon"', b"true", b"10" * 40]
)
def test_a_signed_linear_delivery_with_an_unreadable_timestamp_gets_400(
    client, make_connection, make_subscription, fresh_cache, stamp
):
    sub = make_subscription(make_connection("linear"), remote_id="r-1", secret=LINEAR_SECRET)
    payload = fixture("linear", "Issue.update")
    sent_at = dt.datetime.fromtimestamp(payload["webhookTimestamp"] / 1000, tz=dt.UTC)
    body = json.dumps({**payload, "webhookTimestamp": "STAMP"}).encode()
    body = body.replace(b'"STAMP"', stamp)
    headers = meta({"Linear-Signature": hex_hmac(LINEAR_SECRET, body)})

    with time_machine.travel(sent_at, tick=False):
        response = client.post(url("linear", sub), body, content_type="application/json", **headers)

        assert response.status_code == 400
        assert len(rejections("bad_timestamp")) == 1
        assert deliveries() == 0
