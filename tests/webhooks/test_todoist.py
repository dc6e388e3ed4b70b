"""Todoist: one app-wide webhook, X-Todoist-Hmac-SHA256 = base64 HMAC-SHA256 of the raw body
keyed with the app's client secret; X-Todoist-Delivery-ID identifies a delivery."""

from __future__ import annotations

import pytest

from integrations.providers.webhook_base import body_hash
from webhooks.models import Delivery

from .helpers import b64_hmac, deliveries, fixture, hex_hmac, jobs, meta, raw, rejections

pytestmark = pytest.mark.django_db
CLIENT_SECRET = "todoist-client-secret"
URL = "/api/webhooks/todoist/"


@pytest.fixture(autouse=True)
def client_secret(settings):
    settings.DAYFLOW_OAUTH_CLIENTS = {
        **settings.DAYFLOW_OAUTH_CLIENTS,
        "todoist": {"client_id": "todoist-client", "client_secret": CLIENT_SECRET},
    }


@pytest.fixture
def todoist(make_connection):
    return make_connection("todoist", account="2671355")


def post(client, body: bytes, signature: str | None, delivery: str = "del-1"):
    headers = {"X-Todoist-Hmac-SHA256": signature} if signature is not None else {}
    headers["X-Todoist-Delivery-ID"] = delivery
    return client.post(URL, body, content_type="application/json", **meta(headers))


def test_a_valid_delivery_is_stored_once_and_triggers_one_sync(client, todoist, sync_calls):
    body = raw(fixture("todoist", "item_updated"))
    assert post(client, body, b64_hmac(CLIENT_SECRET, body)).status_code == 200
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.event_type) == (Delivery.Status.PROCESSED, "item:updated")
    # X-Todoist-Delivery-ID is not signed: the id is the signed body's hash.
    assert (delivery.delivery_id, delivery.connection) == (
        f"todoist:sha256:{body_hash(body)}",
        todoist,
    )
    assert "X-Todoist-Hmac-Sha256" not in delivery.headers
    assert sync_calls == [todoist.pk]
    assert jobs(todoist) == 1


@pytest.mark.parametrize(
    ("signature_of", "reason"),
    [
        (lambda body: b64_hmac(CLIENT_SECRET, body + b"\n"), "bad_signature"),
        (lambda body: b64_hmac("another-secret", body), "bad_signature"),
        (lambda body: hex_hmac(CLIENT_SECRET, body), "bad_signature"),
        (lambda body: None, "missing_header"),
    ],
    ids=["tampered-body", "wrong-secret", "hex-not-base64", "missing-header"],
)
def test_unauthentic_deliveries_get_401_and_are_audited(client, todoist, signature_of, reason):
    body = raw(fixture("todoist", "item_updated"))
    assert post(client, body, signature_of(body)).status_code == 401
    assert deliveries() == 0
    assert len(rejections(reason)) == 1


def test_a_retried_delivery_is_processed_once(client, todoist, sync_calls):
    body = raw(fixture("todoist", "item_updated"))
    for _ in range(3):  # Todoist retries up to three times with the same delivery id
        assert post(client, body, b64_hmac(CLIENT_SECRET, body)).status_code == 200
    assert deliveries() == 1
    assert sync_calls == [todoist.pk]


def test_an_unknown_user_is_acknowledged_and_ignored(client, sync_calls, db):
    body = raw(fixture("todoist", "item_updated"))
    assert post(client, body, b64_hmac(CLIENT_SECRET, body)).status_code == 200
    assert Delivery.objects.get().status == Delivery.Status.IGNORED
    assert sync_calls == []


def test_notes_are_acknowledged_and_not_stored(client, todoist, sync_calls):
    body = raw(fixture("todoist", "note_added"))
    assert post(client, body, b64_hmac(CLIENT_SECRET, body)).status_code == 200
    assert deliveries() == 0


def test_without_a_configured_client_secret_nothing_verifies(client, todoist, settings):
    settings.DAYFLOW_OAUTH_CLIENTS = {**settings.DAYFLOW_OAUTH_CLIENTS, "todoist": {}}
    body = raw(fixture("todoist", "item_updated"))
    assert post(client, body, b64_hmac("", body)).status_code == 401
    assert len(rejections("missing_secret")) == 1


def test_a_subscription_url_is_not_todoist_s(client, todoist):
    body = raw(fixture("todoist", "item_updated"))
    response = client.post(URL + "abc/", body, content_type="application/json")
    assert response.status_code == 404
