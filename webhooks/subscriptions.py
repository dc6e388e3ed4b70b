"""Subscription lifecycle: register where the service has an API for it, renew before expiry,
recreate what the service dropped, remove on disconnect.

Notion and Todoist webhooks are set up in the services' developer consoles (see README);
ClickUp, Linear, Google Calendar and Microsoft Graph are registered here, through the one HTTP
client (`integrations.providers.http`), so they get its retries and typed errors.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import uuid
from typing import Any, ClassVar
from urllib.parse import quote

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from audit.writer import record
from dayflow import backoff
from integrations.clients import client_for
from integrations.models import UserIntegration
from integrations.providers import provider_class
from integrations.providers.base import Provider
from integrations.providers.errors import NotFound, ProviderError
from integrations.providers.http import HttpClient
from webhooks import conf
from webhooks.models import WebhookSubscription

logger = logging.getLogger(__name__)

Status = WebhookSubscription.Status


def has_scope(connection: UserIntegration, scope: str) -> bool:
    """Whether the stored grant includes `scope` (kept as the token response gave it)."""
    credential = getattr(connection, "credential", None)
    granted = re.split(r"[\s,]+", credential.scopes) if credential and credential.scopes else []
    return scope in granted


def new_secret() -> str:
    # Graph caps clientState at 128 characters; 43 is plenty of entropy for every service.
    return secrets.token_urlsafe(32)


def endpoint_url(sub: WebhookSubscription) -> str:
    return f"{settings.PUBLIC_URL}/api/webhooks/{sub.service.key}/{sub.public_id}/"


class Registrar:
    """How one service's subscriptions are created, renewed and removed through its API."""

    key: ClassVar[str]
    events: ClassVar[tuple[str, ...]] = ()
    expires: ClassVar[bool] = False

    def wanted(self, connection: UserIntegration) -> list[str] | None:
        """What to watch according to the connection's settings, one subscription per
        resource; None when only the service can say (see `resources`)."""
        return [connection.external_account_id]

    def resources(self, client: HttpClient, connection: UserIntegration) -> list[str]:
        """What to watch, asking the service where the settings do not say."""
        return self.wanted(connection) or []

    def create(self, client: HttpClient, sub: WebhookSubscription) -> None:
        raise NotImplementedError

    def renew(self, client: HttpClient, sub: WebhookSubscription) -> None:
        raise NotImplementedError

    def remove(self, client: HttpClient, sub: WebhookSubscription) -> None:
        raise NotImplementedError

    @property
    def provider(self) -> type[Provider]:
        return provider_class(self.key)

    @property
    def api(self) -> str:
        return self.provider.api_base


class ClickUpRegistrar(Registrar):
    """https://developer.clickup.com/reference/createwebhook"""

    key = "clickup"
    events = ("taskCreated", "taskUpdated", "taskDeleted", "taskStatusUpdated", "taskMoved")

    def wanted(self, connection):
        team = connection.field_mapping.get("team_id")
        return [str(team)] if team else None

    def resources(self, client, connection):
        """Webhooks live on a workspace ("team"), while the connection's account id is the
        ClickUp *user*: without a team_id setting, ask which workspaces the user authorized.
        https://developer.clickup.com/reference/getauthorizedteams"""
        if (wanted := self.wanted(connection)) is not None:
            return wanted
        reply = client.request_json("GET", f"{self.api}/team")
        teams = [str(t["id"]) for t in reply.get("teams") or [] if t.get("id")]
        if len(teams) == 1:
            return teams
        # Several workspaces: a list_id filter belongs to one of them, and we cannot tell which.
        logger.info("webhooks: %s has %d ClickUp workspaces, needs team_id", connection, len(teams))
        return []

    def create(self, client, sub):
        body: dict[str, Any] = {"endpoint": endpoint_url(sub), "events": list(self.events)}
        if list_id := sub.connection.field_mapping.get("list_id"):
            body["list_id"] = list_id
        reply = client.request_json("POST", f"{self.api}/team/{sub.resource}/webhook", json=body)
        webhook = reply["webhook"]
        # ClickUp chooses the signing secret and returns it only here.
        sub.remote_id, sub.secret = str(webhook["id"]), webhook["secret"]

    def remove(self, client, sub):
        client.request("DELETE", f"{self.api}/webhook/{sub.remote_id}")

    def health(self, client: HttpClient, sub: WebhookSubscription) -> str:
        """ClickUp suspends a webhook after repeated failures (or a 410): its health says so.
        https://developer.clickup.com/docs/webhookhealth"""
        reply = client.request_json("GET", f"{self.api}/team/{sub.resource}/webhook")
        for webhook in reply.get("webhooks", []):
            if str(webhook.get("id")) == sub.remote_id:
                return str((webhook.get("health") or {}).get("status") or "active")
        return "missing"


