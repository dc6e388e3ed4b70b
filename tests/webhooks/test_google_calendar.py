"""Google Calendar push channels: no body and no signature; the channel id must be ours and
X-Goog-Channel-Token must echo the token we chose. The first message has state `sync`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from webhooks import lookup
from webhooks.models import Delivery, WebhookSubscription

from .helpers import deliveries, fixture, jobs, meta, rejections, url

pytestmark = pytest.mark.django_db
TOKEN = "our-channel-token"
CHANNEL = "01234567-89ab-cdef-0123-456789abcdef"


@pytest.fixture
def sub(make_connection, make_subscription):
    connection = make_connection("google-calendar", account="alice@gmail.com")
    return make_subscription(
        connection, remote_id=CHANNEL, secret=TOKEN, resource="primary", resource_id="ret08u3"
    )


def post(client, sub, event: str, **overrides: str | None):
    headers = {k: v for k, v in fixture("google-calendar", event).items() if k.startswith("X-")}
    headers |= {"X-Goog-Channel-ID": CHANNEL, "X-Goog-Channel-Token": TOKEN}
    headers |= overrides
    sent = {k: v for k, v in headers.items() if v is not None}
    return client.post(url("google-calendar", sub), b"", content_type="", **meta(sent))


def test_the_sync_message_of_a_new_channel_is_answered_and_not_synced(client, sub, sync_calls):
    # given a channel just created, waiting for Google's first message
    WebhookSubscription.objects.filter(pk=sub.pk).update(status="pending")
    # when Google sends its `sync` message
    response = post(client, sub, "sync")
    # then it is acknowledged, the channel is live, and nothing is stored or synced
    assert response.status_code == 200
    sub.refresh_from_db()
    assert sub.status == WebhookSubscription.Status.ACTIVE
    assert deliveries() == 0
    assert sync_calls == []
    assert AuditEvent.objects.filter(action="webhook.handshake").count() == 1


def test_a_sync_message_with_the_wrong_token_is_refused(client, sub):
    assert post(client, sub, "sync", **{"X-Goog-Channel-Token": "guess"}).status_code == 401
    assert len(rejections("bad_signature")) == 1


def test_a_valid_notification_is_stored_once_and_triggers_one_sync(client, sub, sync_calls):
    assert post(client, sub, "exists").status_code == 200
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.event_type) == (Delivery.Status.PROCESSED, "exists")
    assert delivery.delivery_id == f"{CHANNEL}:10"
    assert "X-Goog-Channel-Token" not in delivery.headers
    assert sync_calls == [sub.connection.pk]
    assert jobs(sub.connection) == 1


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"X-Goog-Channel-Token": "wrong-token"}, "bad_signature"),
        ({"X-Goog-Channel-Token": None}, "missing_header"),
        ({"X-Goog-Channel-ID": "someone-elses-channel"}, "unknown_channel"),
        ({"X-Goog-Channel-ID": None}, "unknown_channel"),
    ],
    ids=["wrong-token", "missing-token", "other-channel", "missing-channel"],
)
def test_unauthentic_notifications_get_401_and_are_audited(client, sub, overrides, reason):
    assert post(client, sub, "exists", **overrides).status_code == 401
    assert deliveries() == 0
    assert len(rejections(reason)) == 1


def test_the_same_message_twice_is_processed_once(client, sub, sync_calls):
    post(client, sub, "exists")
    post(client, sub, "exists")
    assert deliveries() == 1
    assert sync_calls == [sub.connection.pk]


def test_a_stopped_channel_is_acknowledged_then_unknown_after_the_grace_period(client, sub):
    # a notification Google had in flight when we stopped the channel: 200, not stored
    WebhookSubscription.objects.filter(pk=sub.pk).update(status="removed")
    assert post(client, sub, "exists").status_code == 200
    assert (Delivery.objects.count(), rejections()) == (0, [])
    # a week later the URL is simply unknown
    long_ago = timezone.now() - dt.timedelta(days=8)
    WebhookSubscription.objects.filter(pk=sub.pk).update(updated_at=long_ago)
    lookup.forget()
    assert post(client, sub, "exists").status_code == 404
    assert len(rejections("unknown_subscription")) == 1


def test_a_paused_connection_is_acknowledged_and_not_synced(client, sub):
    sub.connection.status = "paused"
    sub.connection.save(update_fields=["status"])
    assert post(client, sub, "exists").status_code == 200
    assert Delivery.objects.get().status == Delivery.Status.IGNORED
    assert jobs(sub.connection) == 0
