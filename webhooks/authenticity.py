"""A delivery's authenticity: the service's check (its `Inbound.verify`), given the secret the
delivery's URL stands for."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from integrations.providers.webhook_base import Inbound, Verification
from webhooks.models import WebhookSubscription


def verify(
    spec: Inbound, request: HttpRequest, body: bytes, payload: Any, sub: WebhookSubscription | None
) -> Verification:
    """Checked with the subscription's secret, or, at the service-wide URL, the app's one.

    Reading the secret decrypts it: a DecryptionError is the caller's to answer."""
    secret = sub.secret if sub else spec.provider.app_webhook_secret()
    return spec.verify(request.headers, body, payload, secret, sub.remote_id if sub else "")
