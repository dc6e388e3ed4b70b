"""Setup handshakes: answered before any signature check, because the service has not (or
cannot have) signed them with a secret we already hold."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse

from audit.writer import record
from webhooks import verify
from webhooks.inbound import Inbound
from webhooks.models import WebhookSubscription


def answer(
    spec: Inbound, request: HttpRequest, payload: Any, sub: WebhookSubscription | None
) -> HttpResponse | None:
    """The handshake's response, or None when the delivery is not a handshake."""
    handler = HANDSHAKES.get(spec.key)
    return handler(spec, request, payload, sub) if handler else None


def _audit(request: HttpRequest, sub: WebhookSubscription, kind: str, ok: bool = True) -> None:
    record(
        "webhook.handshake",
        connection=sub.connection,
        resource=f"webhooks/{sub.service.key}/{sub.public_id}",
        details={"service": sub.service.key, "kind": kind},
        success=ok,
        request=request,
    )


def notion(spec: Inbound, request: HttpRequest, payload: Any, sub: Any) -> HttpResponse | None:
    """Notion posts `{"verification_token": …}` once; staff paste it back into Notion, and it
    becomes the signing key. https://developers.notion.com/reference/webhooks#step-2"""
    token = payload.get("verification_token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token:
        return None
    if sub.secret and not hmac.compare_digest(sub.secret.encode(), token.encode()):
        # A second, different token would silently re-key a working subscription: staff
        # clear the stored token in the admin first if Notion really issued a new one.
        _audit(request, sub, "notion_verification_token_conflict", ok=False)
        return HttpResponse(status=409)
    if not sub.secret:
        sub.secret = token
        sub.status = WebhookSubscription.Status.ACTIVE
        sub.save(update_fields=["secret", "status", "updated_at"])
        _audit(request, sub, "notion_verification_token")
    return HttpResponse(status=200)


def outlook(spec: Inbound, request: HttpRequest, payload: Any, sub: Any) -> HttpResponse | None:
    """Graph validates a notification URL by posting `?validationToken=…`: echo it, decoded,
    as text/plain within 10 seconds.
    https://learn.microsoft.com/graph/change-notifications-delivery-webhooks#notificationurl-validation
    """
    token = request.GET.get("validationToken")
    if token is None:
        return None
    _audit(request, sub, "graph_validation")
    return HttpResponse(token, content_type="text/plain; charset=utf-8", status=200)


def google(spec: Inbound, request: HttpRequest, payload: Any, sub: Any) -> HttpResponse | None:
    """The first message on a new channel has resource state `sync`: nothing changed yet."""
    if verify.header(request.headers, "X-Goog-Resource-State") != "sync":
        return None
    if not spec.verify(request.headers, b"", payload, sub).ok:
        return None  # the signature guard rejects it
    if sub.status == WebhookSubscription.Status.PENDING:
        sub.status = WebhookSubscription.Status.ACTIVE
        sub.save(update_fields=["status", "updated_at"])
    _audit(request, sub, "google_channel_sync")
    return HttpResponse(status=200)


HANDSHAKES: Mapping[str, Any] = {"notion": notion, "outlook": outlook, "google-calendar": google}
