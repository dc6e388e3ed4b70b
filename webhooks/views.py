"""The webhook receiver: guards in a fixed order, the delivery stored once, 2xx at once.

known service/subscription (404) → size (413) → JSON body, nesting bounded (400) → handshake,
at most DAYFLOW_WEBHOOK_HANDSHAKES_PER_IP per IP and window (429) → authenticity (401; 400 for a
signed but unreadable timestamp; 429 once an IP has failed DAYFLOW_WEBHOOK_SIGNATURE_FAILURES_PER_IP
times in the window) → handled event? (else 2xx and a log line) → inbox, deduplicated on what the
signature covers → 2xx → Celery.

A valid signature is never throttled, whatever its IP sent before: the limits count handshakes
and failures only (dayflow/limits.py), and authenticity is checked before the failure limit.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from audit.capped import record_capped
from audit.writer import client_ip
from dayflow import limits, safe_json
from integrations.crypto import DecryptionError
from integrations.providers import provider_class
from integrations.providers.hooks import INBOUND
from integrations.providers.webhook_base import Inbound, Reason, Verification
from webhooks import authenticity, conf, handshakes, inbox, lookup
from webhooks.enqueue import enqueue
from webhooks.models import Delivery, WebhookSubscription

logger = logging.getLogger(__name__)


class Rejected(Exception):
    def __init__(self, status: int, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


@csrf_exempt
@require_POST
def receive(request: HttpRequest, service: str, public_id: str | None = None) -> HttpResponse:
    """POST /api/webhooks/<service>/[<subscription id>/]"""
    spec = INBOUND.get(service)
    sub = None
    try:
        spec, sub, service_id = _known(spec, service, public_id)
        body = _body(request)
        payload = _payload(spec, request, body)
        if spec.handshake(request.GET, request.headers, payload) is not None:
            _limit(request, "webhook-handshakes", "HANDSHAKES", "too_many_handshakes")
        if response := handshakes.answer(spec, request, body, payload, sub):
            return response
        _authentic(authenticity.verify(spec, request, body, payload, sub), request, service)
    except Rejected as rejected:
        _audit_rejection(request, service, sub, rejected)
        response = HttpResponse(status=rejected.status)
        if rejected.retry_after is not None:
            response.headers["Retry-After"] = str(rejected.retry_after)
        return response
    except DecryptionError:
        # The subscription's secret was written under a key DAYFLOW_ENCRYPTION_KEYS no longer
        # holds: the operator's to fix. 503, so the service retries once the key is back.
        logger.error("webhooks: %s subscription secret cannot be decrypted", service[:40])
        _audit_rejection(request, service, sub, Rejected(503, "secret_unreadable"))
        return HttpResponse("cannot verify: secret unreadable with the configured keys", status=503)
    if sub is not None and sub.status == WebhookSubscription.Status.REMOVED:
        return _removed(service, sub)
    event_type = spec.event_type(request.headers, payload)
    if not spec.handles(event_type):
        logger.info("webhooks: %s event %r acknowledged, not handled", service, event_type)
        return HttpResponse(status=200)
    delivery = _store(spec, request, body, payload, sub, service_id, event_type)
    if delivery is not None:
        _enqueue(delivery.pk)
    return HttpResponse(status=200)


def _known(
    spec: Inbound | None, key: str, public_id: str | None
) -> tuple[Inbound, WebhookSubscription | None, int]:
    if spec is None or not _routable(spec, public_id):
        raise Rejected(404, "unknown_service")
    if public_id is None:
        service_id = lookup.service_id(key)
        if service_id is None:
            raise Rejected(404, "unknown_service")
        return spec, None, service_id
    sub = lookup.subscription(key, public_id)
    if sub is None:
        raise Rejected(404, "unknown_subscription")
    return spec, sub, sub.service_id


def _routable(spec: Inbound, public_id: str | None) -> bool:
    if public_id is None:
        return not spec.per_subscription or spec.app_wide_too
    return spec.per_subscription


def _body(request: HttpRequest) -> bytes:
    limit = conf.get("WEBHOOKS_MAX_BODY_BYTES")
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Rejected(400, "bad_content_length") from None
    if announced > limit:
        raise Rejected(413, "body_too_large")
    body = request.body
    if len(body) > limit:
        raise Rejected(413, "body_too_large")
    return body


def _payload(spec: Inbound, request: HttpRequest, body: bytes) -> Any:
    if not spec.expects_json(request.GET):
        return {}
    if not body:
        raise Rejected(400, "empty_body")
    try:
        payload = safe_json.loads(body)
    except safe_json.UnsafeJSON as refused:
        raise Rejected(400, refused.reason) from None
    if not isinstance(payload, dict):
        raise Rejected(400, "not_json_object")
    return payload


def _authentic(verdict: Verification, request: HttpRequest, service: str) -> None:
    if verdict.ok:
        return
    if verdict.reason == Reason.BAD_TIMESTAMP:
        raise Rejected(400, str(verdict.reason))  # signed: the sender's bug, not a forgery
    # Audited as a 401 rejection; repeated ones raise an alert (security.rules).
    _limit(request, "webhook-signature-failures", "SIGNATURE_FAILURES", "too_many_failures")
    raise Rejected(401, str(verdict.reason))


def _limit(request: HttpRequest, name: str, setting: str, reason: str) -> None:
    """Count one handshake or signature failure of this client IP: 429 past the limit."""
    verdict = limits.hit(
        name,
        client_ip(request) or "unknown",
        limits.get(f"DAYFLOW_WEBHOOK_{setting}_PER_IP"),
        limits.get(f"DAYFLOW_WEBHOOK_{setting}_WINDOW_SECONDS"),
    )
    if not verdict.allowed:
        raise Rejected(429, reason, retry_after=verdict.retry_after)


def _removed(service: str, sub: WebhookSubscription) -> HttpResponse:
    """A late or retried delivery for a subscription we removed (disconnect, replacement):
    acknowledged, not stored, with the status the provider declares (ClickUp: 410)."""
    logger.info("webhooks: %s delivery for removed %s acknowledged", service, sub.public_id)
    return HttpResponse(status=provider_class(service).webhook_removed_status)


def _per_ip(request: HttpRequest, counter: str) -> tuple[str, int]:
    """This client IP's count for `counter` within the window, this request included."""
    ip = client_ip(request) or "unknown"
    key = f"webhooks:{counter}:{ip}"
    window = conf.get("WEBHOOKS_ALERT_WINDOW_SECONDS")
    cache.add(key, 0, timeout=window)
    try:
        return ip, cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return ip, 1


