"""Staff pages: secrets never listed; Notion's verification token shown where staff need it."""

from __future__ import annotations

import pytest

from webhooks.models import WebhookSubscription

pytestmark = pytest.mark.django_db


def test_subscription_secrets_are_not_shown(admin_client, make_connection, make_subscription):
    sub = make_subscription(make_connection("clickup"), secret="clickup-secret-value")
    listing = admin_client.get("/admin/webhooks/webhooksubscription/")
    detail = admin_client.get(f"/admin/webhooks/webhooksubscription/{sub.pk}/change/")
    assert listing.status_code == detail.status_code == 200
    assert b"clickup-secret-value" not in listing.content
    assert b"clickup-secret-value" not in detail.content
    assert sub.public_id.encode() in detail.content  # the notification URL is shown


def test_notion_s_token_and_url_are_shown_to_paste_into_notion(admin_client, make_subscription):
    sub = make_subscription(None, service="notion", secret="secret_notion_token")
    listing = admin_client.get("/admin/webhooks/webhooksubscription/")
    detail = admin_client.get(f"/admin/webhooks/webhooksubscription/{sub.pk}/change/")
    assert b"secret_notion_token" not in listing.content
    assert b"secret_notion_token" in detail.content
    assert f"/api/webhooks/notion/{sub.public_id}/".encode() in detail.content


def test_staff_can_reset_notion_s_token(admin_client, make_subscription):
    sub = make_subscription(None, service="notion", secret="secret_old")
    admin_client.post(
        "/admin/webhooks/webhooksubscription/",
        {"action": "reset_handshake_secret", "_selected_action": [sub.pk]},
    )
    sub.refresh_from_db()
    assert (sub.secret, sub.status) == ("", WebhookSubscription.Status.PENDING)


def test_staff_can_create_a_notion_subscription(admin_client):
    from integrations.models import Service

    notion = Service.objects.get(key="notion")
    response = admin_client.post(
        "/admin/webhooks/webhooksubscription/add/",
        {"service": notion.pk, "status": "pending", "resource": "", "events": "[]"},
    )
    assert response.status_code == 302
    assert WebhookSubscription.objects.get().service == notion