class LinearRegistrar(Registrar):
    """Two ways, https://linear.app/developers/webhooks:

    - the OAuth app's webhook, set once in Linear's console and created by Linear for every
      organization that authorizes the app, signed with one app secret
      (WEBHOOKS_LINEAR_APP_SECRET). Our row only records the organization, so a delivery's
      `organizationId` finds its connections. This is the supported path;
    - webhookCreate through the API, with a signing secret we choose, only when the grant
      includes the `admin` scope (creating webhooks needs admin permissions since 2024-12).
    """

    key = "linear"
    events = ("Issue",)
    CREATE = (
        "mutation($input: WebhookCreateInput!) "
        "{ webhookCreate(input: $input) { success webhook { id enabled } } }"
    )
    DELETE = "mutation($id: String!) { webhookDelete(id: $id) { success } }"

    ORGANIZATION = "query { organization { id } }"

    def wanted(self, connection):
        if not has_scope(connection, "admin"):
            return None  # the organization's id comes from the API
        return [connection.field_mapping.get("team_id") or "all-public-teams"]

    def resources(self, client, connection):
        if has_scope(connection, "admin"):
            return self.wanted(connection) or []
        if not conf.get("WEBHOOKS_LINEAR_APP_SECRET"):
            return []  # no app webhook configured: polling
        reply = self._graphql(client, connection, self.ORGANIZATION, {})
        return [f"{self.provider.webhook_account_prefix}{reply['organization']['id']}"]

    def create(self, client, sub):
        if sub.resource.startswith(self.provider.webhook_account_prefix):
            # Linear made the app webhook when the organization authorized us: nothing to
            # register, and deliveries are signed with the app secret, not a secret of ours.
            sub.secret = ""
            return
        scope = (
            {"allPublicTeams": True}
            if sub.resource == "all-public-teams"
            else {"teamId": sub.resource}
        )
        variables = {
            "input": {
                "url": endpoint_url(sub),
                "resourceTypes": list(self.events),
                "secret": sub.secret,
                "label": "DayFlow",
                **scope,
            }
        }
        data = self._graphql(client, sub.connection, self.CREATE, variables)["webhookCreate"]
        if not data.get("success"):
            raise ProviderError("webhookCreate did not succeed", service=self.key)
        sub.remote_id = data["webhook"]["id"]

    def remove(self, client, sub):
        self._graphql(client, sub.connection, self.DELETE, {"id": sub.remote_id})

    def _graphql(
        self, client: HttpClient, connection: UserIntegration, query: str, variables: dict
    ) -> dict:
        # The provider's GraphQL call: its typed errors, its token refresh on a 400.
        return self.provider(connection, http=client).graphql(query, variables)


class GoogleCalendarRegistrar(Registrar):
    """events.watch channels: they expire and cannot be extended, so renewing means a new
    channel (a new subscription row) and stopping the old one.
    https://developers.google.com/calendar/api/guides/push"""

    key = "google-calendar"
    expires = True

    def wanted(self, connection):
        return list(connection.field_mapping.get("calendars") or ["primary"])

    def create(self, client, sub):
        ttl = conf.get("WEBHOOKS_GOOGLE_CHANNEL_TTL_SECONDS")
        sub.remote_id = str(uuid.uuid4())  # Google: up to 64 characters, a UUID recommended
        wanted = timezone.now() + dt.timedelta(seconds=ttl)
        body = {
            "id": sub.remote_id,
            "type": "web_hook",
            "address": endpoint_url(sub),
            "token": sub.secret,
            "expiration": int(wanted.timestamp() * 1000),
        }
        url = f"{self.api}/calendars/{quote(sub.resource, safe='')}/events/watch"
        reply = client.request_json("POST", url, json=body)
        sub.resource_id = reply["resourceId"]
        expiration = int(reply.get("expiration") or body["expiration"])
        sub.expires_at = dt.datetime.fromtimestamp(expiration / 1000, tz=dt.UTC)

    def remove(self, client, sub):
        body = {"id": sub.remote_id, "resourceId": sub.resource_id}
        client.request("POST", f"{self.api}/channels/stop", json=body)


