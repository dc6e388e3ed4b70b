"""`manage.py sandbox_clients` registers DayFlow at every emulated service, as a developer
would in each console, with the product's own callback and webhook URLs."""

from __future__ import annotations

from django.core.management import call_command

from integrations.sandbox.models import Client


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
