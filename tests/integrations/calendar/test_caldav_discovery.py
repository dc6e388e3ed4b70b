"""CalDAV discovery: against a real Radicale, a plain web server, nothing, and iCloud's XML."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urljoin

import pytest

from integrations.providers import caldav as caldav_module
from integrations.providers.base import ItemType
from integrations.providers.caldav import (
    CalDAVProvider,
    DavReply,
    Forbidden,
    calendar_containers,
    discover,
    parse_multistatus,
)
from integrations.providers.errors import AuthExpired, Permanent, Transient
from tests.radicale import RadicaleAccount, RadicaleServer, free_port

ICLOUD = Path(__file__).resolve().parents[2] / "fixtures" / "icloud"


def test_discover_finds_the_calendars_and_their_components(
    radicale_server: RadicaleServer, radicale_account: RadicaleAccount
) -> None:
    # given an account with a mixed calendar and an events-only one
    mixed = radicale_server.mkcalendar(radicale_account, "Work")
    events_only = radicale_server.mkcalendar(radicale_account, "Holidays", ("VEVENT",))
    # when the connect form discovers them
    found = discover(radicale_server.url, radicale_account.username, radicale_account.password)
    # then both are there, with what they hold
    by_url = {c.id: c for c in found}
    assert set(by_url) == {mixed.url, events_only.url}
    assert by_url[mixed.url].name == "Work"
    assert by_url[mixed.url].item_types == (ItemType.EVENT, ItemType.TASK)
    assert by_url[events_only.url].item_types == (ItemType.EVENT,)
    assert by_url[mixed.url].parent == radicale_account.principal_url


def test_discover_with_a_wrong_password_is_auth_expired(
    radicale_account: RadicaleAccount,
) -> None:
    with pytest.raises(AuthExpired, match="wrong username or app password"):
        discover(radicale_account.server_url, radicale_account.username, "wrong-password")


def test_discover_an_unreachable_server_is_transient() -> None:
    with pytest.raises(Transient, match="could not reach"):
        discover(f"http://127.0.0.1:{free_port()}/", "someone", "secret")


class _PlainWebsite(http.server.BaseHTTPRequestHandler):
    def do_PROPFIND(self) -> None:
        status = 404 if self.path.startswith("/missing") else 200
        body = b"<html><body>Welcome to my homepage</body></html>"
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def plain_website() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _PlainWebsite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path", ["", "missing/"])
def test_discover_a_plain_website_is_permanent(plain_website: str, path: str) -> None:
    with pytest.raises(Permanent, match="not a CalDAV server"):
        discover(plain_website + path, "someone", "secret")


def test_discover_a_url_that_is_not_http_is_permanent() -> None:
    with pytest.raises(Permanent, match="not a server address"):
        discover("ftp://127.0.0.1/", "someone", "secret")


def test_discover_a_path_radicale_does_not_know_is_permanent(
    radicale_account: RadicaleAccount,
) -> None:
    with pytest.raises(Permanent, match="not a CalDAV server"):
        discover(
            radicale_account.principal_url + "nothing-here/x.ics",
            radicale_account.username,
            radicale_account.password,
        )


def test_icloud_recorded_discovery_replies_parse() -> None:
    # given the real iCloud answers of each discovery step
    principal = parse_multistatus(
        (ICLOUD / "icloud_propfind_current-user-principal.xml").read_bytes(), "apple-calendar"
    )
    home = parse_multistatus(
        (ICLOUD / "icloud_propfind_calendar-home-set.xml").read_bytes(), "apple-calendar"
    )
    listing = parse_multistatus(
        (ICLOUD / "icloud_propfind_calendars_depth1.xml").read_bytes(), "apple-calendar"
    )
    # when they are read
    home_url = home.resources[0].hrefs("{urn:ietf:params:xml:ns:caldav}calendar-home-set")[0]
    calendars = calendar_containers(listing, home_url)
    # then the principal, the home and only the real calendars come out (no inbox, no home)
    assert principal.resources[0].hrefs("{DAV:}current-user-principal") == ["/17149682/principal/"]
    assert home_url == "https://p62-caldav.icloud.com:443/17149682/calendars/"
    assert [(c.name, c.id) for c in calendars] == [
        ("calfoo3", home_url + "06888b87-397f-11eb-943b-3af9d3928d42/"),
        ("Yep", home_url + "testcalendar-e2910e0a-feab-4b51-b3a8-55828acaa912/"),
    ]


def test_icloud_recorded_sync_collection_reply_parses() -> None:
    reply = parse_multistatus(
        (ICLOUD / "icloud_sync-collection_getetag_sync-token.xml").read_bytes(), "apple-calendar"
    )

    etags = {r.href.rsplit("/", 1)[-1]: r.text("{DAV:}getetag") for r in reply.resources}

    assert reply.sync_token == "HwoQEgwAAAh4yw8ntwAAAAAYAhgAIhUIopml463FieB4EKq9+NSn04DrkQEoAA=="
    assert etags == {
        "": '"kkkgopik"',
        "1761bf8c-6363-11eb-8fe4-74e5f9bfd8c1.ics": '"kkkgorwx"',
        "20010712T182145Z-123401%40example.com.ics": '"kkkgoqqu"',
    }


def test_discover_where_the_server_forbids_the_path_says_so(
    radicale_server: RadicaleServer, radicale_account: RadicaleAccount
) -> None:
    # given a URL inside another user's space, which Radicale forbids (403) to this account:
    # the credentials are fine, so the answer is not "wrong password"
    stranger = radicale_server.add_account()
    with pytest.raises(Forbidden, match="forbidden"):
        discover(stranger.principal_url, radicale_account.username, radicale_account.password)


class _RecordedSession:
    """Answers every request with one recorded body (the HTTP side is Radicale's elsewhere)."""

    def __init__(self, *bodies: bytes) -> None:
        self.bodies = list(bodies)
        self.sent: list[tuple[str, str]] = []

    def request(self, method: str, url: str, body: bytes = b"", headers=None) -> DavReply:
        self.sent.append((method, url))
        reply = self.bodies.pop(0) if len(self.bodies) > 1 else self.bodies[0]
        return DavReply(207, {"content-type": "text/xml"}, reply)

    def check(self, url: str) -> None:
        """Every recorded href is on the recorded server."""


@pytest.mark.parametrize(
    ("recording", "titles"),
    [
        ("icloud_calendar-data_multiget.xml", ["Bastille Day Party"]),
        ("icloud_calendar-query_no-events.xml", []),
    ],
)
def test_icloud_recorded_calendar_data_is_read_into_events(recording: str, titles: list) -> None:
    # given iCloud's answer to a calendar-multiget (the collection itself answers 404 for data)
    home = "https://p62-caldav.icloud.com:443/17149682/calendars/"
    calendar = home + "testcalendar-84439d0b-ce46-4416-b978-7b4009122c64/"
    session = _RecordedSession((ICLOUD / recording).read_bytes())
    provider = CalDAVProvider(SimpleNamespace(field_mapping={}), session=session)
    # when the provider reads it
    items = provider._fetch(calendar, ["20010712T182145Z-123401%40example.com.ics"])
    # then only the real event comes out, in UTC, with its resource URL as id
    assert [i.fields["title"] for i in items] == titles
    assert session.sent == [("REPORT", calendar)]
    if items:
        (item,) = items
        assert item.remote_id == calendar + "20010712T182145Z-123401%40example.com.ics"
        assert item.fields["start"] == dt.datetime(2006, 7, 14, 17, tzinfo=dt.UTC)
        assert item.fields["end"] == dt.datetime(2006, 7, 15, 4, tzinfo=dt.UTC)
        assert item.fields["timezone"] == "UTC"
        assert item.dayflow_id == ""


TRUNCATED = b"""<d:multistatus xmlns:d="DAV:">
  <d:response><d:href>/cal/a.ics</d:href>
    <d:propstat><d:prop><d:getetag>"1"</d:getetag></d:prop>
      <d:status>HTTP/1.1 200 OK</d:status></d:propstat>
  </d:response>
  <d:response><d:href>/cal/</d:href>
    <d:status>HTTP/1.1 507 Insufficient Storage</d:status></d:response>
  <d:sync-token>t1</d:sync-token>
</d:multistatus>"""
REST = b"""<d:multistatus xmlns:d="DAV:">
  <d:response><d:href>/cal/b.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>
  <d:sync-token>t2</d:sync-token>
</d:multistatus>"""


def test_a_truncated_sync_collection_answer_is_followed_to_its_end() -> None:
    # given a server that answers a sync in two parts (RFC 6578 section 3.6)
    session = _RecordedSession(TRUNCATED, REST)
    provider = CalDAVProvider(SimpleNamespace(field_mapping={}), session=session)
    # when the provider syncs the collection
    changes = provider._sync_collection("https://dav.example.com/cal/", "t0", with_data=True)
    # then it asked twice and has both parts and the last token
    assert (changes.changed, changes.deleted) == (["/cal/a.ics"], ["/cal/b.ics"])
    assert changes.state == {"token": "t2"}
    assert len(session.sent) == 2


@pytest.mark.parametrize(
    "href",
    [
        "/cal/a.ics",
        "/cal/with%20space.ics",
        "/cal/./a.ics",
        "/cal/../other/a.ics",
        "//elsewhere.example.com/cal/a.ics",
        "a.ics",
        "https://p62-caldav.icloud.com/123/calendars/home/a.ics",
        "/cal/a.ics?x=1",
    ],
)
@pytest.mark.parametrize("base", ["https://dav.example.com/cal/", "http://127.0.0.1:5232/u/c/"])
def test_hrefs_are_made_absolute_as_urljoin_would(base: str, href: str) -> None:
    assert caldav_module.absolute(base, href) == urljoin(base, href)
