"""Subscription lifecycle: register where the service has an API for it, renew before expiry,
recreate what the service dropped, remove on disconnect.

What each service's API wants is its registrar (`integrations/providers/<key>/webhook.py`,
found through `REGISTRARS`); it works on plain values (`Registration`) through the provider,
so the one HTTP client's retries and typed errors apply. Services whose webhooks are set up in
their developer consoles have none (see README).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from audit.writer import record
from dayflow import backoff
from integrations import service_urls
from integrations.clients import provider_for
from integrations.models import Connection
from integrations.providers import provider_class
from integrations.providers.base import Provider
from integrations.providers.errors import NotFound, ProviderError
from integrations.providers.hooks import REGISTRARS
from integrations.providers.webhook_base import Registrar, Registration
from webhooks import conf
from webhooks.models import WebhookSubscription

logger = logging.getLogger(__name__)

Status = WebhookSubscription.Status


def new_secret() -> str:
    # Graph caps clientState at 128 characters; 43 is plenty of entropy for every service.
    return secrets.token_urlsafe(32)


def endpoint_url(sub: WebhookSubscription) -> str:
    return f"{settings.PUBLIC_URL}/api/webhooks/{sub.service.key}/{sub.public_id}/"


def _registration(sub: WebhookSubscription, secret: str = "") -> Registration:
    """`sub`'s plain values for its registrar. The secret is passed (and so decrypted) only to
    `create`, the one call that sends it: a row whose secret no configured key can read can
    still be renewed and removed."""
    return Registration(
        resource=sub.resource,
        url=endpoint_url(sub),
        secret=secret,
        remote_id=sub.remote_id,
        resource_id=sub.resource_id,
        expires_at=sub.expires_at,
    )


def _register(registrar: Registrar, provider: Provider, sub: WebhookSubscription) -> None:
    """`create` at the service, and what it chose kept on `sub`, even when the call failed
    (Google's channel id is ours before the call, so a failed row remembers it)."""
    registration = _registration(sub, secret=sub.secret)
    try:
        registrar.create(provider, registration)
    finally:
        sub.remote_id, sub.secret = registration.remote_id, registration.secret
        sub.resource_id, sub.expires_at = registration.resource_id, registration.expires_at


def wants_push(connection: Connection) -> bool:
    """Registered only for connections that sync on their own, and only when the service can
    reach us."""
    key = connection.service.key
    return key in REGISTRARS and connection.is_scheduled and can_notify(key)


def can_notify(key: str) -> bool:
    """Every real service refuses a non-HTTPS notification URL; a sandboxed one is an emulator
    on this machine, which posts to 127.0.0.1 over plain http (integrations/sandbox/outbox.py)."""
    return settings.PUBLIC_URL.startswith("https://") or service_urls.sandboxed(key)


def reconcile(connection: Connection) -> list[WebhookSubscription]:
    """Bring a connection's subscriptions in line with its settings: create the missing ones,
    retry failed ones at once, remove the ones no longer wanted. Returns those (re)tried.

    Runs on connect, on resume and when the connection's settings change.
    """
    registrar = REGISTRARS.get(connection.service.key)
    if registrar is None or not connection.is_active:
        return []  # a paused connection keeps its subscriptions; disconnect removes them
    current = list(connection.webhook_subscriptions.exclude(status=Status.REMOVED))
    if not wants_push(connection):
        remove_all(connection)  # switched to manual or auto-sync off: polling only
        return []
    provider = provider_for(connection)
    try:
        wanted = registrar.resources(provider)
    except ProviderError as exc:
        logger.warning("webhooks: cannot tell what to watch for %s: %s", connection, exc)
        return []
    kept: dict[str, WebhookSubscription] = {}
    for sub in current:
        if sub.resource in wanted:
            kept.setdefault(sub.resource, sub)
        else:
            _remove(registrar, provider, sub)
    tried = []
    for resource in wanted:
        sub = kept.get(resource)
        if sub is None:
            tried.append(_create(registrar, provider, resource))
        elif sub.status == Status.FAILED:
            tried.append(_attempt(registrar, provider, sub))
    return tried


register = reconcile


def _create(registrar: Registrar, provider: Provider, resource: str) -> WebhookSubscription:
    # Saved before the call: Graph validates the notification URL during its create request.
    connection = provider.connection
    sub = WebhookSubscription.objects.create(
        service=connection.service,
        connection=connection,
        resource=resource,
        secret=new_secret(),
        events=list(registrar.events),
    )
    return _attempt(registrar, provider, sub)


def _attempt(
    registrar: Registrar, provider: Provider, sub: WebhookSubscription
) -> WebhookSubscription:
    """Register `sub` at the service; on failure it is FAILED and retried later by beat."""
    try:
        _register(registrar, provider, sub)
    except ProviderError as exc:
        return _failed(sub, "webhook.subscription.create", exc, status=Status.FAILED)
    _succeeded(sub)
    sub.save()
    _audit("webhook.subscription.created", sub)
    return sub


def renew(sub: WebhookSubscription) -> WebhookSubscription:
    """Extend a subscription where the service can, else replace it (its `renewal`)."""
    registrar = REGISTRARS[sub.service.key]
    if registrar.renewal != "extend":
        return recreate(sub)
    registration = _registration(sub)
    try:
        registrar.renew(provider_for(sub.connection), registration)
    except NotFound:
        return recreate(sub)  # the service dropped it meanwhile
    except ProviderError as exc:
        expired = sub.expires_at is not None and sub.expires_at <= timezone.now()
        return _failed(sub, "webhook.subscription.renew", exc, Status.EXPIRED if expired else None)
    sub.expires_at = registration.expires_at
    _succeeded(sub)
    sub.save(
        update_fields=["expires_at", "status", "last_error", "failures", "retry_at", "updated_at"]
    )
    _audit("webhook.subscription.renewed", sub, expires_at=sub.expires_at.isoformat())
    return sub


def recreate(sub: WebhookSubscription) -> WebhookSubscription:
    """A new subscription for the same resource, then the old one removed.

    When the new one cannot be made, it is dropped and the old row carries the failure and
    its backoff: one row per resource is retried, however often beat runs.
    """
    registrar = REGISTRARS[sub.service.key]
    provider = provider_for(sub.connection)
    fresh = _create(registrar, provider, sub.resource)
    if fresh.status != Status.ACTIVE:
        error = fresh.last_error
        fresh.delete()
        _defer(sub, error)
        sub.save(update_fields=["last_error", "failures", "retry_at", "updated_at"])
        return sub
    _remove(registrar, provider, sub)
    return fresh


def remove_all(connection: Connection, *, remote: bool = True) -> int:
    """Unsubscribe a connection everywhere (called while its token still works)."""
    subs = list(connection.webhook_subscriptions.exclude(status=Status.REMOVED))
    registrar = REGISTRARS.get(connection.service.key)
    provider = provider_for(connection) if remote and registrar and subs else None
    for sub in subs:
        _remove(registrar, provider, sub)
    return len(subs)


def _remove(
    registrar: Registrar | None, provider: Provider | None, sub: WebhookSubscription
) -> None:
    if registrar is not None and provider is not None and sub.remote_id:
        try:
            registrar.remove(provider, _registration(sub))
        except NotFound:
            pass  # already gone at the service: that is what we wanted
        except ProviderError as exc:
            # Removal is best effort: a dangling subscription fails our guards (404/401).
            logger.warning("webhooks: could not remove %r: %s", sub, exc)
            sub.last_error = str(exc)[:2000]
    sub.status = Status.REMOVED
    sub.save(update_fields=["status", "last_error", "updated_at"])
    _audit("webhook.subscription.removed", sub)


def _failed(
    sub: WebhookSubscription, action: str, exc: Exception, status: str | None
) -> WebhookSubscription:
    logger.warning("webhooks: %s failed for %r: %s", action, sub, exc)
    _defer(sub, f"{type(exc).__name__}: {exc}")
    if status:
        sub.status = status
    sub.save()
    _audit(action, sub, success=False, error=sub.last_error, retry_at=sub.retry_at.isoformat())
    return sub


def _defer(sub: WebhookSubscription, error: str) -> None:
    """Count a failure and push the next attempt back exponentially."""
    sub.last_error = error[:2000]
    sub.failures += 1
    delay = backoff.exponential(
        sub.failures,
        base=conf.get("WEBHOOKS_RETRY_BASE_SECONDS"),
        cap=conf.get("WEBHOOKS_RETRY_MAX_SECONDS"),
    )
    sub.retry_at = timezone.now() + dt.timedelta(seconds=delay)


def _succeeded(sub: WebhookSubscription) -> None:
    sub.status, sub.last_error, sub.failures, sub.retry_at = Status.ACTIVE, "", 0, None


def _audit(action: str, sub: WebhookSubscription, success: bool = True, **details: Any) -> None:
    record(
        action,
        connection=sub.connection,
        resource=f"webhooks/{sub.service.key}/{sub.public_id}",
        details={"service": sub.service.key, "resource": sub.resource, **details},
        success=success,
    )


def maintain(now: dt.datetime | None = None) -> dict[str, int]:
    """The beat task's work: renew what expires soon, recreate what lapsed or was suspended,
    retry registrations that failed, each once its backoff has passed."""
    now = now or timezone.now()
    margin = dt.timedelta(seconds=conf.get("WEBHOOKS_RENEW_MARGIN_SECONDS"))
    live = WebhookSubscription.objects.select_related("service", "connection__service").filter(
        connection__status=Connection.Status.CONNECTED,
        service__key__in=list(REGISTRARS),
    )
    due = live.filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
    counts = {"renewed": 0, "recreated": 0, "retried": 0, "adopted": 0, "checked": 0}
    for sub in due.filter(status=Status.ACTIVE, expires_at__lte=now + margin):
        renew(sub)
        counts["renewed"] += 1
    for sub in due.filter(Q(status=Status.SUSPENDED) | Q(status=Status.EXPIRED)):
        recreate(sub)
        counts["recreated"] += 1
    for sub in due.filter(status=Status.FAILED):
        _attempt(REGISTRARS[sub.service.key], provider_for(sub.connection), sub)
        counts["retried"] += 1
    for connection in _unsubscribed():
        counts["adopted"] += len(reconcile(connection))
    reporting = [key for key, registrar in REGISTRARS.items() if registrar.reports_health]
    for sub in live.filter(status=Status.ACTIVE, service__key__in=reporting):
        counts["checked"] += 1
        counts["recreated"] += _check_health(sub)
    return counts


def _unsubscribed() -> list[Connection]:
    """Connections that want push but hold no subscription at all: working out what to watch
    failed (ClickUp's GET /team, Linear's organization query), so no row was left to retry."""
    reachable = [key for key in REGISTRARS if can_notify(key)]
    if not reachable:
        return []
    return list(
        Connection.objects.select_related("service")
        .filter(
            status=Connection.Status.CONNECTED,
            auto_sync=True,
            service__key__in=reachable,
        )
        .exclude(sync_direction="manual")
        .exclude(webhook_subscriptions__status__in=[s for s in Status if s != Status.REMOVED])
    )


def _check_health(sub: WebhookSubscription) -> int:
    """Recreate a subscription the service reports as not working (ClickUp suspends one
    after repeated failures); 1 when it was recreated."""
    registrar = REGISTRARS[sub.service.key]
    try:
        health = registrar.health(provider_for(sub.connection), _registration(sub))
    except ProviderError as exc:
        logger.warning("webhooks: %s health check failed for %r: %s", sub.service.key, sub, exc)
        return 0
    if not health:
        return 0
    sub.status = Status.SUSPENDED
    sub.save(update_fields=["status", "updated_at"])
    _audit("webhook.subscription.suspended", sub, success=False, health=health)
    recreate(sub)
    return 1


def delivery_mode(connection: Connection, active: list[WebhookSubscription] | None = None) -> str:
    """'push' while every resource the connection wants watched has a live subscription,
    otherwise 'polling' (its schedule). `active` (from `active_subscriptions`) lets a page of
    many connections read the subscriptions once instead of once each."""
    if not connection.is_active:
        return "polling"
    provider = provider_class(connection.service.key)
    if provider.webhook_signed_with_client_secret:
        # One app-wide webhook from the service's console: no subscription rows to look at.
        return "push" if provider.client_secret() else "polling"
    live = _live_resources(connection, provider, active)
    registrar = REGISTRARS.get(connection.service.key)
    wanted = registrar.wanted(provider_for(connection)) if registrar else None
    if wanted is None:
        # Set up in the service's console, or only the service can say what is watched
        # (ClickUp without a team_id).
        return "push" if live else "polling"
    return "push" if wanted and set(wanted) <= live else "polling"


def active_subscriptions(connections: list[Connection]) -> list[WebhookSubscription]:
    """The live subscriptions any of `connections` may use, in one query."""
    services = {connection.service_id for connection in connections}
    return list(
        WebhookSubscription.objects.filter(status=Status.ACTIVE, service__in=services).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )
    )


def _live_resources(
    connection: Connection,
    provider: type[Provider],
    active: list[WebhookSubscription] | None = None,
) -> set[str]:
    # Staff add a console-made subscription in the admin, for no connection: it reaches
    # every connection to the workspace its deliveries name.
    console = provider.webhook_registration == "console"
    if active is None:
        active = list(
            WebhookSubscription.objects.filter(status=Status.ACTIVE, service=connection.service)
            .filter(Q(connection=connection) | Q(connection__isnull=True))
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        )
    now = timezone.now()
    live = {
        sub.resource
        for sub in active
        if sub.service_id == connection.service_id
        and sub.status == Status.ACTIVE
        and (sub.connection_id == connection.pk or (console and sub.connection_id is None))
        and (sub.expires_at is None or sub.expires_at > now)
    }
    prefix = provider.webhook_account_prefix
    if prefix and not provider.app_webhook_secret():
        # Without the app secret, the app webhook's deliveries cannot be verified.
        live = {r for r in live if not r.startswith(prefix)}
    return live
