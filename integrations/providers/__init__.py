"""The registry of providers by service key: one explicit list, no discovery magic.

Each provider module is imported on first use, so a process that syncs one service does not
pay for the others' clients and parsers (caldav, icalendar, ...). Iterating `PROVIDERS`
(catalog, OAuth backends, settings pages) still yields every provider class.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module
from typing import TYPE_CHECKING

from integrations import service_urls

if TYPE_CHECKING:
    from integrations.providers.base import Provider

# service key -> "module:Class"
REGISTRY: dict[str, str] = {
    "notion": "integrations.providers.notion.provider:NotionProvider",
    "clickup": "integrations.providers.clickup.provider:ClickUpProvider",
    "linear": "integrations.providers.linear.provider:LinearProvider",
    "todoist": "integrations.providers.todoist.provider:TodoistProvider",
    "google-calendar": "integrations.providers.google_calendar.provider:GoogleCalendarProvider",
    "outlook": "integrations.providers.outlook.provider:OutlookProvider",
    "apple-calendar": "integrations.providers.caldav:AppleCalendarProvider",
    "fastmail": "integrations.providers.caldav:FastmailProvider",
}


class UnknownService(KeyError):
    pass


class Providers(Mapping[str, "type[Provider]"]):
    """Service key -> provider class, importing a provider's module when it is first asked for."""

    def __init__(self, paths: dict[str, str]) -> None:
        self._paths = paths
        self._loaded: dict[str, type[Provider]] = {}

    def __getitem__(self, key: str) -> type[Provider]:
        """The provider class; a sandboxed service's declares the emulator's URLs."""
        if key not in self._loaded:
            module, _, name = self._paths[key].partition(":")
            self._loaded[key] = getattr(import_module(module), name)
        return service_urls.for_service(self._loaded[key])

    def __contains__(self, key: object) -> bool:
        return key in self._paths  # without importing the provider

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


PROVIDERS = Providers(REGISTRY)


def package_module(key: str, name: str) -> str:
    """The module `name` (oauth, webhook) of a service whose provider has a package of its own
    (`integrations/providers/<package>/provider.py`); "" for a preset of a shared provider."""
    package, _, leaf = REGISTRY[key].partition(":")[0].rpartition(".")
    return f"{package}.{name}" if leaf == "provider" else ""


def provider_class(key: str) -> type[Provider]:
    try:
        return PROVIDERS[key]
    except KeyError:
        raise UnknownService(key) from None
