"""A subscription whose secret no configured key can read: its deliveries get 503 and an
audit row (the operator must restore the key), and the staff pages still render."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from integrations.crypto import UNREADABLE
from integrations.providers.hooks import INBOUND
from webhooks.models import Delivery

from .helpers import deliveries, fixture, raw, rejections, url

pytestmark = pytest.mark.django_db

LOST_KEY = Fernet.generate_key().decode()
KEY = Fernet.generate_key().decode()
PER_SUBSCRIPTION = sorted(key for key, spec in INBOUND.items() if spec.per_subscription)
EVENTS = {
    "notion": ("notion", "page.properties_updated"),
    "clickup": ("clickup", "taskUpdated"),
    "linear": ("linear", "Issue.update"),
    "google-calendar": ("google-calendar", "exists"),
    "outlook": ("outlook", "event.created"),
}


@pytest.fixture
def lost_key_subscription(make_connection, make_subscription, settings):
    def make(service: str):
        settings.DAYFLOW_ENCRYPTION_KEYS = [LOST_KEY]
        sub = make_subscription(make_connection(service), remote_id="chan-1", secret="s3cret")
        settings.DAYFLOW_ENCRYPTION_KEYS = [KEY]
        return sub

    return make


@pytest.mark.parametrize("service", PER_SUBSCRIPTION)
def test_a_delivery_to_a_subscription_with_an_unreadable_secret_gets_503(
    client, lost_key_subscription, fresh_cache, service
):
    sub = lost_key_subscription(service)
    headers = {"HTTP_X_GOOG_CHANNEL_ID": "chan-1", "HTTP_X_GOOG_CHANNEL_TOKEN": "s3cret"}

    response = client.post(
        url(service, sub),
        raw(fixture(*EVENTS[service])),
        content_type="application/json",
        **headers,
    )

    assert response.status_code == 503
    [audit] = rejections("secret_unreadable")
    assert audit.connection_id == sub.connection_id
    assert deliveries() == 0


def test_the_subscription_and_inbox_pages_say_the_keys_are_wrong(
    admin_client, lost_key_subscription, make_subscription, settings
):
    sub = lost_key_subscription("clickup")
    settings.DAYFLOW_ENCRYPTION_KEYS = [LOST_KEY]
    notion = make_subscription(None, service="notion", secret="secret_notion_token")
    settings.DAYFLOW_ENCRYPTION_KEYS = [KEY]
    delivery = Delivery.objects.create(
        service=sub.service, subscription=sub, delivery_id="d-1", event_type="taskUpdated"
    )

    pages = [
        admin_client.get("/admin/webhooks/webhooksubscription/"),
        admin_client.get(f"/admin/webhooks/webhooksubscription/{sub.pk}/change/"),
        admin_client.get(f"/admin/webhooks/webhooksubscription/{notion.pk}/change/"),
        admin_client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/"),
        admin_client.get("/admin/webhooks/delivery/"),
    ]

    for page in pages:
        assert page.status_code == 200
        assert b"s3cret" not in page.content
        assert b"secret_notion_token" not in page.content
    assert UNREADABLE.encode() in pages[0].content
    assert UNREADABLE.encode() in pages[2].content
