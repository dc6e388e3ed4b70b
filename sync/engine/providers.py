"""How the engine reaches a connection's service: the one seam for replacing it.

Every run (`run_job`, and `sync.repair`'s entry points) builds its provider with `factory()`:
the connection's own provider, unless `install` put another in place for the process (the
tests' fake services through the `use_provider` fixture, a worker script driving a fake, a
benchmark's recorder). One way in, so a run started by a Celery task and one started in a test
build their provider the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from integrations import clients
from integrations.models import Connection
from integrations.providers.base import Provider

ProviderFactory = Callable[[Connection], Provider]


def connection_provider(connection: Connection) -> Provider:
    return clients.provider_for(connection)


_installed: list[ProviderFactory] = [connection_provider]


def factory() -> ProviderFactory:
    """The factory every run builds its provider with."""
    return _installed[0]


def install(replacement: ProviderFactory) -> ProviderFactory:
    """Use `replacement` for every run from now on; returns the one it replaced."""
    previous, _installed[0] = _installed[0], replacement
    return previous


@contextlib.contextmanager
def installed(replacement: ProviderFactory) -> Iterator[None]:
    """`install` for the length of a block."""
    previous = install(replacement)
    try:
        yield
    finally:
        install(previous)


def provider_for(connection: Connection, *, someone_waits: bool = False) -> Provider:
    """The run's provider; `someone_waits` (a page or an API request waits on the calls: a
    conflict settled, a deletion confirmed, a job undone) gives the connection's own provider
    the short retry budget of `clients.WHILE_SOMEONE_WAITS`. A replacement is used as it is."""
    make = factory()
    if make is connection_provider:
        return clients.provider_for(connection, someone_waits=someone_waits)
    return make(connection)
