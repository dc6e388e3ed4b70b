"""CalDAV calendars (RFC 4791), incremental with sync-collection (RFC 6578).

One provider, two presets: Apple iCloud and Fastmail, plus any other server URL.

The `caldav` library carries the HTTP (auth negotiation, niquests); the WebDAV XML is built and
read here, by small pure functions, so the same parser reads Radicale's live answers and the
recorded iCloud ones.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from xml.sax.saxutils import escape

import niquests
from caldav import DAVClient
from caldav.lib import error as dav_error
from lxml import etree

from integrations import netguard
from integrations.providers import events, ical_reader
from integrations.providers.base import (
    AuthStyle,
    Container,
    ItemType,
    Kind,
    Page,
    Provider,
    RemoteItem,
    Write,
    WriteResult,
)
from integrations.providers.dav_transport import GuardedSession
from integrations.providers.errors import (
    AuthExpired,
    CursorExpired,
    NotFound,
    Permanent,
    PreconditionFailed,
    RateLimited,
    Transient,
    UnexpectedPayload,
)
from integrations.providers.http import CallGate, RelayedGate

logger = logging.getLogger("integrations.caldav")

# The longest a CalDAV request waits for its connection's rate-limit slot; a slot further away
# is RateLimited, which requeues the sync job instead of holding the worker.
RATE_WAIT = 120.0

MAX_SYNC_ROUNDS = 50  # truncated sync-collection answers followed in one pull
# Answers that say "no such REPORT here" whatever else the server does (RFC 3253 §3.6 asks for
# 403 with DAV:supported-report, handled with the other 403s).
UNSUPPORTED_REPORT = frozenset({405, 415, 501})
TIMEOUT = 30
DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CALSERVER = "http://calendarserver.org/ns/"
NSMAP = {"d": DAV, "c": CALDAV, "cs": CALSERVER}
XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
COMPONENT_ITEM_TYPES = {"VEVENT": ItemType.EVENT, "VTODO": ItemType.TASK}

PROPFIND_PRINCIPAL = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>"""

PROPFIND_HOME = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><c:calendar-home-set/></d:prop></d:propfind>"""

PROPFIND_CALENDARS = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"
            xmlns:cs="http://calendarserver.org/ns/">
  <d:prop>
    <d:resourcetype/><d:displayname/><c:supported-calendar-component-set/>
    <cs:getctag/><d:sync-token/>
  </d:prop>
</d:propfind>"""


# --- WebDAV XML: pure functions over bytes -------------------------------------------------
@dataclasses.dataclass(frozen=True)
class DavResource:
    """One <response> of a multistatus: its href, overall status and its found (200) props."""

    href: str
    status: int
    props: dict[str, etree._Element]

    def text(self, tag: str) -> str:
        element = self.props.get(tag)
        return (element.text or "").strip() if element is not None else ""

    def hrefs(self, tag: str) -> list[str]:
        element = self.props.get(tag)
        if element is None:
            return []
        return [(h.text or "").strip() for h in element.iter(f"{{{DAV}}}href") if h.text]


@dataclasses.dataclass(frozen=True)
class Multistatus:
    resources: list[DavResource]
    sync_token: str = ""


def _status_code(line: str) -> int:
    # "HTTP/1.1 404 Not Found" -> 404
    parts = line.split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


@dataclasses.dataclass(frozen=True)
class Streamed:
    """A multistatus read one response at a time, each let go of once read: a first listing
    of 50,000 members read whole holds a proxy object per element, ~80 MB more than its tree."""

    resources: Iterator[DavResource]
    sync_token: str = ""


def parse_multistatus(body: bytes, service: str) -> Multistatus:
    """Read a 207 body; raises Permanent when it is not a WebDAV multistatus."""
    return _multistatus(_parsed(body, service), service)


def _parsed(body: bytes, service: str) -> etree._Element:
    try:
        return etree.fromstring(body.strip(), parser=XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise Permanent("the server did not answer with WebDAV XML", service=service) from exc


def _multistatus(root: etree._Element, service: str) -> Multistatus:
    _check_multistatus(root, service)
    resources = [_parse_response(r) for r in root.findall(f"{{{DAV}}}response")]
    return Multistatus(resources, _sync_token(root))


def _streamed(root: etree._Element, service: str) -> Streamed:
    _check_multistatus(root, service)
    return Streamed(_responses(root), _sync_token(root))


def _responses(root: etree._Element) -> Iterator[DavResource]:
    for response in root.iterchildren(f"{{{DAV}}}response"):
        yield _parse_response(response)
        response.clear()  # its subtree freed once the reader asks for the next


def _check_multistatus(root: etree._Element, service: str) -> None:
    if root.tag != f"{{{DAV}}}multistatus":
        raise Permanent("the server did not answer with a WebDAV multistatus", service=service)


def _sync_token(root: etree._Element) -> str:
    return (root.findtext(f"{{{DAV}}}sync-token") or "").strip()


def _parse_response(response: etree._Element) -> DavResource:
    href = (response.findtext(f"{{{DAV}}}href") or "").strip()
    status = _status_code(response.findtext(f"{{{DAV}}}status") or "HTTP/1.1 200 OK")
    props: dict[str, etree._Element] = {}
    for propstat in response.findall(f"{{{DAV}}}propstat"):
        if _status_code(propstat.findtext(f"{{{DAV}}}status") or "") != 200:
            continue
        for prop in propstat.iterfind(f"{{{DAV}}}prop/*"):
            props[prop.tag] = prop
    return DavResource(href, status, props)


def calendar_containers(multistatus: Multistatus, home_url: str) -> list[Container]:
    """The calendar collections in a Depth 1 PROPFIND of the calendar home."""
    containers = []
    for resource in multistatus.resources:
        kinds = resource.props.get(f"{{{DAV}}}resourcetype")
        if kinds is None or kinds.find(f"{{{CALDAV}}}calendar") is None:
            continue
        url = urljoin(home_url, resource.href)
        name = resource.text(f"{{{DAV}}}displayname") or url.rstrip("/").rsplit("/", 1)[-1]
        containers.append(
            Container(url, name, "calendar", parent=home_url, item_types=_item_types(resource))
        )
    return containers


def _item_types(resource: DavResource) -> tuple[ItemType, ...]:
    comp_set = resource.props.get(f"{{{CALDAV}}}supported-calendar-component-set")
    if comp_set is None:  # RFC 4791 §5.2.3: absent means every component type
        return (ItemType.EVENT, ItemType.TASK)
    names = [c.get("name", "").upper() for c in comp_set.iter(f"{{{CALDAV}}}comp")]
    return tuple(COMPONENT_ITEM_TYPES[n] for n in COMPONENT_ITEM_TYPES if n in names)


# --- the HTTP seam: the caldav library's client, its errors made ours ----------------------
class SyncUnsupported(Permanent):
    """The server does not offer the sync-collection REPORT: compare ctag and etags instead."""

    def __init__(self, message: str, *, service: str, status: int | None = None) -> None:
        super().__init__(message, status=status, service=service)


class Forbidden(Permanent):
    """403: the server refuses this path to this account (not a credentials problem)."""


class NotCalDAV(Permanent):
    """The address answers, but not as a CalDAV server."""

    def __init__(self, message: str, *, service: str, status: int | None = None) -> None:
        super().__init__(message, status=status, service=service)


class NoCalendarHome(NotCalDAV):
    """404 where the principal or calendar home should be."""


class RefusedTarget(Permanent):
    """A request the guard refused before it was sent: another server, a private address,
    a password in the URL. Nothing was sent, so there is no answer to report."""

    def __init__(self, message: str, *, service: str) -> None:
        super().__init__(f"refused: {message}", service=service)


class ServerUnreachable(Transient):
    """No HTTP answer: `reason` is "tls", "timeout" or "network" (refused, no route, DNS)."""

    def __init__(self, message: str, *, service: str, reason: str = "network") -> None:
        super().__init__(message, service=service)
        self.reason = reason


@dataclasses.dataclass
class Changes:
    """What changed in one calendar: member hrefs, the calendar's next cursor state, and the
    data of the changed members that came with the listing (href -> (etag, calendar-data))."""

    changed: list[str]
    deleted: list[str]
    state: dict[str, Any]
    received: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)


