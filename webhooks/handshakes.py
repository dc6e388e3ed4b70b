"""Setup handshakes: answered before any signature check, because the service has not (or
cannot have) signed them with a secret we already hold. The service's `Inbound.handshake` says
what the message is; this module answers it, updates the subscription and audits."""

from __future__ import annotations

import hmac
from typing import Any

from django.http import HttpRequest, HttpResponse

from audit.writer import record
from integrations.providers.webhook_base import Handshake, Inbound
from webhooks import authenticity
from webhooks.models import WebhookSubscription

Status = WebhookSubscription.Status


def answer(
    spec: Inbound, request: HttpRequest, body: bytes, payload: Any, sub: WebhookSubscription
) -> HttpResponse | None:
    """The handshake's response, or None when the delivery is not a handshake."""
    handshake = spec.handshake(request.GET, request.headers, payload)
    if handshake is None:
        return None
    if handshake.offered_secret:
        return _offered_secret(handshake, request, sub)
    if handshake.signed:
        if not authenticity.verify(spec, request, body, payload, sub).ok:
            return None  # the signature guard rejects it
        _activate(sub)
    _audit(request, sub, handshake.kind)
    if handshake.echo is not None:
        return HttpResponse(handshake.echo, content_type="text/plain; charset=utf-8", status=200)
    return HttpResponse(status=200)


def _offered_secret(
    handshake: Handshake, request: HttpRequest, sub: WebhookSubscription
) -> HttpResponse:
    offered = handshake.offered_secret
    if sub.secret and not hmac.compare_digest(sub.secret.encode(), offered.encode()):
        # A second, different secret would silently re-key a working subscription: staff
        # clear the stored one in the admin first if the service really issued a new one.
        _audit(request, sub, f"{handshake.kind}_conflict", ok=False)
        return HttpResponse(status=409)
    if not sub.secret:
        sub.secret = offered
        sub.status = Status.ACTIVE
        sub.save(update_fields=["secret", "status", "updated_at"])
        _audit(request, sub, handshake.kind)
    return HttpResponse(status=200)


def _activate(sub: WebhookSubscription) -> None:
    if sub.status == Status.PENDING:
        sub.status = Status.ACTIVE
        sub.save(update_fields=["status", "updated_at"])


def _audit(request: HttpRequest, sub: WebhookSubscription, kind: str, ok: bool = True) -> None:
    record(
        "webhook.handshake",
        connection=sub.connection,
        resource=f"webhooks/{sub.service.key}/{sub.public_id}",
        details={"service": sub.service.key, "kind": kind},
        success=ok,
        request=request,
    )