def _audit_rejection(
    request: HttpRequest, service: str, sub: WebhookSubscription | None, rejected: Rejected
) -> None:
    """Every rejection gets a log line. Signature failures and 429s get an audit row, capped
    per IP and window (audit/capped.py: a count row says how many more were dropped);
    unauthenticated probes (404/413/400) at most WEBHOOKS_REJECTION_AUDITS_PER_IP rows."""
    logger.info("webhooks: %s rejected %s (%s)", service[:40], rejected.status, rejected.reason)
    if rejected.status not in (401, 429):
        _, count = _per_ip(request, "rejections")
        if count > conf.get("WEBHOOKS_REJECTION_AUDITS_PER_IP"):
            return
    record_capped(
        "webhook.rejected",
        connection=sub.connection if sub else None,
        resource=f"webhooks/{service}" + (f"/{sub.public_id}" if sub else ""),
        details={"service": service[:40], "reason": rejected.reason, "status": rejected.status},
        success=False,
        request=request,
    )


def _store(
    spec: Inbound,
    request: HttpRequest,
    body: bytes,
    payload: Any,
    sub: WebhookSubscription | None,
    service_id: int,
    event_type: str,
) -> Delivery | None:
    """The new inbox row, or None when this delivery is already in the inbox."""
    delivery = Delivery(
        service_id=service_id,
        subscription=sub,
        connection_id=sub.connection_id if sub else None,
        delivery_id=spec.delivery_id(request.headers, payload, body, _scope(spec, sub))[:255],
        event_type=event_type[:100],
        headers=_stored_headers(request.headers),
        body=spec.stored_body(body, payload),
    )
    if not inbox.insert_once(delivery):
        logger.info(
            "webhooks: duplicate %s delivery %s acknowledged", spec.key, delivery.delivery_id
        )
        return None
    return delivery


def _scope(spec: Inbound, sub: WebhookSubscription | None) -> str:
    return sub.public_id if sub else spec.key


@functools.cache
def _secret_headers() -> frozenset[str]:
    """Headers never stored in the inbox: they carry signatures, tokens or session data."""
    signatures = {name.lower() for spec in INBOUND.values() for name in spec.signature_headers}
    return frozenset({"authorization", "cookie", *signatures})


def _stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The delivery's headers as kept in the inbox, secrets left out."""
    left_out = _secret_headers() | {"content-length", "host"}
    return {name: value for name, value in headers.items() if name.lower() not in left_out}


def _enqueue(delivery_pk: int) -> None:
    try:
        enqueue(delivery_pk)
    except Exception:
        # The row is stored: the sweep task picks it up, so the sender still gets its 2xx.
        logger.exception("webhooks: could not enqueue delivery %s", delivery_pk)
