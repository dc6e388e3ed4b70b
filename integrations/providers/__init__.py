"""The registry of providers by service key: one explicit list, no discovery magic."""

from __future__ import annotations

from integrations.providers.base import Provider
from integrations.providers.caldav import AppleCalendarProvider, FastmailProvider
from integrations.providers.clickup import ClickUpProvider
from integrations.providers.google_calendar import GoogleCalendarProvider
from integrations.providers.linear import LinearProvider
from integrations.providers.notion import NotionProvider
from integrations.providers.outlook import OutlookProvider
from integrations.providers.todoist import TodoistProvider

PROVIDERS: dict[str, type[Provider]] = {
    provider.key: provider
    for provider in (
        NotionProvider,
        ClickUpProvider,
        LinearProvider,
        TodoistProvider,
        GoogleCalendarProvider,
        OutlookProvider,
        AppleCalendarProvider,
        FastmailProvider,
    )
}


class UnknownService(KeyError):
    pass


def provider_class(key: str) -> type[Provider]:
    try:
        return PROVIDERS[key]
    except KeyError:
        raise UnknownService(key) from None
