"""How the engine reaches a connection's service: the one seam for replacing it.

`run_job(job_id, provider_factory=...)` takes the factory for one run, and so do `sync.repair`'s
entry points. Without one they ask `factory()`: the connection's own provider, unless `install`
put another in place for the whole process (the tests' fake services, a worker script driving
a fake, a benchmark's recorder).
"""

from __future__ import annotations

from collections.abc import Callable

from integrations import clients
from integrations.models import Connection
from integrations.providers.base import Provider

ProviderFactory = Callable[[Connection], Provider]


def connection_provider(connection: Connection) -> Provider:
    return clients.provider_for(connection)


_installed: list[ProviderFactory] = [connection_provider]


def factory() -> ProviderFactory:
    """The factory runs use when their caller passes none."""
    return _installed[0]


def install(replacement: ProviderFactory) -> ProviderFactory:
    """Use `replacement` for every run that passes no factory; returns the one it replaced."""
    previous, _installed[0] = _installed[0], replacement
    return previous


def provider_for(connection: Connection, given: ProviderFactory | None = None) -> Provider:
    return (given or factory())(connection)
