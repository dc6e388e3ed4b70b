"""Webhooks the emulated services send: stored as a `Delivery`, then posted to the subscriber,
and posted again on each service's own retry schedule while the subscriber fails.

Deliveries go to this machine only (127.0.0.1, localhost): the sandbox never calls out.
Sending happens after the change commits, on a short-lived thread, unless
DAYFLOW_SANDBOX_SEND_WEBHOOKS is False (tests then call `deliver_pending` themselves); beat
(`sandbox.deliver_webhooks`) sends the retries that fall due and any delivery left behind.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F

from integrations.sandbox import store
from integrations.sandbox.models import Delivery

logger = logging.getLogger("integrations.sandbox")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Retries:
    """How a service retries a webhook its subscriber did not take (no answer in `timeout`
    seconds, or not a 2xx): the waits before each retry, in seconds. Each emulator declares
    its own, from the service's documentation (../shared/providers/facts.md)."""

    waits: tuple[int, ...] = ()
    timeout: float = 5.0


NONE = Retries()


def enqueue(
    service: str, url: str, body: bytes, headers: dict[str, str], retries: Retries = NONE
) -> Delivery | None:
    """Store one webhook for `url`, and send it once the change is committed."""
    if not url:
        return None
    delivery = Delivery.objects.create(
        service=service,
        url=url,
        body=body,
        headers=headers,
        next_attempt_at=store.now(),
        retry_in=list(retries.waits),
        timeout=retries.timeout,
    )
    if getattr(settings, "DAYFLOW_SANDBOX_SEND_WEBHOOKS", True):
        transaction.on_commit(_send_soon)
    return delivery


def _send_soon() -> None:
    threading.Thread(target=_send_in_thread, name="sandbox-webhooks", daemon=True).start()


def _send_in_thread() -> None:
    try:
        deliver_pending()
    finally:
        close_old_connections()


def deliver_pending() -> int:
    """Send every delivery whose attempt is due, oldest first; how many were sent. Each is
    claimed first, so two senders running at once never post the same attempt twice."""
    sent = 0
    due = Delivery.objects.filter(next_attempt_at__lte=store.now()).order_by("pk")
    for delivery in due:
        claimed = Delivery.objects.filter(
            pk=delivery.pk, next_attempt_at=delivery.next_attempt_at
        ).update(next_attempt_at=None, attempts=F("attempts") + 1, sent_at=store.now())
        if claimed:
            delivery.refresh_from_db()
            send(delivery)
            sent += 1
    return sent


def send(delivery: Delivery) -> None:
    """One attempt; on failure the next is scheduled while the service's retries last."""
    host = urlsplit(delivery.url).hostname or ""
    delivery.sent_at = delivery.sent_at or store.now()
    delivery.status, delivery.error = None, ""
    if host not in LOCAL_HOSTS:
        delivery.error = f"not sent: {host} is not this machine"
    else:
        try:
            response = requests.post(
                delivery.url,
                data=bytes(delivery.body),
                headers=delivery.headers,
                timeout=delivery.timeout,
            )
            delivery.status = response.status_code
        except requests.RequestException as exc:
            delivery.error = str(exc)[:500]
        if not taken(delivery):
            delivery.next_attempt_at = next_attempt(delivery)
    logger.info(
        "sandbox webhook %s -> %s: %s (attempt %s)",
        delivery.service,
        delivery.url,
        delivery.status or delivery.error,
        delivery.attempts,
    )
    delivery.save(update_fields=["sent_at", "status", "error", "next_attempt_at"])


def taken(delivery: Delivery) -> bool:
    return delivery.status is not None and 200 <= delivery.status < 300


def next_attempt(delivery: Delivery) -> dt.datetime | None:
    """When to try again after failed attempt number `attempts`; None once retries ran out."""
    retries_done = max(delivery.attempts - 1, 0)
    if retries_done >= len(delivery.retry_in):
        return None
    return store.now() + dt.timedelta(seconds=delivery.retry_in[retries_done])
