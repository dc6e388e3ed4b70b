"""A CalDAV connection cannot make our servers talk to private addresses or other servers:
not through its chosen calendars, the hrefs discovery follows, redirects, or a second DNS
answer. Each refusal happens before anything is sent there."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from integrations import netguard
from integrations.models import Connection, Credential, Service
from integrations.providers import caldav
from sync import engine
from sync.models import SyncJob
from tests.integrations.calendar.scripted_dav import (
    ScriptedServer,
    calendars_answer,
    home_answer,
    principal_answer,
    redirect_to,
    scripted_server,
)

pytestmark = pytest.mark.django_db
PUBLIC_IP = "93.184.216.34"


@pytest.fixture(autouse=True)
def _guard_on(settings):
    settings.DAYFLOW_ALLOW_PRIVATE_SERVERS = False


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as scripted:
        yield scripted


@pytest.fixture
def lookups(monkeypatch) -> list[str]:
    """DNS where dav.example.com and other.example.com are public names (no network here)."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        if host in ("dav.example.com", "other.example.com"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_IP, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.fixture
def public_test_server(monkeypatch, server: ScriptedServer) -> dict[str, int]:
    """`dav.test` and `dav2.test` count as public servers and lead to the scripted server on
    127.0.0.1, which speaks plain HTTP. Returns how often each name was looked up."""
    real = netguard.public_addresses
    counts = {"dav.test": 0, "dav2.test": 0}

    def public_addresses(host: str, port: int):
        if host in counts:
            counts[host] += 1
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port)

    monkeypatch.setattr(netguard, "public_addresses", public_addresses)
    monkeypatch.setattr(netguard.Guard, "require_https", False)
    return counts


def caldav_connection(user, server_url: str, calendars: list[str]) -> Connection:
    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="fastmail"),
        external_account_id="someone",
        field_mapping={"calendars": calendars},
    )
    Credential.objects.create(
        connection=connection, server_url=server_url, username="someone", app_password="pw"
    )
    return connection


def run(connection: Connection) -> SyncJob:
    job = SyncJob.objects.create(connection=connection, kind=SyncJob.Kind.INCREMENTAL)
    engine.run_job(job.pk)
    job.refresh_from_db()
    return job


def test_a_sync_sends_nothing_to_a_chosen_calendar_on_a_private_address(
    user, server: ScriptedServer, lookups
):
    # given a connection to a public server whose settings name a calendar on loopback
    server.answers["/internal/"] = (500, {}, b"internal secret page")
    connection = caldav_connection(user, "https://dav.example.com/dav/", [server.url + "internal/"])
    # when it syncs
    job = run(connection)
    # then nothing reached the internal server and the job says why, without its answer
    assert server.seen == []
    assert job.status == SyncJob.Status.FAILED
    assert "refused" in job.error
    assert "500" not in job.error


@pytest.fixture
def loopback_listener() -> Iterator[tuple[int, list[str]]]:
    """A bare TCP port on 127.0.0.1 that notes every connection (TLS or not)."""
    accepted: list[str] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, peer = listener.accept()
            except OSError:
                continue
            accepted.append(peer[0])
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1], accepted
    stop.set()
    thread.join()
    listener.close()


def test_a_second_dns_answer_cannot_lead_the_connect_flow_to_loopback(
    client, user, monkeypatch, loopback_listener
):
    # given a name that first resolves to a public address, then to 127.0.0.1 (DNS rebinding)
    port, accepted = loopback_listener
    answers = iter([PUBLIC_IP] + ["127.0.0.1"] * 20)
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "rebind.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(caldav, "TIMEOUT", 2)
    client.force_login(user)
    # when the connect form checks the address and discovers the account
    response = client.post(
        "/integrations/fastmail/connect/",
        {"server_url": f"https://rebind.example.com:{port}/", "username": "me", "password": "pw"},
    )
    # then no connection was made to loopback, and nothing was saved
    assert response.status_code == 200
    assert response.context["form"].errors["server_url"]
    assert accepted == []
    assert not Connection.objects.exists()


