"""The product's own webhook registrars against the emulators, then a change at the service
reaching DayFlow's webhook endpoint, verified: Google channels, ClickUp team webhooks, Graph
subscriptions (with the validationToken handshake during the create request).

The product registers behind a plain http PUBLIC_URL only because these services are sandboxed
(`webhooks.subscriptions.can_notify`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client as Browser

from integrations import clients
from integrations.sandbox import outbox
from integrations.sandbox.models import Delivery, Grant, Item
from tests.sandbox.conftest import connect_through_consent
from webhooks import subscriptions
from webhooks.models import Delivery as Received
from webhooks.models import WebhookSubscription


@pytest.fixture(autouse=True)
def closed_sessions(monkeypatch):
    """The registrars' HTTP clients hang up when the test ends: no kept-alive connection
    outlives the live server's database."""
    made = []

    def recording(connection, **options):
        made.append(real(connection, **options))
        return made[-1]

    real = clients.client_for
    monkeypatch.setattr(clients, "client_for", recording)
    yield
    for http in made:
        http.session.close()


def token() -> str:
    return Grant.objects.filter(kind="access", revoked_at=None).latest("pk").value


def change_google() -> None:
    event = (
        Item.objects.filter(kind="event", deleted=False)
        .exclude(data__has_key="recurringEventId")
        .first()
    )
    body = {**event.data, "summary": "Changed at Google"}
    Browser().put(
        f"/sandbox/google-calendar/calendar/v3/calendars/{event.container}/events/{event.remote_id}",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token()}",
    )


def change_clickup() -> None:
    task = Item.objects.filter(kind="task", deleted=False).first()
    Browser().put(
        f"/sandbox/clickup/api/v2/task/{task.remote_id}",
        {"name": "Changed at ClickUp"},
        content_type="application/json",
        HTTP_AUTHORIZATION=token(),
    )


def change_outlook() -> None:
    event = Item.objects.filter(kind="event", deleted=False, data__type="singleInstance").first()
    Browser().patch(
        f"/sandbox/outlook/v1.0/me/events/{event.remote_id}",
        {"subject": "Changed at Outlook"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token()}",
    )


CHANGES: dict[str, Callable[[], None]] = {
    "google-calendar": change_google,
    "clickup": change_clickup,
    "outlook": change_outlook,
}


@pytest.mark.parametrize("key", list(CHANGES))
def test_registration_then_a_change_at_the_service_arrives_verified(sandboxed, client, user, key):
    client.force_login(user)
    connection = connect_through_consent(client, key)
    if key == "clickup":  # a task service syncs (and is watched) once its list is chosen
        task = Item.objects.filter(kind="task", deleted=False).first()
        connection.field_mapping = {**connection.field_mapping, "list_id": task.container}
        connection.save(update_fields=["field_mapping"])
    assert not connection.setup_needed

    subscriptions.reconcile(connection)
    CHANGES[key]()
    outbox.deliver_pending()

    assert set(connection.webhook_subscriptions.values_list("status", flat=True)) == {
        WebhookSubscription.Status.ACTIVE
    }
    statuses = list(Delivery.objects.values_list("status", flat=True))
    assert statuses
    assert all(200 <= status < 300 for status in statuses), statuses
    assert Received.objects.filter(service__key=key).exists()
