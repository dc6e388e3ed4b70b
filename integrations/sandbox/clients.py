"""DayFlow's registration at each emulated service: what a developer enters in each service's
console (client id and secret, the redirect URI, the app-wide webhook URL and its secret)."""

from __future__ import annotations

import hashlib

from django.conf import settings

from integrations.models import Service
from integrations.sandbox import notion
from integrations.sandbox.models import Client, Delivery
from webhooks.models import WebhookSubscription

SERVICES = ("todoist", "google-calendar", "notion", "linear", "clickup", "outlook")
# Services whose webhook is set once for the whole app at DayFlow's service-wide URL (Notion's
# is set once too, at a subscription's URL: `notion_webhook_url`; the others subscribe through
# the API).
APP_WEBHOOKS = ("todoist", "linear")


def credentials(key: str) -> tuple[str, str]:
    """The pair from DAYFLOW_OAUTH_CLIENTS, or a stable sandbox pair where none is set."""
    configured = getattr(settings, "DAYFLOW_OAUTH_CLIENTS", {}).get(key) or {}
    if configured.get("client_id") and configured.get("client_secret"):
        return configured["client_id"], configured["client_secret"]
    secret = hashlib.sha256(f"{settings.SECRET_KEY}:sandbox:{key}".encode()).hexdigest()[:32]
    return f"sandbox-{key}", secret


def register(public_url: str, linear_app_secret: str = "") -> list[Client]:
    """Create or update DayFlow's client at every emulated service."""
    registered = []
    for key in SERVICES:
        client_id, secret = credentials(key)
        webhook = f"{public_url}/api/webhooks/{key}/" if key in APP_WEBHOOKS else ""
        if key == "notion":
            webhook = notion_webhook_url(public_url)
        client, _ = Client.objects.update_or_create(
            service=key,
            client_id=client_id,
            defaults={
                "client_secret": secret,
                "redirect_uri": f"{public_url}/integrations/{key}/callback/",
                "webhook_url": webhook,
                # Linear signs its app webhook with a console secret; Notion's comes later,
                # from the verification handshake (notion.send_verification).
                **({"webhook_secret": linear_app_secret} if key == "linear" else {}),
            },
        )
        registered.append(client)
    verify_notion_webhook(registered[SERVICES.index("notion")])
    return registered


def notion_subscription() -> WebhookSubscription:
    """Notion's webhook is set up by hand on both sides: staff add a subscription with no
    connection in DayFlow's admin (webhooks/admin.py), whose URL is pasted into the integration's
    settings at Notion. This is that subscription, added once."""
    service = Service.objects.get(key="notion")
    live = WebhookSubscription.objects.filter(service=service, connection=None).exclude(
        status=WebhookSubscription.Status.REMOVED
    )
    return live.order_by("pk").first() or WebhookSubscription.objects.create(
        service=service, status=WebhookSubscription.Status.PENDING, resource="", events=[]
    )


def notion_webhook_url(public_url: str) -> str:
    return f"{public_url}/api/webhooks/notion/{notion_subscription().public_id}/"


def verify_notion_webhook(client: Client) -> None:
    """Notion posts a verification token to a webhook URL once it is added; DayFlow keeps it
    as the subscription's secret (webhooks/handshakes.py). Stored unsent: DayFlow may not
    answer yet (run.py starts it after this), so it goes with the first webhook sent after
    it, or beat's `sandbox.deliver_webhooks`, whichever is first; oldest first either way."""
    waiting = Delivery.objects.filter(service=notion.KEY, url=client.webhook_url, sent_at=None)
    if not notion_subscription().secret and not waiting.exists():
        notion.send_verification(client, send=False)
