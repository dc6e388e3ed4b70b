"""Outlook's webhooks: Graph subscriptions on the user's events (integrations/providers/
graph_webhook.py has what every Graph service shares)."""

from __future__ import annotations

from integrations.providers.graph_webhook import GraphInbound, GraphRegistrar
from integrations.providers.outlook.provider import OutlookProvider


class OutlookInbound(GraphInbound):
    provider = OutlookProvider


class OutlookRegistrar(GraphRegistrar):
    """One subscription per chosen calendar's events, or on all of the user's events."""

    provider = OutlookProvider

    def wanted(self, provider):
        calendars = provider.field_mapping.get("calendars") or []
        return [f"me/calendars/{c}/events" for c in calendars] or ["me/events"]


INBOUND = OutlookInbound()
REGISTRAR = OutlookRegistrar()
