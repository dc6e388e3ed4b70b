"""Which servers a user may point us at (CalDAV accounts take any URL).

Without this, any signed-in user could make our servers send requests into our own network
(127.0.0.1, 169.254.169.254, 10/8, ...) and read the answers back as "not CalDAV" or "wrong
password" messages, and an app password could travel over plain HTTP.
`DAYFLOW_ALLOW_PRIVATE_SERVERS=1` lifts both rules (a self-hosted server on the LAN; tests).

`check_server_url` is the connect form's first look; a `Guard` then checks every request of
one CalDAV session (redirects and server-sent hrefs included) and pins each name to the
addresses it checked, so a second DNS answer cannot lead the connection elsewhere.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

DEFAULT_PORTS = {"http": 80, "https": 443}
USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")
AddrInfo = tuple[Any, ...]


class UnsafeServer(Exception):
    """The URL may not be used; the message says why, in the user's words."""


class ForeignOrigin(UnsafeServer):
    """The URL is on another server than the account's."""


class UnresolvableServer(Exception):
    """The server's name does not resolve."""


def private_servers_allowed() -> bool:
    return bool(getattr(settings, "DAYFLOW_ALLOW_PRIVATE_SERVERS", False))


def trusted_servers() -> frozenset[tuple[str, int]]:
    """(host, port) of the servers `DAYFLOW_TRUSTED_SERVERS` names: exempt from the private
    address and https rules, and only they (the sandbox's CalDAV server on 127.0.0.1)."""
    found = set()
    for url in getattr(settings, "DAYFLOW_TRUSTED_SERVERS", ()):
        parts = urlsplit(url)
        found.add(((parts.hostname or "").lower(), parts.port or DEFAULT_PORTS[parts.scheme]))
    return frozenset(found)


def is_trusted(url: str) -> bool:
    """Whether `url` (already free of url_problem) is on a trusted server."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return (host, parts.port or DEFAULT_PORTS[parts.scheme]) in trusted_servers()


def url_problem(url: str) -> str:
    """What makes `url` unusable as a server address, in the user's words; "" when nothing."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "this is not a valid address (check the host and the port)"
    if parts.scheme not in DEFAULT_PORTS:
        return "use an http:// or https:// address"
    if not parts.hostname:
        return "the address has no server name"
    if parts.username is not None or parts.password is not None:
        # A password typed in the URL would be stored, logged and shown wherever the URL is.
        return "put the username and password in their own fields, not in the address"
    if port == 0:
        return "this is not a valid address (check the host and the port)"
    return ""


def without_userinfo(url: str) -> str:
    """`url` without a user:password@ part, for showing it again (even when malformed)."""
    return USERINFO.sub(r"\1", url)


def origin(url: str) -> str:
    """scheme://host:port, the unit the same-server rule compares."""
    parts = urlsplit(url)
    return _origin(parts)


def _origin(parts: SplitResult) -> str:
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def check_server_url(url: str) -> None:
    problem = url_problem(url)
    if problem:
        raise UnsafeServer(problem[0].upper() + problem[1:] + ".")
    if private_servers_allowed() or is_trusted(url):
        return
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise UnsafeServer("Use an https:// address: the app password must not travel in clear.")
    public_addresses(parts.hostname or "", parts.port or 443)


def public_addresses(host: str, port: int) -> list[AddrInfo]:
    """The addresses `host` resolves to, all of them public; UnsafeServer otherwise."""
    try:
        addresses = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableServer(str(exc)) from exc
    for *_, sockaddr in addresses:
        if not ipaddress.ip_address(sockaddr[0]).is_global:
            raise UnsafeServer("This address leads into a private network; use the public one.")
    return addresses


class Guard:
    """The rules for one CalDAV session: every request stays on the account's server (or a
    calendar home it names, once trusted), on public addresses, each name resolved once."""

    require_https = True  # the tests' local servers speak plain HTTP

    def __init__(self, server_url: str) -> None:
        self.private_ok = private_servers_allowed()
        self.origins = {origin(server_url)}
        self.pins: dict[tuple[str, int], list[AddrInfo]] = {}

    def check(self, url: str) -> None:
        """UnsafeServer (ForeignOrigin for a public server that is not the account's) unless a
        request may go to `url`; OSError when its name does not resolve."""
        self._check_address(url)
        if not self.private_ok and origin(url) not in self.origins:
            raise ForeignOrigin(f"{urlsplit(url).hostname} is not this account's server")

    def trust(self, url: str) -> None:
        """Accept `url`'s server too (a calendar home the account's server pointed us to)."""
        self._check_address(url)
        self.origins.add(origin(url))

    def _check_address(self, url: str) -> None:
        problem = url_problem(url)
        if problem:
            raise UnsafeServer(problem)
        if self.private_ok or is_trusted(url):
            return
        parts = urlsplit(url)
        if self.require_https and parts.scheme != "https":
            raise UnsafeServer("a plain http:// address (the password would travel in clear)")
        self.addresses(parts.hostname or "", parts.port or DEFAULT_PORTS[parts.scheme])

    def addresses(self, host: str, port: int) -> list[AddrInfo]:
        """The checked addresses of `host`: looked up once per session, then always these."""
        key = (host.lower().strip("[]"), int(port))
        if key not in self.pins:
            if self.private_ok or key in trusted_servers():
                self.pins[key] = socket.getaddrinfo(key[0], port, proto=socket.IPPROTO_TCP)
            else:
                try:
                    self.pins[key] = public_addresses(key[0], key[1])
                except UnresolvableServer as exc:
                    raise OSError(f"cannot resolve {host}") from exc
                except UnsafeServer:
                    raise UnsafeServer(f"{host} is in a private network") from None
        return self.pins[key]
