"""A CalDAV account cannot point our servers into a private network or send its password in
clear; each refusal names the problem and saves nothing."""

import socket

import pytest

from integrations.models import Connection, Credential
from integrations.netguard import UnsafeServer, check_server_url

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
