"""A CalDAV connection's settings and reconnect keep to the account's own server: chosen
calendars elsewhere are refused when the settings are saved, and reconnecting keeps the
server address the connection was made with."""

from __future__ import annotations

import json
import socket

import pytest

from integrations.models import Connection, Credential, Service
from integrations.providers.base import Container, ItemType
from integrations.providers.caldav import CalDAVProvider

pytestmark = pytest.mark.django_db
SERVER = "https://dav.example.com/dav/"


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def public_dns(monkeypatch):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def caldav_connection(user) -> Connection:
    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="fastmail"),
        external_account_id="acct",
        label="me",
    )
    Credential.objects.create(
        connection=connection, server_url=SERVER, username="me", app_password="pw"
    )
    return connection


def save_calendars(client, connection: Connection, calendars: list[str]):
    return client.post(
        f"/integrations/connections/{connection.pk}/settings/",
        {
            "sync_interval": "15",
            "sync_direction": "two_way",
            "conflict_resolution": "manual",
            "field_mapping": json.dumps({"calendars": calendars}),
        },
    )


@pytest.mark.parametrize(
    "calendar",
    ["http://127.0.0.1:8080/cal/", "https://other.example.com/cal/", "http://dav.example.com/c/"],
)
def test_a_calendar_on_another_server_is_refused_when_saving(
    logged_in, settings, caldav_connection, public_dns, monkeypatch, calendar
):
    # given the guard on, and an account whose calendars are all on its own server
    settings.DAYFLOW_ALLOW_PRIVATE_SERVERS = False
    home = [Container(SERVER + "me/work/", "Work", "calendar", item_types=(ItemType.EVENT,))]
    monkeypatch.setattr(CalDAVProvider, "list_containers", lambda self: home)
    # when the settings name a calendar elsewhere
    response = save_calendars(logged_in, caldav_connection, [calendar])
    # then the form refuses it and nothing changes
    assert response.status_code == 200
    assert "not on the account's server" in " ".join(
        response.context["form"].errors["field_mapping"]
    )
    caldav_connection.refresh_from_db()
    assert caldav_connection.field_mapping == {}


def test_a_calendar_where_the_account_keeps_its_calendars_is_accepted(
    logged_in, settings, caldav_connection, public_dns, monkeypatch
):
    # given iCloud's layout: the calendar home is on another host than the server address
    settings.DAYFLOW_ALLOW_PRIVATE_SERVERS = False
    calendar = "https://p62-caldav.example.com/123/calendars/work/"
    found = [Container(calendar, "Work", "calendar", item_types=(ItemType.EVENT,))]
    monkeypatch.setattr(CalDAVProvider, "list_containers", lambda self: found)
    # when the settings choose that calendar, and one on the server itself
    response = save_calendars(logged_in, caldav_connection, [calendar, SERVER + "me/home/"])
    # then they are saved
    assert response.status_code == 302
    caldav_connection.refresh_from_db()
    assert caldav_connection.field_mapping == {"calendars": [calendar, SERVER + "me/home/"]}


def test_reconnecting_keeps_the_connections_own_server(logged_in, user, radicale_account):
    # given a connection to a server other than the preset's (here the test Radicale)
    data = {
        "server_url": radicale_account.server_url,
        "username": radicale_account.username,
        "password": radicale_account.password,
    }
    logged_in.post("/integrations/fastmail/connect/", data)
    connection = Connection.objects.get(user=user)
    Connection.objects.filter(pk=connection.pk).update(status="needs_reauth")
    # when the user reconnects it
    page = logged_in.post(f"/integrations/connections/{connection.pk}/reconnect/", follow=True)
    # then the form offers the connection's own server, not Fastmail's
    form = page.context["form"]
    assert form["server_url"].value() == radicale_account.server_url
    assert form["username"].value() == radicale_account.username
    # and sending it back reconnects the same connection on the same server
    reconnect_url = page.redirect_chain[-1][0]
    response = logged_in.post(reconnect_url, {**data, "server_url": form["server_url"].value()})
    assert response.status_code == 302
    assert Connection.objects.filter(user=user).count() == 1
    connection.refresh_from_db()
    assert connection.status == "connected"
    assert connection.credential.server_url == radicale_account.server_url


def test_reconnect_does_not_show_another_users_server(logged_in, other_user):
    # given someone else's connection to a private server
    theirs = Connection.objects.create(
        user=other_user, service=Service.objects.get(key="fastmail"), external_account_id="x"
    )
    Credential.objects.create(connection=theirs, server_url="https://their.example.com/")
    # when its id is put in the connect page's address
    page = logged_in.get(f"/integrations/fastmail/connect/?connection={theirs.pk}")
    # then the preset is offered, not their server
    assert page.context["form"]["server_url"].value() == "https://caldav.fastmail.com/dav/"