class OutlookRegistrar(Registrar):
    """Graph subscriptions on the user's events, renewed with PATCH before they expire.
    https://learn.microsoft.com/graph/api/subscription-post-subscriptions"""

    key = "outlook"
    events = ("created", "updated", "deleted")
    expires = True

    def wanted(self, connection):
        calendars = connection.field_mapping.get("calendars") or []
        return [f"me/calendars/{c}/events" for c in calendars] or ["me/events"]

    def create(self, client, sub):
        expires = self._expiry()
        body = {
            "changeType": ",".join(self.events),
            "notificationUrl": endpoint_url(sub),
            "lifecycleNotificationUrl": endpoint_url(sub),
            "resource": sub.resource,
            "expirationDateTime": expires.isoformat().replace("+00:00", "Z"),
            "clientState": sub.secret,
        }
        reply = client.request_json("POST", f"{self.api}/subscriptions", json=body)
        sub.remote_id = reply["id"]
        sub.expires_at = _graph_time(reply.get("expirationDateTime")) or expires

    def renew(self, client, sub):
        expires = self._expiry()
        body = {"expirationDateTime": expires.isoformat().replace("+00:00", "Z")}
        url = f"{self.api}/subscriptions/{sub.remote_id}"
        reply = client.request_json("PATCH", url, json=body) or {}
        sub.expires_at = _graph_time(reply.get("expirationDateTime")) or expires

    def remove(self, client, sub):
        client.request("DELETE", f"{self.api}/subscriptions/{sub.remote_id}")

    def _expiry(self) -> dt.datetime:
        # A minute under the configured maximum: Graph rejects values past its limit.
        minutes = conf.get("WEBHOOKS_GRAPH_MAX_MINUTES") - 1
        return (timezone.now() + dt.timedelta(minutes=minutes)).replace(microsecond=0)


def _graph_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


REGISTRARS: dict[str, Registrar] = {
    r.key: r
    for r in (ClickUpRegistrar(), LinearRegistrar(), GoogleCalendarRegistrar(), OutlookRegistrar())
}


def wants_push(connection: UserIntegration) -> bool:
    """Registered only for connections that sync on their own, and only when the services
    can reach us: every one of them refuses a non-HTTPS notification URL."""
    return (
        connection.service.key in REGISTRARS
        and connection.is_scheduled
        and settings.PUBLIC_URL.startswith("https://")
    )


def reconcile(connection: UserIntegration) -> list[WebhookSubscription]:
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
    client = client_for(connection)
    try:
        wanted = registrar.resources(client, connection)
    except (ProviderError, KeyError, TypeError) as exc:
        logger.warning("webhooks: cannot tell what to watch for %s: %s", connection, exc)
        return []
    kept: dict[str, WebhookSubscription] = {}
    for sub in current:
        if sub.resource in wanted:
            kept.setdefault(sub.resource, sub)
        else:
            _remove(registrar, client, sub)
    tried = []
    for resource in wanted:
        sub = kept.get(resource)
        if sub is None:
            tried.append(_create(registrar, client, connection, resource))
        elif sub.status == Status.FAILED:
            tried.append(_attempt(registrar, client, sub))
    return tried


register = reconcile


def _create(
    registrar: Registrar, client: HttpClient, connection: UserIntegration, resource: str
) -> WebhookSubscription:
    # Saved before the call: Graph validates the notification URL during its create request.
    sub = WebhookSubscription.objects.create(
        service=connection.service,
        connection=connection,
        resource=resource,
        secret=new_secret(),
        events=list(registrar.events),
    )
    return _attempt(registrar, client, sub)


def _attempt(
    registrar: Registrar, client: HttpClient, sub: WebhookSubscription
) -> WebhookSubscription:
    """Register `sub` at the service; on failure it is FAILED and retried later by beat."""
    try:
        registrar.create(client, sub)
    except (ProviderError, KeyError, TypeError) as exc:
        return _failed(sub, "webhook.subscription.create", exc, status=Status.FAILED)
    _succeeded(sub)
    sub.save()
    _audit("webhook.subscription.created", sub)
    return sub


