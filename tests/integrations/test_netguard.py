"""A CalDAV account cannot point our servers into a private network or send its password in
clear; each refusal names the problem and saves nothing."""

import socket

import pytest

from integrations.models import Connection, Credential
from integrations.netguard import Guard, UnsafeServer, check_server_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _guard_on(settings):
    settings.DAYFLOW_ALLOW_PRIVATE_SERVERS = False


def resolving_to(monkeypatch, address: str) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, **kw: [(family, socket.SOCK_STREAM, 6, "", (address, port))],
    )


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fd00::1",
        "0.0.0.0",
    ],
)
def test_private_and_loopback_addresses_are_refused(monkeypatch, address):
    resolving_to(monkeypatch, address)

    with pytest.raises(UnsafeServer, match="private network"):
        check_server_url("https://caldav.example.com/")


def test_a_public_https_server_is_accepted(monkeypatch):
    resolving_to(monkeypatch, "17.253.144.10")

    check_server_url("https://caldav.icloud.com/")


def test_plain_http_is_refused_before_any_lookup(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("looked up"))

    with pytest.raises(UnsafeServer, match="https://"):
        check_server_url("http://caldav.example.com/")


def test_the_connect_form_refuses_an_internal_address_and_saves_nothing(client, user, monkeypatch):
    resolving_to(monkeypatch, "169.254.169.254")
    monkeypatch.setattr(
        "integrations.providers.caldav.discover", lambda *a: pytest.fail("discovery ran")
    )
    client.force_login(user)

    response = client.post(
        "/integrations/fastmail/connect/",
        {"server_url": "https://metadata.example.com/", "username": "me", "password": "pw"},
    )

    assert response.status_code == 200
    assert "private network" in response.content.decode()
    assert not Connection.objects.exists()
    assert not Credential.objects.exists()


def test_an_unresolvable_name_reads_as_unreachable(client, user, monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror("Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    client.force_login(user)

    response = client.post(
        "/integrations/fastmail/connect/",
        {"server_url": "https://nowhere.invalid/", "username": "me", "password": "pw"},
    )

    assert "could not be reached" in response.content.decode()


SANDBOX_DAV = "http://127.0.0.1:5232/"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:5232/", "http://127.0.0.1:5232/alice/calendar/"],
)
def test_the_trusted_sandbox_server_is_accepted_over_plain_http(settings, url):
    settings.DAYFLOW_TRUSTED_SERVERS = (SANDBOX_DAV,)

    check_server_url(url)  # no UnsafeServer


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/",  # the app itself, another port on the same host
        "http://localhost:5232/",  # the same server under another name is not what was named
        "https://10.0.0.1:5232/",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_trusting_the_sandbox_server_trusts_nothing_else(settings, url):
    settings.DAYFLOW_TRUSTED_SERVERS = (SANDBOX_DAV,)

    with pytest.raises(UnsafeServer):
        check_server_url(url)


def test_a_session_on_the_trusted_server_still_may_not_leave_it(settings):
    settings.DAYFLOW_TRUSTED_SERVERS = (SANDBOX_DAV,)
    guard = Guard(SANDBOX_DAV)

    guard.check("http://127.0.0.1:5232/alice/")
    assert guard.addresses("127.0.0.1", 5232)
    with pytest.raises(UnsafeServer):
        guard.check("http://127.0.0.1:6379/")
