"""The HTTP session under the caldav library's DAVClient, held to a `netguard.Guard`.

Only name resolution changes: the resolver hands urllib3 the addresses the guard checked and
pinned, so the Host header, TLS SNI and certificate checks still use the server's name.
Redirects are checked before they are followed.
"""

from __future__ import annotations

import socket
from typing import Any

import niquests
from niquests.packages.urllib3.contrib.resolver import BaseResolver, ProtocolResolver

from integrations.netguard import Guard


class PinnedResolver(BaseResolver):
    """Resolves through the guard: each name once per session, only to checked addresses."""

    implementation = "dayflow-guard"
    protocol = ProtocolResolver.CUSTOM

    def __init__(self, guard: Guard) -> None:
        super().__init__(None, None)
        self.guard = guard

    def getaddrinfo(
        self,
        host: bytes | str | None,
        port: str | int | None,
        family: socket.AddressFamily,
        type: socket.SocketKind,
        proto: int = 0,
        flags: int = 0,
        *,
        quic_upgrade_via_dns_rr: bool = False,
    ) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        records = self.guard.addresses(name, int(port or 0))
        wanted = [r for r in records if family == socket.AF_UNSPEC or r[0] == family]
        return [(r[0], type or r[1], r[2], r[3], r[4]) for r in wanted]

    def recycle(self) -> BaseResolver:
        return self

    def close(self) -> None:
        pass

    def is_available(self) -> bool:
        return True


class GuardedSession(niquests.Session):
    def __init__(self, guard: Guard) -> None:
        super().__init__(resolver=PinnedResolver(guard))
        self.guard = guard
        # Proxies and .netrc from the environment would bypass the pinned addresses.
        self.trust_env = guard.private_ok

    def rebuild_auth(self, prepared_request: Any, response: Any) -> None:
        # Called once per redirect, with the absolute target, before it is requested.
        self.guard.check(prepared_request.url)
        super().rebuild_auth(prepared_request, response)
