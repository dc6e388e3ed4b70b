"""Microsoft Graph: the validationToken handshake, clientState in every notification of a
batch, and lifecycle notifications that keep the subscription alive."""

from __future__ import annotations

import json
import time

import pytest
import responses

from webhooks.models import Delivery, WebhookSubscription

from .helpers import deliveries, fixture, jobs, rejections, url

pytestmark = pytest.mark.django_db
CLIENT_STATE = "our-client-state-secret"
GRAPH = "https://graph.microsoft.com/v1.0"


@pytest.fixture
def sub(make_connection, make_subscription):
    connection = make_connection("outlook", account="alice@contoso.com")
    return make_subscription(
        connection,
        remote_id="7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
        secret=CLIENT_STATE,
        resource="me/events",
    )


def notification(event: str = "event.created", client_state: str = CLIENT_STATE) -> dict:
    text = json.dumps(fixture("outlook", event)).replace("{client_state}", client_state)
    return json.loads(text)


def post(client, sub, payload: dict):
    return client.post(url("outlook", sub), json.dumps(payload), content_type="application/json")


def test_the_validation_token_is_echoed_as_plain_text_at_once(client, sub):
    # given Graph validating our notification URL (recorded/msgraph: text/plain, token in query)
    started = time.monotonic()
    # when it posts ?validationToken=<url-encoded token>
    response = client.post(
        url("outlook", sub) + "?validationToken=Validation%3A%20Testing%20client%20application",
        b"",
        content_type="text/plain; charset=utf-8",
    )
    # then the decoded token comes back as text/plain with 200, well within 10 seconds
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"Validation: Testing client application"
    assert time.monotonic() - started < 10
    assert deliveries() == 0


def test_a_valid_notification_is_stored_once_and_triggers_one_sync(client, sub, sync_calls):
    assert post(client, sub, notification()).status_code == 200
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.event_type) == (Delivery.Status.PROCESSED, "created")
    assert CLIENT_STATE not in delivery.body  # the secret is not kept in the inbox
    assert json.loads(delivery.body)["value"][0]["changeType"] == "created"
    assert sync_calls == [sub.connection.pk]
    assert jobs(sub.connection) == 1


def _batch_with_one_forged() -> dict:
    good, forged = notification(), notification(client_state="forged")
    return {"value": good["value"] + forged["value"]}


def _without_client_state() -> dict:
    payload = notification()
    del payload["value"][0]["clientState"]
    return payload


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (lambda: notification(client_state="wrong-state"), "bad_signature"),
        (_batch_with_one_forged, "bad_signature"),
        (_without_client_state, "missing_header"),
        (lambda: {"value": []}, "malformed"),
        (lambda: {"value": "nope"}, "malformed"),
    ],
    ids=["wrong-secret", "one-forged-in-batch", "missing-client-state", "empty", "not-a-list"],
)
def test_unauthentic_notifications_get_401_and_are_audited(client, sub, payload, reason):
    assert post(client, sub, payload()).status_code == 401
    assert deliveries() == 0
    assert len(rejections(reason)) == 1


def test_the_same_notification_twice_is_processed_once(client, sub, sync_calls):
    post(client, sub, notification())
    post(client, sub, notification())
    assert deliveries() == 1
    assert sync_calls == [sub.connection.pk]


@responses.activate
def test_reauthorization_required_renews_the_subscription(client, sub, sync_calls):
    # given Graph asking us to reauthorize the subscription
    renewed = responses.patch(
        f"{GRAPH}/subscriptions/{sub.remote_id}",
        json={"id": sub.remote_id, "expirationDateTime": "2026-11-28T10:00:00Z"},
    )
    # when the lifecycle notification arrives
    assert post(client, sub, notification("lifecycle.reauthorizationRequired")).status_code == 200
    # then the subscription is renewed and the connection synced (changes may have been missed)
    assert renewed.call_count == 1
    sub.refresh_from_db()
    assert sub.expires_at.isoformat() == "2026-11-28T10:00:00+00:00"
    assert sync_calls == [sub.connection.pk]


@responses.activate
def test_subscription_removed_recreates_it(client, sub):
    created = responses.post(
        f"{GRAPH}/subscriptions",
        json={"id": "new-subscription-id", "expirationDateTime": "2026-11-28T10:00:00Z"},
        status=201,
    )
    deleted = responses.delete(f"{GRAPH}/subscriptions/{sub.remote_id}", status=404)
    assert post(client, sub, notification("lifecycle.subscriptionRemoved")).status_code == 200
    assert (created.call_count, deleted.call_count) == (1, 1)
    sub.refresh_from_db()
    assert sub.status == WebhookSubscription.Status.REMOVED
    fresh = WebhookSubscription.objects.get(remote_id="new-subscription-id")
    assert fresh.status == WebhookSubscription.Status.ACTIVE
    sent = json.loads(created.calls[0].request.body)
    assert sent["clientState"] == fresh.secret
    assert sent["notificationUrl"].endswith(f"/api/webhooks/outlook/{fresh.public_id}/")


@responses.activate
def test_a_replayed_subscription_removed_does_not_recreate_twice(client, sub):
    created = responses.post(f"{GRAPH}/subscriptions", json={"id": "new-id"}, status=201)
    responses.delete(f"{GRAPH}/subscriptions/{sub.remote_id}", status=204)
    post(client, sub, notification("lifecycle.subscriptionRemoved"))
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(status="received")
    from webhooks.tasks import process_delivery

    process_delivery.apply(args=[delivery.pk])
    assert created.call_count == 1
