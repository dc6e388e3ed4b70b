"""ClickUp's webhooks: one per workspace ("team"), registered through the API, signed with the
secret ClickUp returns on creation. https://developer.clickup.com/docs/webhooks"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from integrations.providers.base import Provider, field
from integrations.providers.clickup.provider import ClickUpProvider
from integrations.providers.errors import UnexpectedPayload
from integrations.providers.webhook_base import (
    Inbound,
    Registrar,
    Registration,
    Verification,
    check_hex,
    header,
    precheck,
)

logger = logging.getLogger(__name__)
SERVICE = ClickUpProvider.key
# A suspended webhook is recreated; a failing one is still delivering.
# https://developer.clickup.com/docs/webhookhealth
WORKING = ("active", "failing")
# A webhook filters on one list at most: with several lists the workspace's webhook watches
# them all, a subscription whose resource is "<team>/all-lists". With one list (or none
# chosen yet) it is "<team>", filtered on that list. A change between the two replaces the
# webhook (the resources differ), so a second list is never left unwatched.
ALL_LISTS = "/all-lists"


def verify_clickup(headers: Mapping[str, str], body: bytes, secret: str) -> Verification:
    """`X-Signature`: hex HMAC-SHA256 of the body with the webhook's secret.
    https://developer.clickup.com/docs/webhooksignature"""
    presented = header(headers, "X-Signature")
    return precheck(presented, secret) or check_hex(presented, secret, body)


class ClickUpInbound(Inbound):
    """No delivery id: the body hash is used."""

    provider = ClickUpProvider
    handled = ("task",)
    signature_headers = ("X-Signature",)

    def verify(self, headers, body, payload, secret, remote_id):
        return verify_clickup(headers, body, secret)

    def event_type(self, headers, payload):
        return str(payload.get("event") or "")


class ClickUpRegistrar(Registrar):
    """https://developer.clickup.com/reference/createwebhook"""

    provider = ClickUpProvider
    events = ("taskCreated", "taskUpdated", "taskDeleted", "taskStatusUpdated", "taskMoved")
    reports_health = True

    def wanted(self, provider):
        team = provider.field_mapping.get("team_id")
        return [_resource(provider, str(team))] if team else None

    def resources(self, provider):
        """Webhooks live on a workspace ("team"), while the connection's account id is the
        ClickUp *user*: without a team_id setting, ask which workspaces the user authorized.
        https://developer.clickup.com/reference/getauthorizedteams"""
        if (wanted := self.wanted(provider)) is not None:
            return wanted
        reply = provider.api("GET", f"{provider.api_base}/team")
        teams = [_id(team) for team in field(SERVICE, reply, "teams", list)]
        if len(teams) == 1:
            return [_resource(provider, teams[0])]
        # Several workspaces: a list_id filter belongs to one of them, and we cannot tell which.
        logger.info(
            "webhooks: %s has %d ClickUp workspaces, needs team_id", provider.connection, len(teams)
        )
        return []

    def create(self, provider, registration):
        body: dict[str, Any] = {"endpoint": registration.url, "events": list(self.events)}
        # One list: its events only. Several: the workspace's (`ALL_LISTS`); a delivery starts
        # a sync, which reads every chosen list, each task then landing on its own list's link.
        lists = provider.chosen_collections(provider.field_mapping)
        if len(lists) == 1 and not registration.resource.endswith(ALL_LISTS):
            body["list_id"] = lists[0]
        url = f"{provider.api_base}/team/{_team(registration.resource)}/webhook"
        webhook = field(SERVICE, provider.api("POST", url, json=body), "webhook", dict)
        # ClickUp chooses the signing secret and returns it only here.
        registration.remote_id = _id(webhook)
        registration.secret = field(SERVICE, webhook, "secret", str)

    def remove(self, provider, registration):
        provider.http.request("DELETE", f"{provider.api_base}/webhook/{registration.remote_id}")

    def health(self, provider: Provider, registration: Registration) -> str:
        """ClickUp suspends a webhook after repeated failures (or a 410): its health says so.
        https://developer.clickup.com/docs/webhookhealth"""
        url = f"{provider.api_base}/team/{_team(registration.resource)}/webhook"
        for webhook in field(SERVICE, provider.api("GET", url), "webhooks", list):
            if _id(webhook) == registration.remote_id:
                status = _health_status(webhook)
                return "" if status in WORKING else status
        return "missing"


def _resource(provider: Provider, team: str) -> str:
    several = len(provider.chosen_collections(provider.field_mapping)) > 1
    return f"{team}{ALL_LISTS}" if several else team


def _team(resource: str) -> str:
    return resource.removesuffix(ALL_LISTS)


def _id(raw: Any) -> str:
    return str(field(SERVICE, raw, "id", (str, int)))


def _health_status(webhook: dict[str, Any]) -> str:
    health = webhook.get("health") or {}
    if not isinstance(health, dict):
        raise UnexpectedPayload(SERVICE, "health", "expected an object")
    return str(health.get("status") or "active")


INBOUND = ClickUpInbound()
REGISTRAR = ClickUpRegistrar()
