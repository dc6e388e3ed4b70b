"""CalDAV calendars (RFC 4791), incremental with sync-collection (RFC 6578).

One provider, two presets: Apple iCloud and Fastmail, plus any other server URL.

The `caldav` library carries the HTTP (auth negotiation, niquests); the WebDAV XML is built and
read here, by small pure functions, so the same parser reads Radicale's live answers and the
recorded iCloud ones.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from caldav import DAVClient
from caldav.lib import error as dav_error
from lxml import etree

from integrations.providers.base import AuthStyle, Container, ItemType, Kind, Provider
from integrations.providers.errors import (
    AuthExpired,
    CursorExpired,
    NotFound,
    Permanent,
    RateLimited,
    Transient,
)

SERVICE = "caldav"
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


def parse_multistatus(body: bytes) -> Multistatus:
    """Read a 207 body; raises Permanent when it is not a WebDAV multistatus."""
    try:
        root = etree.fromstring(body.strip(), parser=XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise Permanent("the server did not answer with WebDAV XML", service=SERVICE) from exc
    if root.tag != f"{{{DAV}}}multistatus":
        raise Permanent("the server did not answer with a WebDAV multistatus", service=SERVICE)
    resources = [_parse_response(r) for r in root.findall(f"{{{DAV}}}response")]
    token = root.findtext(f"{{{DAV}}}sync-token") or ""
    return Multistatus(resources, token.strip())


def _parse_response(response: etree._Element) -> DavResource:
    href = unquote((response.findtext(f"{{{DAV}}}href") or "").strip())
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
@dataclasses.dataclass(frozen=True)
class DavReply:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


class DavSession:
    """One account's HTTP access to a CalDAV server. Raises only our typed errors."""

    def __init__(self, server_url: str, username: str, password: str) -> None:
        scheme = urlsplit(server_url).scheme
        if scheme not in ("http", "https"):
            raise Permanent(f"not a server address: {server_url!r}", service=SERVICE)
        self.server_url = server_url
        # RFC 6764 discovery does DNS look-ups of its own: we are always given a full URL.
        self.client = DAVClient(
            url=server_url,
            username=username,
            password=password,
            timeout=TIMEOUT,
            enable_rfc6764=False,
        )

    def request(
        self, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> DavReply:
        try:
            response = self.client.request(url, method, body, headers or {})
        except dav_error.AuthorizationError as exc:
            raise _authorization_error(exc) from exc
        except dav_error.RateLimitError as exc:
            wait = float(getattr(exc, "retry_after_seconds", None) or 60)
            raise RateLimited(
                "the server asks to slow down", retry_after=wait, service=SERVICE
            ) from exc
        except (OSError, etree.XMLSyntaxError) as exc:
            raise _network_error(exc) from exc
        return _reply(response)

    def propfind(self, url: str, body: bytes, depth: str = "0") -> Multistatus:
        reply = self.request("PROPFIND", url, body, {"Depth": depth, **XML_HEADERS})
        if reply.status != 207:
            raise status_error(reply.status, f"PROPFIND {_path(url)}")
        return parse_multistatus(reply.body)


XML_HEADERS = {"Content-Type": "application/xml; charset=utf-8"}


def _reply(response: Any) -> DavReply:
    raw = getattr(response, "_raw_body", b"") or b""
    if not raw and getattr(response, "tree", None) is not None:
        raw = etree.tostring(response.tree)
    elif not raw:
        raw = response.raw.encode() if isinstance(response.raw, str) else response.raw or b""
    headers = {k.lower(): v for k, v in dict(response.headers).items()}
    return DavReply(int(response.status), headers, raw)


def _authorization_error(exc: dav_error.DAVError) -> Exception:
    if f"{{{DAV}}}valid-sync-token" in exc.preconditions:
        return CursorExpired("the server no longer accepts the sync token", service=SERVICE)
    if exc.status == 403:
        return AuthExpired("the server refused access for this account", service=SERVICE)
    return AuthExpired("wrong username or app password", service=SERVICE)


def _network_error(exc: Exception) -> Exception:
    if isinstance(exc, etree.XMLSyntaxError):
        return Permanent("the server sent XML that cannot be read", service=SERVICE)
    return Transient(f"could not reach the server ({type(exc).__name__})", service=SERVICE)


def status_error(status: int, what: str) -> Exception:
    """An unexpected HTTP status as a typed error."""
    if status == 404:
        return NotFound(f"{what}: not found", status=status, service=SERVICE)
    if status >= 500:
        return Transient(f"{what}: server error {status}", service=SERVICE)
    return Permanent(f"{what}: unexpected status {status}", status=status, service=SERVICE)


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


# --- discovery --------------------------------------------------------------------------
def discover(server_url: str, username: str, password: str) -> list[Container]:
    """Principal -> calendar home -> calendars (RFC 4791 §6.2.1, RFC 5397).

    Raises AuthExpired for wrong credentials, Transient when the server cannot be reached and
    Permanent when the URL does not lead to a CalDAV server.
    """
    session = DavSession(server_url, username, password)
    principal = find_principal(session)
    home = find_calendar_home(session, principal)
    return calendar_containers(session.propfind(home, PROPFIND_CALENDARS, depth="1"), home)


def find_principal(session: DavSession) -> str:
    try:
        found = session.propfind(session.server_url, PROPFIND_PRINCIPAL)
    except Permanent as exc:
        raise Permanent(
            "this address is not a CalDAV server (no WebDAV answer)", service=SERVICE
        ) from exc
    hrefs = [h for r in found.resources for h in r.hrefs(f"{{{DAV}}}current-user-principal")]
    if not hrefs:
        raise Permanent("this address is not a CalDAV server (no principal)", service=SERVICE)
    return urljoin(session.server_url, hrefs[0])


def find_calendar_home(session: DavSession, principal_url: str) -> str:
    found = session.propfind(principal_url, PROPFIND_HOME)
    hrefs = [h for r in found.resources for h in r.hrefs(f"{{{CALDAV}}}calendar-home-set")]
    if not hrefs:
        raise Permanent("the account has no calendar home (not CalDAV)", service=SERVICE)
    return urljoin(principal_url, hrefs[0])


class CalDAVProvider(Provider):
    key = "caldav"
    name = "CalDAV"
    kind = Kind.CALENDAR
    auth = AuthStyle.APP_PASSWORD
    docs_url = "https://www.rfc-editor.org/rfc/rfc6578"
    server_url = ""
    item_types = (ItemType.EVENT, ItemType.TASK)
    change_feed = "sync-collection (RFC 6578), ctag/etag fallback"
    mapping_schema = {"calendars": list, "sync_todos": bool}


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
