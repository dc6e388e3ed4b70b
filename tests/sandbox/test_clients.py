"""`manage.py sandbox_clients` registers DayFlow at every emulated service, as a developer
would in each console, with the product's own callback and webhook URLs."""

from __future__ import annotations

import json

from django.core.management import call_command

from integrations.sandbox.models import Client, Delivery
from webhooks.models import WebhookSubscription


def test_every_service_gets_one_client_with_the_products_urls(db, settings):
    settings.PUBLIC_URL = "http://127.0.0.1:8000"
    settings.DAYFLOW_OAUTH_CLIENTS = {
        **settings.DAYFLOW_OAUTH_CLIENTS,
        "todoist": {"client_id": "real-id", "client_secret": "real-secret"},
    }

    call_command("sandbox_clients", "--linear-webhook-secret", "lin-secret")
    call_command("sandbox_clients", "--linear-webhook-secret", "lin-secret")

    clients = {c.service: c for c in Client.objects.all()}
    assert Client.objects.count() == 6
    assert (clients["todoist"].client_id, clients["todoist"].client_secret) == (
        "real-id",
        "real-secret",
    )
    assert clients["clickup"].client_id == "sandbox-clickup"
    assert clients["notion"].redirect_uri == "http://127.0.0.1:8000/integrations/notion/callback/"
    assert clients["linear"].webhook_url == "http://127.0.0.1:8000/api/webhooks/linear/"
    assert clients["linear"].webhook_secret == "lin-secret"
    assert clients["outlook"].webhook_url == ""  # Graph subscribes through the API


def test_notions_webhook_goes_to_a_subscription_of_its_own_verified_by_its_token(db, settings):
    settings.PUBLIC_URL = "http://127.0.0.1:8000"

    call_command("sandbox_clients")
    call_command("sandbox_clients")  # again, as on every start of run.py

    sub = WebhookSubscription.objects.get(service__key="notion")
    assert sub.connection is None
    client = Client.objects.get(service="notion")
    assert client.webhook_url == f"http://127.0.0.1:8000/api/webhooks/notion/{sub.public_id}/"
    # the token Notion posts once the URL is added: one, waiting for the app to answer
    handshake = Delivery.objects.get(service="notion")
    assert (handshake.url, handshake.sent_at) == (client.webhook_url, None)
    assert json.loads(bytes(handshake.body)) == {"verification_token": client.webhook_secret}


def test_a_verified_notion_subscription_is_not_asked_again(db, settings):
    call_command("sandbox_clients")
    sub = WebhookSubscription.objects.get(service__key="notion")
    sub.secret = "secret_kept"
    sub.save()
    Delivery.objects.all().delete()

    call_command("sandbox_clients")

    assert not Delivery.objects.exists()
