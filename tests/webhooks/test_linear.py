"""Linear: Linear-Signature (hex HMAC-SHA256 of the raw body with our signing secret) and a
webhookTimestamp within 60 seconds."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from webhooks.models import Delivery

from .helpers import deliveries, fixture, hex_hmac, jobs, meta, raw, rejections, url

pytestmark = pytest.mark.django_db
SECRET = "lin_wh_our-chosen-signing-secret"
SENT_AT_MS = fixture("linear", "Issue.update")["webhookTimestamp"]
SENT_AT = dt.datetime.fromtimestamp(SENT_AT_MS / 1000, tz=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    """Linear's clock and ours agree: the fixture was 'sent' a second ago."""
    with time_machine.travel(SENT_AT + dt.timedelta(seconds=1), tick=False) as traveller:
        yield traveller


@pytest.fixture
def sub(make_connection, make_subscription):
    connection = make_connection("linear", account="2a4e1c5f")
    return make_subscription(connection, remote_id="0c9b7e2e", secret=SECRET)


def post(client, sub, body: bytes, signature: str | None, delivery: str = ""):
    headers = {"Linear-Signature": signature} if signature is not None else {}
    if delivery:
        headers["Linear-Delivery"] = delivery
    return client.post(url("linear", sub), body, content_type="application/json", **meta(headers))


def test_a_valid_delivery_is_stored_once_and_triggers_one_sync(client, sub, sync_calls):
    body = raw(fixture("linear", "Issue.update"))
    response = post(client, sub, body, hex_hmac(SECRET, body), delivery="d-1")
    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.event_type) == (Delivery.Status.PROCESSED, "Issue.update")
    # Linear-Delivery is not signed: the id comes from the signed body.
    assert delivery.delivery_id.startswith(f"{sub.public_id}:sha256:")
    assert sync_calls == [sub.connection.pk]
    assert jobs(sub.connection) == 1


@pytest.mark.parametrize(
    ("signature_of", "reason"),
    [
        (lambda body: hex_hmac(SECRET, body.replace(b"Ship", b"Sink")), "bad_signature"),
        (lambda body: hex_hmac("wrong", body), "bad_signature"),
        (lambda body: None, "missing_header"),
    ],
    ids=["tampered-body", "wrong-secret", "missing-header"],
)
def test_unauthentic_deliveries_get_401_and_are_audited(client, sub, signature_of, reason):
    body = raw(fixture("linear", "Issue.update"))
    assert post(client, sub, body, signature_of(body)).status_code == 401
    assert deliveries() == 0
    assert len(rejections(reason)) == 1


@pytest.mark.parametrize("late", [dt.timedelta(seconds=61), dt.timedelta(minutes=-5)])
def test_a_stale_timestamp_gets_401(client, sub, clock, late):
    # given a correctly signed delivery whose timestamp is outside the 60-second window
    body = raw(fixture("linear", "Issue.update"))
    clock.move_to(SENT_AT + late)
    # when it arrives / then it is refused as a replay
    assert post(client, sub, body, hex_hmac(SECRET, body)).status_code == 401
    assert len(rejections("stale_timestamp")) == 1
    assert deliveries() == 0


def test_the_same_delivery_twice_is_processed_once(client, sub, sync_calls):
    body = raw(fixture("linear", "Issue.update"))
    for _ in range(2):
        assert post(client, sub, body, hex_hmac(SECRET, body), delivery="d-1").status_code == 200
    assert deliveries() == 1
    assert sync_calls == [sub.connection.pk]


def test_without_a_delivery_header_the_body_identifies_the_delivery(client, sub, sync_calls):
    body = raw(fixture("linear", "Issue.update"))
    post(client, sub, body, hex_hmac(SECRET, body))
    post(client, sub, body, hex_hmac(SECRET, body))
    assert deliveries() == 1
    assert Delivery.objects.get().delivery_id.startswith(f"{sub.public_id}:sha256:")


def test_comments_are_acknowledged_and_not_stored(client, sub, sync_calls):
    body = raw(fixture("linear", "Comment.create"))
    assert post(client, sub, body, hex_hmac(SECRET, body)).status_code == 200
    assert deliveries() == 0
    assert sync_calls == []
