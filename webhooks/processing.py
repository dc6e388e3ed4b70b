"""What a verified delivery does: find its connection(s) and ask for an incremental sync.

`request_sync` coalesces: a burst of deliveries for one connection joins the job already
waiting, so 100 events cost one sync (plus at most one trailing sync while one runs).
"""

from __future__ import annotations

import json
import logging

from django.db.models import Q
from django.utils import timezone

from integrations.models import Connection
from integrations.providers import provider_class
from integrations.providers.hooks import INBOUND
from integrations.providers.webhook_base import Lifecycle
from sync.models import SyncJob
from sync.services import request_sync
from webhooks import subscriptions
from webhooks.models import Delivery, WebhookSubscription

logger = logging.getLogger(__name__)


def process(delivery: Delivery) -> str:
    """Handle one inbox row; returns (and stores) its new status. Safe to run twice."""
    spec = INBOUND.get(delivery.service.key)
    action = spec.lifecycle(delivery.event_type) if spec else Lifecycle.NONE
    if action and delivery.subscription is not None:
        _lifecycle(delivery.subscription, action)
    connections = connections_for(delivery)
    if not connections:
        return _finish(delivery, Delivery.Status.IGNORED, "no connection for this delivery")
    jobs = [request_sync(c.pk, trigger=SyncJob.Trigger.WEBHOOK) for c in connections]
    started = [job for job in jobs if job is not None]
    if not started:
        return _finish(delivery, Delivery.Status.IGNORED, "connection is not active")
    delivery.sync_job_id = started[0].pk
    return _finish(delivery, Delivery.Status.PROCESSED, "")


def connections_for(delivery: Delivery) -> list[Connection]:
    """The connection named by the subscription, else by the account id in the payload.

    An app-wide subscription (Notion, Todoist, Linear's app webhook) names the account
    (`workspace_id`, `user_id`, `organizationId`): every DayFlow connection to it is synced.
    """
    if delivery.connection_id:
        return [delivery.connection]
    sub = delivery.subscription
    if sub is not None and sub.connection_id:
        return [sub.connection]
    spec = INBOUND.get(delivery.service.key)
    try:
        account = spec.account_id(json.loads(delivery.body)) if spec else ""
    except ValueError:
        account = ""
    if not account:
        return []
    found = list(
        Connection.objects.filter(service_id=delivery.service_id)
        .filter(Q(external_account_id=account) | _by_account_resource(delivery, account))
        .distinct()
        .order_by("pk")
    )
    if found:
        delivery.connection = found[0]
    return found


def _by_account_resource(delivery: Delivery, account: str) -> Q:
    """Connections whose live subscription records the account (Linear's app webhook names
    the organization); nothing for services that declare no such resource prefix."""
    prefix = provider_class(delivery.service.key).webhook_account_prefix
    if not prefix:
        return Q(pk__in=[])
    return Q(
        webhook_subscriptions__resource=f"{prefix}{account}",
        webhook_subscriptions__status=WebhookSubscription.Status.ACTIVE,
    )


def _lifecycle(sub: WebhookSubscription, action: Lifecycle) -> None:
    """What a lifecycle notification asks of its subscription (Graph's): keep it alive."""
    if sub.status == WebhookSubscription.Status.REMOVED or sub.connection_id is None:
        return  # already replaced (a retried or replayed delivery): do not replace it twice
    if action == Lifecycle.RECREATE:
        subscriptions.recreate(sub)
    elif action == Lifecycle.RENEW:
        subscriptions.renew(sub)


def _finish(delivery: Delivery, status: str, note: str) -> str:
    if note:
        logger.info("webhooks: delivery %s %s: %s", delivery.pk, status, note)
    delivery.status = status
    delivery.error = note
    delivery.processed_at = timezone.now()
    delivery.save(
        update_fields=["status", "error", "processed_at", "sync_job_id", "connection", "attempts"]
    )
    return status
