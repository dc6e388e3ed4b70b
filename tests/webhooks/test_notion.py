"""Notion: a verification-token handshake, then X-Notion-Signature: sha256=<hex HMAC of the
raw body keyed with that token>."""

from __future__ import annotations

import pytest
from django.db import connection as db_connection

from audit.models import AuditEvent
from integrations.models import Connection
from webhooks.models import Delivery, WebhookSubscription

from .helpers import deliveries, fixture, hex_hmac, jobs, meta, raw, rejections, url

pytestmark = pytest.mark.django_db
TOKEN = fixture("notion", "verification")["verification_token"]
WORKSPACE = fixture("notion", "page.properties_updated")["workspace_id"]


@pytest.fixture
def connection(make_connection):
    return make_connection("notion", account=WORKSPACE)


@pytest.fixture
def sub(connection, make_subscription):
    return make_subscription(connection, secret=TOKEN)


def post(client, sub, body: bytes, signature: str | None = None):
    headers = {"X-Notion-Signature": signature} if signature is not None else {}
    return client.post(url("notion", sub), body, content_type="application/json", **meta(headers))


def signed(client, sub, payload: dict):
    body = raw(payload)
    return post(client, sub, body, "sha256=" + hex_hmac(TOKEN, body))


def test_the_verification_token_is_captured_from_the_setup_post(client, make_subscription):
    # given a subscription created by staff, waiting for Notion's setup post
    sub = make_subscription(None, service="notion", status=WebhookSubscription.Status.PENDING)
    # when Notion posts its verification token
    response = post(client, sub, raw(fixture("notion", "verification")))
    # then it is stored (encrypted) as the signing key and the handshake is audited
    assert response.status_code == 200
    sub.refresh_from_db()
    assert (sub.secret, sub.status) == (TOKEN, WebhookSubscription.Status.ACTIVE)
    assert AuditEvent.objects.filter(action="webhook.handshake", success=True).count() == 1
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_webhooksubscription WHERE id = %s", [sub.pk])
        stored = cursor.fetchone()[0]
    assert stored
    assert TOKEN not in stored
    assert deliveries() == 0


def test_a_different_token_does_not_rekey_a_verified_subscription(client, sub):
    response = post(client, sub, raw({"verification_token": "secret_attacker"}))
    assert response.status_code == 409
    sub.refresh_from_db()
    assert sub.secret == TOKEN
    assert AuditEvent.objects.filter(action="webhook.handshake", success=False).exists()


def test_the_same_token_again_is_acknowledged(client, sub):
    assert post(client, sub, raw(fixture("notion", "verification"))).status_code == 200


def test_a_valid_delivery_is_stored_once_and_triggers_one_sync(client, sub, sync_calls):
    response = signed(client, sub, fixture("notion", "page.properties_updated"))
    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PROCESSED
    assert delivery.event_type == "page.properties_updated"
    assert delivery.delivery_id == "event:367cba44-b6f3-4c92-81e7-6a2e9659efd4"
    assert sync_calls == [sub.connection.pk]
    assert jobs(sub.connection) == 1


def test_an_app_wide_subscription_finds_the_connection_by_workspace(
    client, connection, make_subscription, sync_calls
):
    # given the integration's one subscription, not tied to a connection
    sub = make_subscription(None, service="notion", secret=TOKEN)
    # when an event for the connection's workspace arrives
    assert signed(client, sub, fixture("notion", "page.properties_updated")).status_code == 200
    # then that connection is synced
    assert sync_calls == [connection.pk]
    assert Delivery.objects.get().connection == connection


def test_a_retried_attempt_of_the_same_event_is_processed_once(client, sub, sync_calls):
    payload = fixture("notion", "page.properties_updated")
    signed(client, sub, payload)
    # Notion retries with attempt_number + 1: a different body, the same event id
    response = signed(client, sub, {**payload, "attempt_number": 2})
    assert response.status_code == 200
    assert deliveries() == 1
    assert sync_calls == [sub.connection.pk]


@pytest.mark.parametrize(
    ("signature_of", "reason"),
    [
        (lambda body: "sha256=" + hex_hmac(TOKEN, body + b" "), "bad_signature"),
        (lambda body: "sha256=" + hex_hmac("secret_wrong", body), "bad_signature"),
        (lambda body: hex_hmac(TOKEN, body), "bad_signature"),
        (lambda body: None, "missing_header"),
    ],
    ids=["tampered-body", "wrong-secret", "no-prefix", "missing-header"],
)
def test_unauthentic_deliveries_get_401_and_are_audited(client, sub, signature_of, reason):
    body = raw(fixture("notion", "page.properties_updated"))
    assert post(client, sub, body, signature_of(body)).status_code == 401
    assert deliveries() == 0
    assert len(rejections(reason)) == 1


def test_events_before_the_handshake_are_rejected(client, make_subscription):
    sub = make_subscription(None, service="notion", status=WebhookSubscription.Status.PENDING)
    body = raw(fixture("notion", "page.properties_updated"))
    assert post(client, sub, body, "sha256=" + hex_hmac("", body)).status_code == 401
    assert len(rejections("missing_secret")) == 1


def test_comment_events_are_acknowledged_and_not_stored(client, sub, sync_calls):
    assert signed(client, sub, fixture("notion", "comment.created")).status_code == 200
    assert deliveries() == 0
    assert sync_calls == []


def test_an_event_for_a_paused_connection_is_not_synced(client, sub):
    Connection.objects.filter(pk=sub.connection.pk).update(status="paused")
    assert signed(client, sub, fixture("notion", "page.properties_updated")).status_code == 200
    assert Delivery.objects.get().status == Delivery.Status.IGNORED
    assert jobs(sub.connection) == 0
