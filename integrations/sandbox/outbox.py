"""Webhooks the emulated services send: stored as a `Delivery`, then posted to the subscriber.

Deliveries go to this machine only (127.0.0.1, localhost): the sandbox never calls out.
Sending happens after the change commits, on a short-lived thread, unless
DAYFLOW_SANDBOX_SEND_WEBHOOKS is False (tests then call `deliver_pending` themselves).
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import close_old_connections, transaction

from integrations.sandbox import store
from integrations.sandbox.models import Delivery

logger = logging.getLogger("integrations.sandbox")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TIMEOUT = 5.0


def enqueue(
    service: str, url: str, body: bytes, headers: dict[str, str], *, send: bool = True
) -> Delivery | None:
    """Store one webhook for `url`, and send it once the change is committed. `send=False`
    leaves it for the next sender (a change's thread or beat's `sandbox.deliver_webhooks`),
    for a webhook stored before the app answers, as `manage.py sandbox_clients` does."""
    if not url:
        return None
    delivery = Delivery.objects.create(service=service, url=url, body=body, headers=headers)
    if send and getattr(settings, "DAYFLOW_SANDBOX_SEND_WEBHOOKS", True):
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
    """Send every stored delivery not sent yet, oldest first; how many were sent. Each is
    claimed first, so two senders running at once never post the same one twice."""
    sent = 0
    for delivery in Delivery.objects.filter(sent_at=None).order_by("pk"):
        claimed = Delivery.objects.filter(pk=delivery.pk, sent_at=None).update(sent_at=store.now())
        if claimed:
            send(delivery)
            sent += 1
    return sent


def send(delivery: Delivery) -> None:
    host = urlsplit(delivery.url).hostname or ""
    delivery.sent_at = delivery.sent_at or store.now()
    if host not in LOCAL_HOSTS:
        delivery.error = f"not sent: {host} is not this machine"
    else:
        try:
            response = requests.post(
                delivery.url, data=bytes(delivery.body), headers=delivery.headers, timeout=TIMEOUT
            )
            delivery.status = response.status_code
        except requests.RequestException as exc:
            delivery.error = str(exc)[:500]
    logger.info("sandbox webhook %s -> %s: %s", delivery.service, delivery.url, delivery.status)
    delivery.save(update_fields=["sent_at", "status", "error"])
