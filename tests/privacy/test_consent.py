"""Consent: recorded on connect (OAuth and CalDAV) with the granted scopes, time and address;
a reconnect with other scopes records a new one; shown on the connection's settings page."""

from __future__ import annotations

import datetime as dt

import pytest
import responses
import time_machine
from django.test import RequestFactory

from integrations import lifecycle
from integrations.models import Credential, Service
from privacy.consent import APP_PASSWORD, granted_scopes
from privacy.models import Consent
from tests.integrations.oauth.test_flows import SPECS, fake_service, start

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def request_from(ip: str):
    return RequestFactory().get("/", REMOTE_ADDR=ip)


def connect_oauth(connection, scopes: str, ip: str, created: bool) -> None:
    credential, _ = Credential.objects.get_or_create(connection=connection)
    credential.access_token, credential.scopes = "at", scopes
    credential.save()
    lifecycle.announce_connected(connection, created, request=request_from(ip))


def test_an_oauth_connect_records_the_granted_scopes_when_and_from_where(connection):
    with time_machine.travel(T0, tick=False):
        connect_oauth(connection, "data:read_write data:delete", "198.51.100.4", created=True)

    (consent,) = Consent.objects.all()
    assert consent.user == connection.user
    assert consent.connection == connection
    assert consent.service_key == "todoist"
    assert consent.scopes == ["data:delete", "data:read_write"]
    assert consent.granted_at == T0
    assert consent.ip_address == "198.51.100.4"


def test_a_reconnect_records_a_new_consent_only_for_new_scopes(connection):
    connect_oauth(connection, "data:read_write", "198.51.100.4", created=True)
    connect_oauth(connection, "data:read_write", "198.51.100.5", created=False)
    assert Consent.objects.count() == 1

    connect_oauth(connection, "data:read_write,data:delete", "198.51.100.6", created=False)

    latest = Consent.objects.first()
    assert Consent.objects.count() == 2
    assert latest.scopes == ["data:delete", "data:read_write"]
    assert latest.ip_address == "198.51.100.6"


def test_a_service_that_does_not_echo_scopes_granted_what_was_asked(connection):
    Credential.objects.create(connection=connection, access_token="at", scopes="")
    assert granted_scopes(connection) == sorted(connection.service.provider.scopes)


def test_a_caldav_connect_records_the_app_password(user):
    service = Service.objects.get(key="fastmail")
    connection, _ = lifecycle.connect_caldav(
        user,
        service,
        server_url="https://caldav.fastmail.test/dav/",
        username="alice@fastmail.test",
        password="app-pw",
        request=request_from("2001:db8::1"),
    )

    (consent,) = Consent.objects.filter(connection=connection)
    assert consent.scopes == [APP_PASSWORD]
    assert consent.ip_address == "2001:db8::1"


def test_consent_outlives_the_connection_row(connection):
    connect_oauth(connection, "data:read_write", "198.51.100.4", created=True)
    connection.delete()
    (consent,) = Consent.objects.all()
    assert consent.connection is None
    assert consent.service_key == "todoist"


def test_the_settings_page_shows_what_was_allowed(client, connection):
    connect_oauth(connection, "data:read_write data:delete", "198.51.100.4", created=True)
    client.force_login(connection.user)

    page = client.get(f"/integrations/connections/{connection.pk}/settings/")

    assert page.status_code == 200
    body = page.content.decode()
    assert "What you allowed" in body
    assert "<code>data:delete</code>, <code>data:read_write</code>" in body
    assert "198.51.100.4" in body


@responses.activate
def test_the_oauth_callback_records_the_scopes_the_service_granted(client, user, oauth_clients):
    spec = next(spec for spec in SPECS if spec.key == "google-calendar")
    client.force_login(user)
    params = start(client, spec.key)
    fake_service(spec)

    answer = client.get(
        f"/integrations/{spec.key}/callback/",
        {"code": "the-code", "state": params["state"]},
        REMOTE_ADDR="192.0.2.10",
    )

    assert answer.status_code == 302
    (consent,) = Consent.objects.filter(user=user)
    assert consent.service_key == "google-calendar"
    assert consent.scopes == ["email", "openid"]  # what the token response says was granted
    assert consent.ip_address == "192.0.2.10"
    assert consent.connection.external_account_id == spec.account_id