def test_the_checked_address_is_used_with_the_server_name_kept(
    server: ScriptedServer, public_test_server
):
    # given a public name leading to the scripted server
    server.answers["/"] = principal_answer("/p/")
    session = caldav.DavSession(f"http://dav.test:{server.port}/", "me", "pw", service="caldav")
    # when the session sends three requests
    for _ in range(3):
        session.propfind(session.server_url, caldav.PROPFIND_PRINCIPAL)
    # then the name was resolved once, and the server saw its own name in the Host header
    assert public_test_server["dav.test"] == 1
    assert [host for *_, host in server.seen] == [f"dav.test:{server.port}"] * 3


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param({"/": "principal:{loopback}p/"}, id="principal-href-to-loopback"),
        pytest.param({"/": "principal:/p/", "/p/": "home:{loopback}home/"}, id="home-to-loopback"),
        pytest.param({"/": "redirect:{loopback}"}, id="redirect-to-loopback"),
        pytest.param({"/": "redirect:http://dav2.test:{port}/"}, id="redirect-to-other-server"),
        pytest.param(
            {"/": "principal:/p/", "/p/": "redirect:{loopback}p/"}, id="later-redirect-to-loopback"
        ),
    ],
)
def test_discovery_follows_no_href_or_redirect_off_the_account_server(
    server: ScriptedServer, public_test_server, answers
):
    # given a public server that points discovery at loopback or at another server
    loopback = server.url
    for path, answer in answers.items():
        kind, _, target = answer.partition(":")
        target = target.format(loopback=loopback, port=server.port)
        make = {"principal": principal_answer, "home": home_answer, "redirect": redirect_to}
        server.answers[path] = make[kind](target)
    # when the connect form discovers the account
    with pytest.raises(caldav.RefusedTarget):
        caldav.discover(f"http://dav.test:{server.port}/", "me", "pw")
    # then every request went to the account's server under its own name, none elsewhere
    assert {host for *_, host in server.seen} == {f"dav.test:{server.port}"}


def test_discovery_lists_only_calendars_on_the_account_server(
    server: ScriptedServer, public_test_server
):
    # given a calendar home that lists one calendar here and one on loopback
    server.answers["/"] = principal_answer("/p/")
    server.answers["/p/"] = home_answer("/home/")
    server.answers["/home/"] = calendars_answer("/home/work/", server.url + "home/evil/")
    # when discovery lists them
    found = caldav.discover(f"http://dav.test:{server.port}/", "me", "pw")
    # then only the one on the account's server is offered
    assert [c.id for c in found] == [f"http://dav.test:{server.port}/home/work/"]


def test_a_sync_refuses_a_redirect_to_loopback(user, server: ScriptedServer, public_test_server):
    # given a chosen calendar on the account's server that redirects to loopback
    base = f"http://dav.test:{server.port}/"
    server.answers["/cal/"] = redirect_to(server.url + "secret/")
    server.answers["/secret/"] = (207, {}, b"internal secret")
    connection = caldav_connection(user, base, [base + "cal/"])
    # when it syncs
    job = run(connection)
    # then the redirect was not followed
    assert server.paths() == ["/cal/"]
    assert job.status == SyncJob.Status.FAILED
    assert "refused" in job.error


def test_a_calendar_on_the_calendar_home_server_is_reached(
    server: ScriptedServer, public_test_server, lookups
):
    # given iCloud's layout: the account's server names a calendar home on another host
    base = f"http://dav.test:{server.port}/"
    home = f"http://dav2.test:{server.port}/home/"
    server.answers["/"] = principal_answer("/p/")
    server.answers["/p/"] = home_answer(home)
    session = caldav.DavSession(base, "me", "pw", service="caldav")
    # when a request goes to a calendar in that home
    session.check(home + "work/")
    # then it is allowed once discovery vouched for that host, and another host still is not
    with pytest.raises(caldav.RefusedTarget):
        session.check("http://other.example.com/cal/")
    assert server.paths() == ["/", "/p/"]


class CountingSession:
    """A session whose guard passes only dav.example.com, counting what it was asked."""

    def __init__(self) -> None:
        self.checked: list[str] = []

    def check(self, url: str) -> None:
        self.checked.append(url)
        if not url.startswith("https://dav.example.com/"):
            raise caldav.RefusedTarget("not this account's server", service="fastmail")


@pytest.mark.parametrize(
    "href",
    [
        "//other.example.com/cal/a.ics",
        "https://other.example.com/cal/a.ics",
        "http://127.0.0.1/cal/a.ics",
    ],
)
def test_a_member_href_off_the_server_is_refused(user, href: str) -> None:
    connection = caldav_connection(user, "https://dav.example.com/", [])
    provider = caldav.CalDAVProvider(connection, session=CountingSession())
    with pytest.raises(caldav.RefusedTarget):
        provider._member("https://dav.example.com/cal/", href)


@pytest.mark.parametrize("href", ["a.ics", "/cal/../b.ics", "/cal/./c.ics"])
def test_a_member_href_that_is_no_plain_path_is_checked_itself(user, href: str) -> None:
    connection = caldav_connection(user, "https://dav.example.com/", [])
    session = CountingSession()
    provider = caldav.CalDAVProvider(connection, session=session)
    url = provider._member("https://dav.example.com/cal/", href)
    assert session.checked == [url]


def test_members_on_the_calendars_server_cost_one_check_per_calendar(user) -> None:
    connection = caldav_connection(user, "https://dav.example.com/", [])
    session = CountingSession()
    provider = caldav.CalDAVProvider(connection, session=session)
    calendar = "https://dav.example.com/cal/"
    urls = [provider._member(calendar, f"/cal/{n}.ics") for n in range(1000)]
    assert urls[7] == "https://dav.example.com/cal/7.ics"
    assert session.checked == [calendar]  # the calendar once, not each member
