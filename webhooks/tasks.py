"""Celery tasks of the webhooks app. Tasks take ids, re-fetch, and return quietly when the row
is gone or already handled."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from dayflow.backoff import delay, spread_jitter
from integrations.models import Connection
from integrations.providers.errors import Permanent
from webhooks import conf
from webhooks.models import Delivery
from webhooks.processing import process
from webhooks.subscriptions import maintain, register

logger = logging.getLogger(__name__)
# Longer than any registration takes (a few HTTP calls, each with the client's timeouts).
RECONCILE_LOCK_SECONDS = 600


def backoff(retries: int) -> float:
    """Exponential, capped at an hour, with jitter so retried bursts spread out."""
    return delay(retries + 1, base=30, cap=3600, jitter=spread_jitter())


@shared_task(name="webhooks.process_delivery", bind=True, acks_late=True)
def process_delivery(self, delivery_pk: int) -> str:
    """Process one inbox row: trigger a (coalesced) incremental sync of its connection."""
    delivery = (
        Delivery.objects.select_related("service", "subscription__connection", "connection")
        .filter(pk=delivery_pk)
        .first()
    )
    if delivery is None or delivery.status != Delivery.Status.RECEIVED:
        return "gone" if delivery is None else delivery.status
    delivery.attempts += 1
    try:
        return process(delivery)
    except Exception as exc:
        retries = self.request.retries or 0
        last = retries >= conf.get("WEBHOOKS_PROCESS_MAX_RETRIES")
        # A permanent provider error will fail the same way again: no retry.
        if last or isinstance(exc, Permanent):
            return _failed(delivery, exc)
        logger.warning("webhooks: delivery %s failed (%s), retrying", delivery_pk, exc)
        Delivery.objects.filter(pk=delivery_pk).update(attempts=delivery.attempts, error=str(exc))
        raise self.retry(exc=exc, countdown=backoff(retries)) from exc


def _failed(delivery: Delivery, exc: Exception) -> str:
    logger.error("webhooks: delivery %s failed for good: %s", delivery.pk, exc)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.FAILED,
        error=f"{type(exc).__name__}: {exc}"[:2000],
        attempts=delivery.attempts,
        processed_at=timezone.now(),
    )
    return Delivery.Status.FAILED


@shared_task(name="webhooks.requeue_stale_deliveries")
def requeue_stale_deliveries() -> int:
    """Deliveries stored but never picked up (broker down at the time): send them again."""
    cutoff = timezone.now() - dt.timedelta(seconds=conf.get("WEBHOOKS_STALE_SECONDS"))
    stale = Delivery.objects.filter(
        status=Delivery.Status.RECEIVED, received_at__lt=cutoff, attempts=0
    ).values_list("pk", flat=True)[:1000]
    for pk in stale:
        process_delivery.delay(pk)
    return len(stale)


@shared_task(name="webhooks.renew_subscriptions")
def renew_subscriptions() -> dict[str, int]:
    """Renew subscriptions before they expire and recreate ones the service dropped."""
    return maintain()


@shared_task(name="webhooks.register_subscriptions", bind=True, max_retries=20)
def register_subscriptions(self, connection_pk: int) -> int:
    """Bring a connection's subscriptions at its service (ClickUp, Linear, Google, Graph) in
    line with its settings: on connect, on resume and after a settings change."""
    # One at a time per connection (a reconnect also saves new settings): two at once would
    # both see a resource unwatched and subscribe it twice. Not a DB lock: Graph calls us back
    # during its create request and must see the new row.
    key = f"webhooks:reconcile:{connection_pk}"
    if not cache.add(key, 1, timeout=RECONCILE_LOCK_SECONDS):
        raise self.retry(countdown=30)
    try:
        connection = Connection.objects.select_related("service").filter(pk=connection_pk).first()
        return len(register(connection)) if connection is not None else 0
    finally:
        cache.delete(key)
