"""DayFlow's registration at each emulated service: what a developer enters in each service's
console (client id and secret, the redirect URI, the app-wide webhook URL and its secret)."""

from __future__ import annotations

import hashlib

from django.conf import settings

from integrations.sandbox.models import Client

SERVICES = ("todoist", "google-calendar", "notion", "linear", "clickup", "outlook")
# Services whose webhook is set once for the whole app (the others subscribe through the API).
APP_WEBHOOKS = ("todoist", "notion", "linear")


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
    return registered
