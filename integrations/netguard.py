"""Which servers a user may point us at (CalDAV accounts take any URL).

Without this, any signed-in user could make our servers send requests into our own network
(127.0.0.1, 169.254.169.254, 10/8, ...) and read the answers back as "not CalDAV" or "wrong
password" messages, and an app password could travel over plain HTTP.
`DAYFLOW_ALLOW_PRIVATE_SERVERS=1` lifts both rules (a self-hosted server on the LAN; tests).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeServer(Exception):
    """The URL may not be used; the message says why, in the user's words."""


class UnresolvableServer(Exception):
    """The server's name does not resolve."""


def check_server_url(url: str) -> None:
    if getattr(settings, "DAYFLOW_ALLOW_PRIVATE_SERVERS", False):
        return
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise UnsafeServer("Use an https:// address: the app password must not travel in clear.")
    try:
        addresses = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableServer(str(exc)) from exc
    for *_, sockaddr in addresses:
        if not ipaddress.ip_address(sockaddr[0]).is_global:
            raise UnsafeServer("This address leads into a private network; use the public one.")
