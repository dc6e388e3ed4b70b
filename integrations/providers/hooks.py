"""Service key -> its webhook hooks (`INBOUND`, `REGISTRARS`), built from the registry.

Kept apart from `webhook_base.py`, which the services' `webhook.py` modules import: these
tables import those modules (on first use), so the seam and the tables in one module would be
an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from importlib import import_module
from typing import Generic, TypeVar

from integrations.providers import PROVIDERS, package_module
from integrations.providers.base import Provider
from integrations.providers.webhook_base import Inbound, Registrar

Hook = TypeVar("Hook")


class ServiceHooks(Mapping[str, Hook], Generic[Hook]):
    """Service key -> the object `name` in the service's `webhook` module, for the services
    whose declarations promise one; a module is imported when its service is first asked for.

    A promised piece that is missing raises (the registry contract test names it).
    """

    def __init__(self, name: str, promised: Callable[[type[Provider]], bool]) -> None:
        self._name = name
        self._promised = promised
        self._loaded: dict[str, Hook] = {}

    def __getitem__(self, key: str) -> Hook:
        if key not in self._loaded:
            if key not in PROVIDERS or not self._promised(PROVIDERS[key]):
                raise KeyError(key)
            module = package_module(key, "webhook")
            if not module:
                raise ImportError(f"{key} promises webhook hooks but has no package of its own")
            self._loaded[key] = getattr(import_module(module), self._name)
        return self._loaded[key]

    def __contains__(self, key: object) -> bool:
        return key in PROVIDERS and self._promised(PROVIDERS[key])  # the webhook module unread

    def __iter__(self) -> Iterator[str]:
        return (key for key in PROVIDERS if self._promised(PROVIDERS[key]))

    def __len__(self) -> int:
        return sum(1 for _ in self)


INBOUND: Mapping[str, Inbound] = ServiceHooks("INBOUND", lambda p: p.supports_webhooks)
REGISTRARS: Mapping[str, Registrar] = ServiceHooks(
    "REGISTRAR", lambda p: p.webhook_registration == "api"
)