def renew(sub: WebhookSubscription) -> WebhookSubscription:
    """Extend a subscription (Graph), or replace it where the service cannot extend (Google)."""
    registrar = REGISTRARS[sub.service.key]
    if type(registrar).renew is Registrar.renew:
        return recreate(sub)
    try:
        registrar.renew(client_for(sub.connection), sub)
    except NotFound:
        return recreate(sub)  # the service dropped it meanwhile
    except (ProviderError, KeyError, TypeError) as exc:
        expired = sub.expires_at is not None and sub.expires_at <= timezone.now()
        return _failed(sub, "webhook.subscription.renew", exc, Status.EXPIRED if expired else None)
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
    client = client_for(sub.connection)
    fresh = _create(registrar, client, sub.connection, sub.resource)
    if fresh.status != Status.ACTIVE:
        error = fresh.last_error
        fresh.delete()
        _defer(sub, error)
        sub.save(update_fields=["last_error", "failures", "retry_at", "updated_at"])
        return sub
    _remove(registrar, client, sub)
    return fresh


def remove_all(connection: UserIntegration, *, remote: bool = True) -> int:
    """Unsubscribe a connection everywhere (called while its token still works)."""
    subs = list(connection.webhook_subscriptions.exclude(status=Status.REMOVED))
    registrar = REGISTRARS.get(connection.service.key)
    client = client_for(connection) if remote and registrar and subs else None
    for sub in subs:
        _remove(registrar, client, sub)
    return len(subs)


def _remove(
    registrar: Registrar | None, client: HttpClient | None, sub: WebhookSubscription
) -> None:
    if registrar is not None and client is not None and sub.remote_id:
        try:
            registrar.remove(client, sub)
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
        connection__status=UserIntegration.Status.CONNECTED,
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
        _attempt(REGISTRARS[sub.service.key], client_for(sub.connection), sub)
        counts["retried"] += 1
    for connection in _unsubscribed():
        counts["adopted"] += len(reconcile(connection))
    for sub in live.filter(status=Status.ACTIVE, service__key="clickup"):
        counts["checked"] += 1
        counts["recreated"] += _check_clickup(sub)
    return counts


def _unsubscribed() -> list[UserIntegration]:
    """Connections that want push but hold no subscription at all: working out what to watch
    failed (ClickUp's GET /team, Linear's organization query), so no row was left to retry."""
    if not settings.PUBLIC_URL.startswith("https://"):
        return []
    return list(
        UserIntegration.objects.select_related("service")
        .filter(
            status=UserIntegration.Status.CONNECTED,
            auto_sync=True,
            service__key__in=list(REGISTRARS),
        )
        .exclude(sync_direction="manual")
        .exclude(webhook_subscriptions__status__in=[s for s in Status if s != Status.REMOVED])
    )


def _check_clickup(sub: WebhookSubscription) -> int:
    registrar = REGISTRARS["clickup"]
    try:
        health = registrar.health(client_for(sub.connection), sub)
    except ProviderError as exc:
        logger.warning("webhooks: ClickUp health check failed for %r: %s", sub, exc)
        return 0
    if health in ("active", "failing"):
        return 0
    sub.status = Status.SUSPENDED
    sub.save(update_fields=["status", "updated_at"])
    _audit("webhook.subscription.suspended", sub, success=False, health=health)
    recreate(sub)
    return 1


def delivery_mode(connection: UserIntegration) -> str:
    """'push' while every resource the connection wants watched has a live subscription,
    otherwise 'polling' (its schedule)."""
    key = connection.service.key
    if not connection.is_active:
        return "polling"
    provider = provider_class(key)
    if provider.webhook_signed_with_client_secret:
        # One app-wide webhook from the service's console: no subscription rows to look at.
        return "push" if provider.client_secret() else "polling"
    subs = WebhookSubscription.objects.filter(status=Status.ACTIVE, service=connection.service)
    subs = (
        subs.filter(connection=connection)
        if key != "notion"
        else subs.filter(Q(connection=connection) | Q(connection__isnull=True))
    )
    now = timezone.now()
    live = set(
        subs.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)).values_list(
            "resource", flat=True
        )
    )
    prefix = provider.webhook_account_prefix
    if prefix and not conf.get("WEBHOOKS_LINEAR_APP_SECRET"):
        # Without the app secret, the app webhook's deliveries cannot be verified.
        live = {r for r in live if not r.startswith(prefix)}
    registrar = REGISTRARS.get(key)
    wanted = registrar.wanted(connection) if registrar else None
    if wanted is None:
        # Notion, or ClickUp without a team_id: the service chose what is watched.
        return "push" if live else "polling"
    return "push" if wanted and set(wanted) <= live else "polling"