class DavReply:
    """A server's answer: its status, headers (lower-case names) and body. A body the caldav
    client already parsed as XML comes as that tree, serialized only when `body` is asked for:
    a first pull's multistatus is read once, not parsed, written out and parsed again (three
    copies of the calendar in memory at once)."""

    __slots__ = ("_body", "headers", "status", "tree")

    def __init__(
        self, status: int, headers: dict[str, str], body: bytes = b"", tree: Any = None
    ) -> None:
        self.status, self.headers, self._body, self.tree = status, headers, body, tree

    @property
    def body(self) -> bytes:
        if not self._body and self.tree is not None:
            self._body = etree.tostring(self.tree)
        return self._body

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def multistatus(self, service: str) -> Multistatus:
        """The body as a WebDAV multistatus; Permanent when it is none."""
        if self.tree is not None:
            return _multistatus(self.tree, service)
        return parse_multistatus(self.body, service)

    def streamed(self, service: str) -> Streamed:
        """`multistatus`, its responses read one at a time (`Streamed`)."""
        root = self.tree if self.tree is not None else _parsed(self.body, service)
        return _streamed(root, service)


class DavSession:
    """One account's HTTP access to a CalDAV server. Raises only our typed errors.

    Every request, redirect and server-sent href goes through the session's `netguard.Guard`:
    the account's own server (and the calendar home it names), public addresses only, unless
    DAYFLOW_ALLOW_PRIVATE_SERVERS is on.
    """

    def __init__(
        self,
        server_url: str,
        username: str,
        password: str,
        *,
        service: str,
        gate: CallGate | None = None,
    ) -> None:
        problem = netguard.url_problem(server_url)
        if problem:
            raise Permanent(f"not a server address: {problem}", service=service)
        self.service = service
        # The connection's rate limit and call counter, shared with REST (http.CallGate).
        self.gate = gate or CallGate(service)
        self.server_url = server_url
        self.guard = netguard.Guard(server_url)
        self._home_trusted = False
        # RFC 6764 discovery does DNS look-ups of its own: we are always given a full URL.
        self.client = DAVClient(
            url=server_url,
            username=username,
            password=password,
            timeout=TIMEOUT,
            enable_rfc6764=False,
        )
        self.client.session.close()
        self.client.session = GuardedSession(self.guard)

    def for_thread(self, relay: Any) -> DavSession:
        """This session for one write thread (`providers.parallel`): a copy of the DAVClient
        (its negotiated auth kept, so no thread repeats the 401 round trip) over a session of
        its own (niquests' Session, like requests', is not documented as shareable between
        threads), the same guard, and the gate taken on the engine's thread through `relay`."""
        twin = copy.copy(self)
        twin.client = copy.copy(self.client)
        twin.client.session = GuardedSession(self.guard)
        twin.gate = RelayedGate(self.gate, relay)
        return twin

    def close(self) -> None:
        self.client.session.close()

    def request(
        self, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> DavReply:
        self.check(url)
        self.gate.admit(max_wait=RATE_WAIT)
        try:
            response = self.client.request(url, method, body, headers or {})
        except netguard.UnsafeServer as exc:  # a redirect the guard refused
            raise RefusedTarget(f"refused a redirect: {exc}", service=self.service) from exc
        except dav_error.AuthorizationError as exc:
            self.gate.count()
            raise _authorization_error(exc, self.service) from exc
        except dav_error.RateLimitError as exc:
            self.gate.count()
            wait = float(getattr(exc, "retry_after_seconds", None) or 60)
            raise RateLimited(
                "the server asks to slow down", retry_after=wait, service=self.service
            ) from exc
        except (OSError, etree.XMLSyntaxError) as exc:
            raise _network_error(exc, self.service) from exc
        self.gate.count()
        return _reply(response)

    def check(self, url: str) -> None:
        """RefusedTarget unless the guard lets a request go to `url`. A calendar on another
        server than the account's is allowed only on the calendar home's server (iCloud)."""
        try:
            self.guard.check(url)
        except netguard.ForeignOrigin:
            if self._home_trusted:
                raise RefusedTarget(
                    f"{_host(url)} is not this account's server", service=self.service
                ) from None
            self._home_trusted = True  # once: discovery's own requests come back here
            self.trust_home(find_calendar_home(self, find_principal(self)))
            self.check(url)
        except netguard.UnsafeServer as exc:
            raise RefusedTarget(str(exc), service=self.service) from exc
        except OSError as exc:  # the name does not resolve
            raise ServerUnreachable(
                "could not reach the server (unknown name)", service=self.service
            ) from exc

    def allows(self, url: str) -> bool:
        try:
            self.guard.check(url)
        except (netguard.UnsafeServer, OSError):
            return False
        return True

    def trust_home(self, home_url: str) -> None:
        self._home_trusted = True
        try:
            self.guard.trust(home_url)
        except netguard.UnsafeServer as exc:
            raise RefusedTarget(
                f"the calendar home is refused: {exc}", service=self.service
            ) from exc
        except OSError as exc:
            raise ServerUnreachable(
                "could not reach the calendar home (unknown name)", service=self.service
            ) from exc

    def propfind(self, url: str, body: bytes, depth: str = "0") -> Multistatus:
        reply = self.request("PROPFIND", url, body, {"Depth": depth, **XML_HEADERS})
        if reply.status != 207:
            raise status_error(reply.status, f"PROPFIND {_path(url)}", self.service)
        return reply.multistatus(self.service)


XML_HEADERS = {"Content-Type": "application/xml; charset=utf-8"}


def _reply(response: Any) -> DavReply:
    # DAVResponse keeps a body it could not parse as XML (iCalendar) in `_raw_body`, and one
    # it parsed as a tree.
    headers = {k.lower(): v for k, v in dict(response.headers).items()}
    raw = getattr(response, "_raw_body", b"") or b""
    tree = getattr(response, "tree", None)
    if not raw and tree is not None:
        return DavReply(int(response.status), headers, tree=tree)
    if not raw:
        raw = response.raw.encode() if isinstance(response.raw, str) else response.raw or b""
    return DavReply(int(response.status), headers, raw)


def _authorization_error(exc: dav_error.DAVError, service: str) -> Exception:
    if f"{{{DAV}}}valid-sync-token" in exc.preconditions:
        return CursorExpired("the server no longer accepts the sync token", service=service)
    if exc.status == 403:
        if f"{{{DAV}}}supported-report" in exc.preconditions:
            return SyncUnsupported(
                "the server does not offer this REPORT", status=403, service=service
            )
        # Forbidden is about this resource (a read-only calendar, another user's path), not
        # the credentials: asking the user to reconnect would not help.
        return Forbidden("access to this path is forbidden (403)", status=403, service=service)
    return AuthExpired("wrong username or app password (401)", service=service)


def _network_error(exc: Exception, service: str) -> Exception:
    if isinstance(exc, etree.XMLSyntaxError):
        return Permanent("the server sent XML that cannot be read", service=service)
    if isinstance(exc, niquests.exceptions.SSLError):
        return ServerUnreachable(
            "could not reach the server: TLS error", service=service, reason="tls"
        )
    if isinstance(exc, niquests.exceptions.Timeout | TimeoutError):
        return ServerUnreachable(
            "could not reach the server: no answer in time", service=service, reason="timeout"
        )
    if isinstance(exc, niquests.exceptions.InvalidURL):  # an address it cannot use
        return Permanent(f"not a server address ({type(exc).__name__})", service=service)
    return ServerUnreachable(f"could not reach the server ({type(exc).__name__})", service=service)


def status_error(status: int, what: str, service: str) -> Exception:
    """An unexpected HTTP status as a typed error."""
    if status == 404:
        return NotFound(f"{what}: not found", status=status, service=service)
    if status >= 500:
        return Transient(f"{what}: server error {status}", service=service)
    return Permanent(f"{what}: unexpected status {status}", status=status, service=service)


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"


def _path(url: str) -> str:
    """The last segment of a URL, for messages: CalDAV paths often hold the account name."""
    segments = [part for part in urlsplit(url).path.split("/") if part]
    return segments[-1] if segments else "/"


# --- discovery --------------------------------------------------------------------------
def discover(
    server_url: str, username: str, password: str, *, service: str = "caldav"
) -> list[Container]:
    """Principal -> calendar home -> calendars (RFC 4791 §6.2.1, RFC 5397).

    Raises AuthExpired when the server refuses the credentials (401), Forbidden for a 403,
    NoCalendarHome for a 404, NotCalDAV when the address answers as something else,
    RefusedTarget when the guard stops a request and ServerUnreachable without an answer.
    Before a connection exists the errors name the generic "caldav" unless told the service.
    """
    return account_calendars(DavSession(server_url, username, password, service=service))


def account_calendars(session: DavSession) -> list[Container]:
    """The calendars in the account's calendar home, those the guard lets us reach."""
    home = find_calendar_home(session, find_principal(session))
    session.trust_home(home)
    listing = session.propfind(home, PROPFIND_CALENDARS, depth="1")
    return [c for c in calendar_containers(listing, home) if session.allows(c.id)]


def find_principal(session: DavSession) -> str:
    found = _discovery_propfind(session, session.server_url, PROPFIND_PRINCIPAL)
    hrefs = [h for r in found.resources for h in r.hrefs(f"{{{DAV}}}current-user-principal")]
    if not hrefs:
        raise NotCalDAV(
            "this address is not a CalDAV server (no principal)", service=session.service
        )
    return urljoin(session.server_url, hrefs[0])


def find_calendar_home(session: DavSession, principal_url: str) -> str:
    found = _discovery_propfind(session, principal_url, PROPFIND_HOME)
    hrefs = [h for r in found.resources for h in r.hrefs(f"{{{CALDAV}}}calendar-home-set")]
    if not hrefs:
        raise NotCalDAV("the account has no calendar home (not CalDAV)", service=session.service)
    return urljoin(principal_url, hrefs[0])


def _discovery_propfind(session: DavSession, url: str, body: bytes) -> Multistatus:
    try:
        return session.propfind(url, body)
    except (Forbidden, RefusedTarget, NotCalDAV):
        raise
    except NotFound as exc:
        raise NoCalendarHome(
            "this address is not a CalDAV server: no calendar home there (404)",
            status=404,
            service=session.service,
        ) from exc
    except Permanent as exc:
        raise NotCalDAV(
            "this address is not a CalDAV server (no WebDAV answer)", service=session.service
        ) from exc


class CalDAVProvider(Provider):
    """Events (and, with `sync_todos`, VTODO tasks) of the calendars the user picked.

    Remote ids are absolute resource URLs (iCloud serves calendars from another host than the
    one the user typed); an overridden instance is `<resource url>#<recurrence_id>`, since it
    lives in its master's resource. The cursor is JSON: per calendar, its sync token, or its
    ctag and member etags on servers without RFC 6578.
    """

    key = "caldav"
    name = "CalDAV"
    kind = Kind.CALENDAR
    auth = AuthStyle.APP_PASSWORD
    docs_url = "https://www.rfc-editor.org/rfc/rfc6578"
    server_url = ""
    item_types = (ItemType.EVENT, ItemType.TASK)
    change_feed = "sync-collection (RFC 6578), ctag/etag fallback"
    mapping_schema = {"calendars": list, "sync_todos": bool}
    mapping_urls = frozenset({"calendars"})
    collection_setting = "calendars"
    collection_words = "a calendar"
    collection_default = "every calendar of the account"
    collection_kind = "calendar"
    supports_move = True  # WebDAV MOVE between the calendars the connection syncs
    # Neither iCloud nor Fastmail documents a CalDAV rate or concurrency limit
    # (../shared/providers/facts.md, [U]); Fastmail's JMAP session advertises
    # maxConcurrentRequests 10 [S]. Four in flight: the strictest concurrency any of our services
    # documents (Microsoft Graph, 4 concurrent requests per mailbox), under HTTP/1.1's advice to
    # keep few connections to one server (RFC 9112 §9.4), within `rate_limit`'s 10 a second.
    write_concurrency = 4
    # Our own courtesy, since neither service documents a rate: 10 requests a second on
    # average, measured over 3 s, so a sync of a few edits (its sync REPORT, one multiget and
    # a PUT each: 12 requests for 10 edits) is not held back by the second before it, while a
    # long push still goes at 10 a second.
    rate_limit = (30, 3.0)
    setting_checkboxes = {"sync_todos": "Also sync to-dos (as DayFlow tasks)"}

    def __init__(
        self, connection: Any, *, session: DavSession | None = None, gate: CallGate | None = None
    ) -> None:
        super().__init__(connection)
        self._session = session
        self._gate = gate
        self._containers: list[Container] | None = None
        # Resources the current write batch read ahead (url -> data, etag): `write_batch`.
        self._prefetched: dict[str, tuple[bytes, str]] = {}
        # Resources read that we cannot represent (url -> why), for the page being pulled.
        self.unsyncable: dict[str, str] = {}
        self._checked: set[str] = set()  # calendars the guard passed: `_member`

    @property
    def session(self) -> DavSession:
        own = getattr(self._thread, "session", None)
        if own is not None:
            return own
        if self._session is None:
            credential = self.connection.credential
            url = credential.server_url or self.server_url
            self._session = DavSession(
                url,
                credential.username,
                credential.app_password,
                service=self.key,
                gate=self._gate,
            )
        return self._session

    # --- batched writes ------------------------------------------------------------------
    def write_batch(self, writes: list[Write]) -> list[WriteResult]:
        """CalDAV has no batch write (each resource is its own PUT), but an update rewrites
        the resource it reads first, to keep what we do not map (alarms, attendees, the
        series' exceptions). The batch's updates read theirs in one calendar-multiget per
        calendar (RFC 4791 §7.9) rather than a GET each; then the writes go side by side.
        Each resource read that way serves its first write only: a second write to it reads
        what the first one left. If-Match still guards every PUT."""
        self._prefetched = self._read_ahead(writes)
        try:
            return super().write_batch(writes)
        finally:
            self._prefetched = {}

    def _read_ahead(self, writes: list[Write]) -> dict[str, tuple[bytes, str]]:
        urls = {one.remote_id.split("#", 1)[0] for one in writes if one.op == "update"}
        urls.discard("")
        if len(urls) < 2:  # one GET costs what a multiget does
            return {}
        by_calendar: dict[str, list[str]] = {}
        for url in sorted(urls):
            by_calendar.setdefault(_parent(url), []).append(url)
        found: dict[str, tuple[bytes, str]] = {}
        for calendar, members in by_calendar.items():
            for start in range(0, len(members), MULTIGET_HREFS):
                found |= self._read_resources(calendar, members[start : start + MULTIGET_HREFS])
        return found

    def _read_resources(self, calendar: str, urls: list[str]) -> dict[str, tuple[bytes, str]]:
        hrefs = "".join(f"<d:href>{escape(urlsplit(url).path)}</d:href>" for url in urls)
        reply = self.session.request(
            "REPORT", calendar, MULTIGET.format(hrefs=hrefs).encode(), {"Depth": "1", **XML_HEADERS}
        )
        if reply.status != 207:  # read one by one instead, as without the read-ahead
            return {}
        wanted, found = set(urls), {}
        for resource in reply.multistatus(self.key).resources:
            data = resource.text(f"{{{CALDAV}}}calendar-data")
            etag = resource.text(f"{{{DAV}}}getetag")
            url = absolute(calendar, resource.href)
            if resource.status == 200 and data and etag and url in wanted:
                found[url] = (data.encode(), etag)
        return found

    # --- write threads (`providers.parallel`) --------------------------------------------
    def prepare_threads(self) -> None:
        self.session  # noqa: B018 - reads the credential here, on the engine's thread

    def write_resource(self, one: Write) -> str:
        """The calendar object resource: a series' master and its instances share it."""
        target = one.remote_id or str(one.fields.get("series_remote_id") or "")
        return target.split("#", 1)[0] or one.dayflow_id

    def for_thread(self, relay: Any) -> None:
        self._thread.session = self.session.for_thread(relay)

    def leave_thread(self) -> None:
        own = getattr(self._thread, "session", None)
        if own is not None:
            own.close()
            self._thread.session = None

    @classmethod
    def kinds_synced(cls, mapping: object) -> tuple[str, ...]:
        todos = isinstance(mapping, dict) and mapping.get("sync_todos") is True
        return (ItemType.EVENT, ItemType.TASK) if todos else (ItemType.EVENT,)

    @property
    def sync_todos(self) -> bool:
        return bool((self.connection.field_mapping or {}).get("sync_todos"))

    def list_containers(self) -> list[Container]:
        return account_calendars(self.session)

    def calendars(self) -> list[str]:
        chosen = (self.connection.field_mapping or {}).get("calendars") or []
        return list(chosen) or [c.id for c in self.containers()]

    def containers(self) -> list[Container]:
        if self._containers is None:
            self._containers = self.list_containers()
        return self._containers

    def calendar_for(self, item_type: ItemType) -> str:
        """The first chosen calendar that takes this kind of item (VEVENT or VTODO)."""
        chosen = self.calendars()
        takes = {c.id for c in self.containers() if item_type in c.item_types}
        return next((url for url in chosen if url in takes), chosen[0])

    # --- pull ----------------------------------------------------------------------
    def pull(self, cursor: str | None, collection: str = "") -> Page:
        """Every change of the chosen calendars in one page; a rejected token -> full pull."""
        calendars = [collection] if collection else self.calendars()
        states = self.cursor_state(cursor, {}).get("calendars") or {}
        try:
            return self._pull(calendars, states, full=cursor is None)
        except CursorExpired:
            if cursor is None:
                raise
            logger.info("caldav: sync token rejected, pulling everything again")
            return self._pull(calendars, {}, full=True)

    def _pull(self, calendars: list[str], states: dict[str, Any], *, full: bool) -> Page:
        page = Page(full=full)
        new_states = {}
        self.unsyncable = {}
        for calendar in calendars:
            state = states.get(calendar) or {}
            changes = self._changes(calendar, state)
            received = changes.received
            missing = [href for href in changes.changed if href not in received]
            items: list[RemoteItem] = []
            for href in list(received):  # each resource's text let go once it is read
                etag, data = received.pop(href)
                items += self.items_of(self._member(calendar, href), data, etag, calendar)
            items += self._fetch(calendar, missing)
            gone = [self._member(calendar, href) for href in changes.deleted]
            fetched = [self._member(calendar, href) for href in changes.changed]
            new_state = changes.state
            new_state["series"], dropped = _track_series(
                state.get("series", {}), items, fetched, gone
            )
            dropped = self._keep_unsyncable(state.get("series", {}), new_state["series"], dropped)
            new_states[calendar] = new_state
            page.items += items
            page.deleted_ids += gone + dropped
        page.unsyncable = dict(self.unsyncable)
        page.next_cursor = json.dumps({"calendars": new_states}, sort_keys=True)
        return page

    def _keep_unsyncable(
        self, known: dict[str, list[str]], series: dict[str, list[str]], dropped: list[str]
    ) -> list[str]:
        """`dropped` without the exceptions of series we could not read this time: they are
        still there (unsyncable like their series), and still remembered."""
        for url in [u for u in self.unsyncable if u in known]:
            series[url] = known[url]
            for rid in known[url]:
                self.unsyncable[f"{url}#{rid}"] = self.unsyncable[url]
        return [d for d in dropped if d not in self.unsyncable]

    def _changes(self, calendar: str, state: dict[str, Any] | None) -> Changes:
        """What changed in one calendar since `state` (the calendar's part of the cursor)."""
        state = state or {}
        if state.get("token"):
            return self._sync_collection(calendar, state["token"], state.get("data", True))
        if "etags" not in state:
            # A first pull: ask for the changes since nothing (RFC 6578 §3.4, an empty token)
            # rather than first PROPFIND whether the server offers them: on Radicale that
            # PROPFIND alone costs as much as listing every member. Only when the REPORT is
            # refused does the PROPFIND decide, as it did before: no DAV:sync-token -> etags.
            try:
                return self._sync_collection(calendar, "", with_data=True)
            except SyncUnsupported:
                pass
            except (NotFound, RefusedTarget):
                raise
            except Permanent:
                if self._offers_sync_tokens(calendar):
                    raise
            logger.info("caldav: no sync-collection REPORT here, comparing etags")
        return self._etag_changes(calendar, state)

    def _offers_sync_tokens(self, calendar: str) -> bool:
        props = self.session.propfind(calendar, PROPFIND_CALENDARS)
        return bool(props.resources and props.resources[0].text(f"{{{DAV}}}sync-token"))

    def _sync_collection(self, calendar: str, token: str, with_data: bool) -> Changes:
        """Changes by RFC 6578 sync-collection. The REPORT asks for calendar-data as well (as
        python-caldav's default sync-collection body does), so the changed members usually
        come with their data and need no multiget; members a server lists without their data
        get one (`Changes.changed` minus `Changes.received`). RFC 6578 does not promise
        calendar-data there: a server that refuses the REPORT with it is asked again without,
        and the calendar's state remembers that (`"data": false`). So is a first pull whose
        answer with every member's data does not come in time (a calendar of tens of
        thousands of events: Radicale builds all of it, then refuses it over its cap): the
        listing alone is small, and the members come by multiget, a part at a time."""
        if not with_data:
            changes = self._sync_rounds(calendar, token, with_data=False)
            changes.state["data"] = False
            return changes
        try:
            return self._sync_rounds(calendar, token, with_data=True)
        except ServerUnreachable as exc:
            if token or exc.reason != "timeout":
                raise
            logger.info(
                "caldav: a first sync-collection with calendar-data timed out, asking without"
            )
            return self._sync_collection(calendar, token, with_data=False)
        except Permanent as exc:
            if isinstance(exc, NotFound | SyncUnsupported | RefusedTarget):
                raise
            logger.info("caldav: sync-collection refused with calendar-data, asking without")
            return self._sync_collection(calendar, token, with_data=False)

    def _sync_rounds(self, calendar: str, token: str, with_data: bool) -> Changes:
        alive: dict[str, bool] = {}  # href -> still there
        received: dict[str, tuple[str, str]] = {}
        for _ in range(MAX_SYNC_ROUNDS):
            found = self._sync_report(calendar, token, with_data)
            truncated = False
            for resource in found.resources:
                if _is_collection(resource, calendar):
                    truncated = truncated or resource.status == 507
                    continue
                alive[resource.href] = resource.status != 404
                data = resource.text(f"{{{CALDAV}}}calendar-data")
                if resource.status == 200 and data:
                    received[resource.href] = (resource.text(f"{{{DAV}}}getetag"), data)
                else:
                    received.pop(resource.href, None)
            token = found.sync_token
            # RFC 6578 §3.6: a 507 on the collection itself means "truncated, ask again".
            if not truncated:
                break
        return Changes(
            changed=[href for href, there in alive.items() if there],
            deleted=[href for href, there in alive.items() if not there],
            state={"token": token},
            received=received,
        )

    def _sync_report(self, calendar: str, token: str, with_data: bool) -> Streamed:
        data = "<c:calendar-data/>" if with_data else ""
        body = SYNC_COLLECTION.format(token=escape(token), data=data).encode()
        reply = self.session.request("REPORT", calendar, body, {"Depth": "1", **XML_HEADERS})
        if reply.status in (403, 409) and b"valid-sync-token" in reply.body:
            raise CursorExpired("the server no longer accepts the sync token", service=self.key)
        if reply.status in UNSUPPORTED_REPORT:
            raise SyncUnsupported(
                f"sync-collection: status {reply.status}", status=reply.status, service=self.key
            )
        if reply.status != 207:
            raise status_error(reply.status, f"sync-collection {_path(calendar)}", self.key)
        found = reply.streamed(self.key)
        if not found.sync_token:  # nothing to go on from next time: not RFC 6578
            raise SyncUnsupported("sync-collection answered without a sync-token", service=self.key)
        return found

    def _etag_changes(self, calendar: str, state: dict[str, Any]) -> Changes:
        # Servers without RFC 6578: an unchanged ctag means nothing changed; otherwise compare
        # every member's etag with the ones we saw last time.
        ctag = self.session.propfind(calendar, PROPFIND_CALENDARS).resources[0]
        ctag_value = ctag.text(f"{{{CALSERVER}}}getctag")
        old = state.get("etags", {})
        if ctag_value and ctag_value == state.get("ctag"):
            return Changes([], [], state)
        listing = self.session.propfind(calendar, PROPFIND_ETAGS, depth="1")
        etags = {
            r.href: r.text(f"{{{DAV}}}getetag")
            for r in listing.resources
            if not _is_collection(r, calendar)
        }
        changed = [href for href, etag in etags.items() if old.get(href) != etag]
        deleted = [href for href in old if href not in etags]
        return Changes(changed, deleted, {"ctag": ctag_value, "etags": etags})

    def _fetch(self, calendar: str, hrefs: list[str]) -> list[RemoteItem]:
        """The members' items, by calendar-multiget, `MULTIGET_PULL_HREFS` at a time."""
        items: list[RemoteItem] = []
        for start in range(0, len(hrefs), MULTIGET_PULL_HREFS):
            items += self._multiget(calendar, hrefs[start : start + MULTIGET_PULL_HREFS])
        return items

    def _multiget(self, calendar: str, hrefs: list[str]) -> list[RemoteItem]:
        if not hrefs:
            return []
        body = MULTIGET.format(hrefs="".join(f"<d:href>{escape(h)}</d:href>" for h in hrefs))
        reply = self.session.request(
            "REPORT", calendar, body.encode(), {"Depth": "1", **XML_HEADERS}
        )
        if reply.status in TOO_LARGE and len(hrefs) >= 2 * MULTIGET_MIN_HREFS:
            # A server may cap what one REPORT answers (Radicale: 10,000 VEVENTs, a 400):
            # ask for each half. A server refusing any multiget fails within a few halvings.
            half = len(hrefs) // 2
            return self._multiget(calendar, hrefs[:half]) + self._multiget(calendar, hrefs[half:])
        if reply.status != 207:
            raise status_error(reply.status, f"calendar-multiget {_path(calendar)}", self.key)
        items = []
        for resource in reply.multistatus(self.key).resources:
            data = resource.text(f"{{{CALDAV}}}calendar-data")
            if resource.status == 200 and data:
                url = self._member(calendar, resource.href)
                etag = resource.text(f"{{{DAV}}}getetag")
                items += self.items_of(url, data, etag, calendar)
        return items

    def _member(self, calendar: str, href: str) -> str:
        """A member's URL from the href the server sent: refused unless the guard would let
        us request it, so no remote id ever points elsewhere. An absolute path, what servers
        send, is on the calendar's own server: the calendar is checked, once per pull, and
        not each of its thousands of members again (the guard parses and looks up each)."""
        url = absolute(calendar, href)
        if _on_same_server(href):
            if calendar not in self._checked:
                self.session.check(calendar)
                self._checked.add(calendar)
        else:
            self.session.check(url)
        return url

    def items_of(self, url: str, data: str | bytes, etag: str, calendar: str) -> list[RemoteItem]:
        """The normalized items one calendar object resource holds.

        `ical_reader` reads most resources at a fraction of icalendar's cost; what it refuses,
        icalendar reads as before. Both give the same items (tests/.../test_ical_reader.py).
        """
        read = ical_reader.read(data, service=self.key)
        if read is None:
            parsed = events.parse_for_reading(data, service=self.key)
            return self.items_in(parsed, url, etag, calendar)
        return self._items(url, etag, calendar, *read)

    def items_in(self, parsed: Any, url: str, etag: str, calendar: str) -> list[RemoteItem]:
        """`items_of` for a calendar already parsed."""
        todos = parsed.walk("VTODO") if self.sync_todos else []
        vevents = [_read_item(c, self.key) for c in parsed.walk("VEVENT")]
        todos = [_read_item(c, self.key) for c in todos]
        return self._items(url, etag, calendar, vevents, todos)

    def _items(
        self,
        url: str,
        etag: str,
        calendar: str,
        vevents: list[ical_reader.Item],
        todos: list[ical_reader.Item],
    ) -> list[RemoteItem]:
        if any(c.rdate for c in vevents):
            # Extra dates have no place in the model (nor in Graph): leave the series out
            # rather than sync it without them, and say so (Page.unsyncable).
            title = next((c.summary for c in vevents if c.summary), "")
            reason = f"{title or 'a series'}: extra dates (RDATE) are not supported"
            for component in vevents:
                instance = f"#{component.fields()['recurrence_id']}" if component.recurrence else ""
                self.unsyncable[f"{url}{instance}"] = reason
            return []
        series = len(vevents) > 1
        items = [_event_item(url, c, etag, calendar, series) for c in vevents]
        if self.sync_todos:
            items += [_task_item(url, c, etag, calendar) for c in todos]
        return items

    def get(self, remote_id: str) -> RemoteItem:
        url = remote_id.split("#", 1)[0]
        resource = self._get(url)
        items = self.items_in(resource.calendar(), url, resource.etag, _parent(url))
        items += [
            _task_item(url, _read_item(c, self.key), resource.etag, _parent(url))
            for c in resource.todos()
        ]
        found = next((item for item in items if item.remote_id == remote_id), None)
        if found is None:
            raise NotFound(f"{_path(url)} holds no such item", service=self.key)
        return found

    def find_by_dayflow_id(self, dayflow_id: str, collection: str = "") -> RemoteItem | None:
        """Items we create are named after DayFlow's id: one GET per calendar finds them."""
        name = f"{resource_name(make_uid(dayflow_id))}.ics"
        for calendar in [collection] if collection else self.calendars():
            try:
                return self.get(urljoin(calendar, name))
            except NotFound:
                continue
        return None

    # --- writes --------------------------------------------------------------------
    def create(
        self, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        """PUT with If-None-Match: * at a URL named after DayFlow's id, so a retried create
        finds what it already made instead of duplicating it."""
        fields = events.for_creating(fields)
        if fields.get("series_remote_id"):
            return self._write_exception(fields["series_remote_id"], fields, "")
        is_task = "start" not in fields
        calendar = collection or self.calendar_for(ItemType.TASK if is_task else ItemType.EVENT)
        uid = make_uid(dayflow_id)
        url = urljoin(calendar, f"{resource_name(uid)}.ics")
        body = events.serialize(_calendar_with(fields, uid))
        reply = self._put(url, body, {"If-None-Match": "*"})
        if reply.status == 412:
            return self._existing(url, calendar, uid)
        return self._item_after_write(url, self._written(url, reply, body), calendar)

    def restore(
        self, remote_id: str, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        """Put a deleted item back at its own href with its own UID (If-None-Match: *, so an
        item that is there again is found, never overwritten). An overridden instance goes
        back into its master's resource, as any new exception does."""
        if "#" in remote_id or fields.get("series_remote_id"):
            return self.create(fields, dayflow_id=dayflow_id, collection=collection)
        fields = events.for_creating(fields)
        uid = uid_for(remote_id, dayflow_id)
        body = events.serialize(_calendar_with(fields, uid))
        reply = self._put(remote_id, body, {"If-None-Match": "*"})
        if reply.status == 412:
            return self._existing(remote_id, _parent(remote_id), uid)
        return self._item_after_write(
            remote_id, self._written(remote_id, reply, body), _parent(remote_id)
        )

    def update(self, remote_id: str, fields: dict[str, Any], version: str = "") -> RemoteItem:
        """Rewrite the item inside its resource (keeping the series' other components), with
        If-Match: a 412 is a conflict for the engine, never an overwrite."""
        fields = events.for_writing(fields)
        if "#" in remote_id:
            return self._write_exception(remote_id.split("#", 1)[0], fields, version)
        resource = self._get(remote_id)
        resource.check(version, "")
        calendar = events.new_calendar()
        fresh = _calendar_with(fields, resource.uid, _is_task(resource.components)).subcomponents
        for component in resource.components:
            # The master is rewritten over what it holds, the exceptions are kept as they are.
            is_master = component.get("RECURRENCE-ID") is None
            calendar.add_component(
                events.updated_component(component, fresh[0]) if is_master else component
            )
        body = events.serialize(calendar)
        reply = self._put(remote_id, body, {"If-Match": resource.etag})
        return self._item_after_write(
            remote_id, self._written(remote_id, reply, body), _parent(remote_id)
        )

    def move(self, remote_id: str, collection: str, version: str = "") -> RemoteItem:
        """WebDAV MOVE of the resource into another calendar of the account, under the same
        name, with If-Match and without overwriting (RFC 4918 §9.9). An overridden instance
        lives inside its series' resource and moves with it, never alone."""
        if "#" in remote_id:
            raise Permanent("an instance moves with its series", service=self.key)
        if collection not in self.calendars():
            raise Permanent("not one of the calendars this connection syncs", service=self.key)
        target = urljoin(collection, remote_id.rstrip("/").rsplit("/", 1)[-1])
        self.session.check(target)
        etag = version.split(VERSION_SEPARATOR, 1)[0]
        headers = {"Destination": target, "Overwrite": "F", **({"If-Match": etag} if etag else {})}
        reply = self.session.request("MOVE", remote_id, b"", headers)
        if reply.status == 412 and etag:
            raise PreconditionFailed("the item changed on the server", status=412, service=self.key)
        if reply.status not in (201, 204):
            raise status_error(reply.status, f"MOVE {_path(remote_id)}", self.key)
        return self._item_after_write(target, self._get(target), collection)

    def delete(self, remote_id: str, version: str = "") -> None:
        """DELETE with If-Match; an overridden instance becomes an EXDATE of its master."""
        if "#" in remote_id:
            self._delete_exception(*remote_id.split("#", 1), version)
            return
        etag = version.split(VERSION_SEPARATOR, 1)[0]
        if VERSION_SEPARATOR in version:  # a series: the etag may have moved with an exception
            resource = self._get(remote_id)
            resource.check(version, "")
            etag = resource.etag
        headers = {"If-Match": etag} if etag else {}
        reply = self.session.request("DELETE", remote_id, b"", headers)
        if reply.status == 412:
            raise PreconditionFailed("the item changed on the server", status=412, service=self.key)
        if reply.status not in (200, 204, 404):
            raise status_error(reply.status, f"DELETE {_path(remote_id)}", self.key)

    def _write_exception(self, url: str, fields: dict[str, Any], version: str) -> RemoteItem:
        resource = self._get(url)
        tzname = resource.master_timezone()
        recurrence_id = events.iso(events.parse_iso(fields["recurrence_id"], tzname), tzname)
        resource.check(version, recurrence_id)
        calendar, base = events.new_calendar(), None
        for component in resource.components:
            if _recurrence_key(component, tzname) != recurrence_id:
                calendar.add_component(component)
            else:
                base = component
        # A new exception starts from its master, so the instance keeps its alarms, attendees…
        base = base if base is not None else _master(resource.components)
        fresh = events.fields_to_vevent({**fields, "recurrence_id": recurrence_id}, resource.uid)
        calendar.add_component(events.updated_component(base, fresh) if base else fresh)
        body = events.serialize(calendar)
        reply = self._put(url, body, {"If-Match": resource.etag})
        return self._item_after_write(
            url, self._written(url, reply, body), _parent(url), recurrence_id
        )

    def delete_instance(
        self, remote_id: str, series_remote_id: str, version: str = ""
    ) -> RemoteItem | None:
        """The instance leaves the resource and becomes an EXDATE of its master, which is
        returned as the server now holds it."""
        if "#" not in remote_id:
            self.delete(remote_id, version)
            return None
        return self._delete_exception(*remote_id.split("#", 1), version)

    def _delete_exception(self, url: str, recurrence_id: str, version: str) -> RemoteItem | None:
        resource = self._get(url)
        tzname = resource.master_timezone()
        resource.check(version, recurrence_id)
        calendar, master = events.new_calendar(), None
        for component in resource.components:
            if _recurrence_key(component, tzname) == recurrence_id:
                continue
            if component.get("RECURRENCE-ID") is None and component.get("RRULE") is not None:
                component.add("exdate", events.parse_iso(recurrence_id, tzname))
                events.bump_sequence(component)
                master = component
            calendar.add_component(component)
        body = events.serialize(calendar)
        reply = self._put(url, body, {"If-Match": resource.etag})
        if master is None:
            return None
        return self._item_after_write(url, self._written(url, reply, body), _parent(url))

    def _put(self, url: str, body: bytes, headers: dict[str, str]) -> DavReply:
        headers = {"Content-Type": "text/calendar; charset=utf-8", **headers}
        reply = self.session.request("PUT", url, body, headers)
        if reply.status == 412 and "If-Match" in headers:
            raise PreconditionFailed("the item changed on the server", status=412, service=self.key)
        if reply.status not in (200, 201, 204, 412):
            raise status_error(reply.status, f"PUT {_path(url)}", self.key)
        return reply

    def _get(self, url: str) -> Resource:
        ahead = self._prefetched.pop(url, None)  # read by the batch's multiget (write_batch)
        if ahead is not None:
            return self._resource(*ahead)
        reply = self.session.request("GET", url)
        if reply.status != 200:
            raise status_error(reply.status, f"GET {_path(url)}", self.key)
        return self._resource(reply.body, reply.header("etag"))

    def _resource(self, data: bytes, etag: str) -> Resource:
        parsed = events.parse_calendar(data, service=self.key)
        components = [c for c in parsed.subcomponents if c.name in ("VEVENT", "VTODO")]
        if not components:
            raise UnexpectedPayload(self.key, "VEVENT", "the resource holds no event or task")
        return Resource(etag, components, self.key)

    def _existing(self, url: str, calendar: str, uid: str) -> RemoteItem:
        resource = self._get(url)
        if resource.uid != uid:
            raise Permanent(f"{_path(url)} holds another item", status=412, service=self.key)
        return self._item_after_write(url, resource, calendar)

    def _item_after_write(
        self, url: str, resource: Resource, calendar: str, recurrence_id: str = ""
    ) -> RemoteItem:
        items = self.items_in(resource.calendar(), url, resource.etag, calendar)
        if not self.sync_todos:
            items += [
                _task_item(url, _read_item(c, self.key), resource.etag, calendar)
                for c in resource.todos()
            ]
        wanted = f"{url}#{recurrence_id}" if recurrence_id else url
        found = next((item for item in items if item.remote_id == wanted), None)
        if found is None:
            raise UnexpectedPayload(self.key, "VEVENT", f"{_path(url)} lost the item we wrote")
        return found

    def _written(self, url: str, reply: DavReply, sent: bytes) -> Resource:
        """What the server holds after our PUT. With a strong ETag in its answer it holds what
        we sent: a server that stores anything else must not return one (RFC 4791 §5.3.4).
        Apple's server issues strong ETags on PUT (apple/ccs-calendarserver#63), Radicale does
        too; Cyrus (Fastmail) and sabre/dav leave it out when they rewrote the data (Cyrus for
        scheduling objects, cyrusimap/cyrus-imapd#2456). Without one, or with a weak one, the
        item is read back."""
        etag = reply.header("etag")
        if etag and not etag.startswith("W/"):
            return self._resource(sent, etag)
        resource = self._get(url)
        if etag and etag != resource.etag:
            logger.info("caldav: the server changed the item after our write")
        return resource


@dataclasses.dataclass
class Resource:
    """A calendar object resource as we read it: its etag, its components, whose server."""

    etag: str
    components: list[Any]
    service: str

    @property
    def uid(self) -> str:
        return str(self.components[0].get("UID", ""))

    def master_timezone(self) -> str:
        for component in self.components:
            if component.get("RECURRENCE-ID") is None and component.get("DTSTART") is not None:
                return events.zone_name(component["DTSTART"].dt)
        return ""

    def check(self, version: str, recurrence_id: str) -> None:
        """PreconditionFailed unless the item we hold at `version` is unchanged on the server.

        In a series, every item shares the resource's etag, so an item whose etag moved is
        still current when its own component is (an edit of a sibling moved the etag).
        """
        etag, _, digest = version.partition(VERSION_SEPARATOR)
        if not version or etag == self.etag:
            return
        tzname = self.master_timezone()
        mine = [c for c in self.components if _recurrence_key(c, tzname) == recurrence_id]
        if digest and mine and _digest(mine[0], self.service) == digest:
            return
        raise PreconditionFailed("the item changed on the server", status=412, service=self.service)

    def todos(self) -> list[Any]:
        return [c for c in self.components if c.name == "VTODO"]

    def calendar(self) -> Any:
        """The components in a VCALENDAR, as parsed: read without serializing them again."""
        calendar = events.new_calendar()
        for component in self.components:
            calendar.add_component(component)
        return calendar

    def raw(self) -> bytes:
        return self.calendar().to_ical()


SYNC_COLLECTION = """<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level>
  <d:prop><d:getetag/>{data}</d:prop>
</d:sync-collection>"""

MULTIGET_HREFS = 100  # resources asked for in one calendar-multiget of a write batch
# Resources asked for in one calendar-multiget of a pull: servers cap a REPORT's answer
# (Radicale at 10,000 VEVENTs, `max_expand_occurrence`, answering 400 beyond), so a large
# calendar is read in parts; a part still refused as too large is asked for in halves, down to
# `MULTIGET_MIN_HREFS`.
MULTIGET_PULL_HREFS = 1000
MULTIGET_MIN_HREFS = 25
TOO_LARGE = frozenset({400, 413, 507})
MULTIGET = """<?xml version="1.0" encoding="utf-8"?>
<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>{hrefs}
</c:calendar-multiget>"""

PROPFIND_ETAGS = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:resourcetype/></d:prop></d:propfind>"""

UID_SUFFIX = "@dayflow"


def make_uid(dayflow_id: str) -> str:
    """The UID of an item DayFlow creates: it carries DayFlow's id."""
    return f"{dayflow_id or uuid.uuid4().hex}{UID_SUFFIX}"


def dayflow_id_of(uid: str) -> str:
    return uid.removesuffix(UID_SUFFIX) if uid.endswith(UID_SUFFIX) else ""


def resource_name(uid: str) -> str:
    # Only URL-safe characters: the href the server reports back is then the one we chose.
    return re.sub(r"[^A-Za-z0-9_.-]", "-", uid)


def uid_for(url: str, dayflow_id: str) -> str:
    """The UID a deleted resource had, from its href: ours is named after DayFlow's UID; the
    clients we know (Apple Calendar, Fastmail, Thunderbird, DAVx5) name theirs `<UID>.ics`.
    The UID itself went with the resource, so a server that named it otherwise gets the item
    back at its href under the UID its name spells."""
    name = unquote(url.rstrip("/").rsplit("/", 1)[-1])
    ours = make_uid(dayflow_id) if dayflow_id else ""
    if ours and name == f"{resource_name(ours)}.ics":
        return ours
    return name.removesuffix(".ics")


def _is_collection(resource: DavResource, calendar: str) -> bool:
    return absolute(calendar, resource.href).rstrip("/") == calendar.rstrip("/")


def absolute(base: str, href: str) -> str:
    """`urljoin(base, href)`, without its cost for what servers send: an absolute path with
    no dot segments (a first pull joins thousands)."""
    if _on_same_server(href):
        return _origin(base) + href
    return urljoin(base, href)


def _on_same_server(href: str) -> bool:
    """An absolute path with no dot segments: joined to any URL, it keeps that URL's scheme,
    host and port (RFC 3986 §5.2.2), whatever else it holds."""
    return href.startswith("/") and not href.startswith("//") and "/." not in href


@functools.lru_cache(maxsize=64)
def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _parent(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/"


def _master(components: list[Any]) -> Any | None:
    return next((c for c in components if c.get("RECURRENCE-ID") is None), None)


def _is_task(components: list[Any]) -> bool:
    return any(c.name == "VTODO" for c in components)


def _track_series(
    known: dict[str, list[str]], items: list[RemoteItem], fetched: list[str], gone: list[str]
) -> tuple[dict[str, list[str]], list[str]]:
    """The exceptions each series resource holds now, and the ids of those that went away.

    A series and its exceptions share one resource: when it changes or disappears, only the
    cursor remembers which exceptions it held before.
    """
    now: dict[str, list[str]] = {}
    for item in items:
        if item.fields.get("recurrence_id") and "#" in item.remote_id:
            url, _, rid = item.remote_id.partition("#")
            now.setdefault(url, []).append(rid)
    dropped = [
        f"{url}#{rid}"
        for url in (*fetched, *gone)
        for rid in known.get(url, [])
        if rid not in now.get(url, [])
    ]
    kept = {url: rids for url, rids in known.items() if url not in fetched and url not in gone}
    return {**kept, **{url: sorted(rids) for url, rids in now.items()}}, dropped


VERSION_SEPARATOR = "~"


def component_version(etag: str, fields: dict[str, Any], series: bool) -> str:
    """The etag, plus for a series (several components in one resource) the component's own
    digest, so an edit of one instance does not make its siblings look stale."""
    return f"{etag}{VERSION_SEPARATOR}{_fields_digest(fields)}" if series else etag


def _digest(component: Any, service: str) -> str:
    """`component_version`'s digest of an icalendar component."""
    try:
        return _fields_digest(_read_item(component, service).fields())
    except (Permanent, ValueError, AttributeError):
        return ""  # unreadable now: it cannot be the version we read


def _fields_digest(fields: dict[str, Any]) -> str:
    """A digest of what DayFlow models of one component: its fields as read.

    The fields, not the serialized component: both readers (ical_reader and icalendar) give the
    same fields for the same text, a DTSTAMP rewrite changes none, and a change of something we
    do not model is kept by the merge on write anyway. Until 2026-11 this hashed icalendar's
    serialization: existing links' series versions change once after the upgrade (one extra
    no-op comparison per series component).
    """
    text = json.dumps(fields, sort_keys=True, default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain(value: Any) -> str:
    zone = getattr(getattr(value, "tzinfo", None), "key", "")
    return f"{type(value).__name__}:{value.isoformat()}:{zone}"


def _recurrence_key(component: Any, tzname: str) -> str:
    recurrence_id = component.get("RECURRENCE-ID")
    return events.iso(recurrence_id.dt, tzname) if recurrence_id is not None else ""


def _calendar_with(fields: dict[str, Any], uid: str, task: bool | None = None) -> Any:
    calendar = events.new_calendar()
    is_task = ("start" not in fields) if task is None else task
    build = events.fields_to_vtodo if is_task else events.fields_to_vevent
    calendar.add_component(build(fields, uid))
    return calendar


def _read_item(component: Any, service: str) -> ical_reader.Item:
    """An icalendar VEVENT or VTODO (of `service`) as the fast reader hands them over."""

    def to_fields() -> dict[str, Any]:
        if component.name == "VTODO":
            return events.vtodo_to_fields(component)
        return events.vevent_to_fields(component, service=service)

    return ical_reader.Item(
        component.name,
        str(component.get("UID", "")),
        str(component.get("SUMMARY", "")) if component.get("SUMMARY") else "",
        component.get("RECURRENCE-ID") is not None,
        component.get("RDATE") is not None,
        _last_modified(component),
        to_fields,
    )


def _event_item(
    url: str, item: ical_reader.Item, etag: str, calendar: str, series: bool
) -> RemoteItem:
    fields = item.fields()
    version = component_version(etag, fields, series)
    remote_id = url
    if fields["recurrence_id"]:
        remote_id = f"{url}#{fields['recurrence_id']}"
        fields["series_remote_id"] = url
    return RemoteItem(
        remote_id,
        ItemType.EVENT,
        fields,
        version=version,
        updated_at=item.updated_at,
        collection=calendar,
        dayflow_id=dayflow_id_of(item.uid),
    )


def _task_item(url: str, item: ical_reader.Item, etag: str, calendar: str) -> RemoteItem:
    return RemoteItem(
        url,
        ItemType.TASK,
        item.fields(),
        version=etag,
        updated_at=item.updated_at,
        collection=calendar,
        dayflow_id=dayflow_id_of(item.uid),
    )


def _last_modified(component: Any) -> dt.datetime | None:
    value = component.get("LAST-MODIFIED") or component.get("DTSTAMP")
    return value.dt if value is not None and isinstance(value.dt, dt.datetime) else None


class AppleCalendarProvider(CalDAVProvider):
    key = "apple-calendar"
    name = "Apple Calendar"
    docs_url = "https://support.apple.com/102654"
    server_url = "https://caldav.icloud.com/"


class FastmailProvider(CalDAVProvider):
    key = "fastmail"
    name = "Fastmail"
    docs_url = "https://www.fastmail.help/hc/en-us/articles/1500000278342"
    server_url = "https://caldav.fastmail.com/dav/"  # the trailing slash matters
