"""Connecting a CalDAV account against a real Radicale server: discovery runs before anything
is saved, and each failure gets its own message."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest
from django.db import connection as db

from audit.models import AuditEvent
from integrations.models import Connection, Credential
from integrations.providers import caldav
from integrations.signals import connection_connected

pytestmark = pytest.mark.django_db
CONNECT = "/integrations/fastmail/connect/"


class NotDav(http.server.BaseHTTPRequestHandler):
    """A web server that is not CalDAV: every method gets a plain HTML page."""

    def _page(self) -> None:
        body = b"<html><body>Welcome</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PROPFIND = do_OPTIONS = do_REPORT = _page

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def not_dav_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotDav)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


def test_the_form_offers_the_preset_server(logged_in):
    apple = logged_in.get("/integrations/apple-calendar/connect/").content.decode()
    fastmail = logged_in.get(CONNECT).content.decode()
    assert 'value="https://caldav.icloud.com/"' in apple
    assert 'value="https://caldav.fastmail.com/dav/"' in fastmail
    assert 'type="password"' in fastmail


def test_a_valid_account_is_connected_after_discovery(logged_in, user, radicale_calendar):
    connected = []
    connection_connected.connect(
        lambda **kw: connected.append(kw["created"]), weak=False, dispatch_uid="caldav"
    )
    try:
        response = logged_in.post(
            CONNECT,
            {
                "server_url": radicale_calendar.server_url,
                "username": radicale_calendar.username,
                "password": radicale_calendar.password,
            },
        )
    finally:
        connection_connected.disconnect(dispatch_uid="caldav")
    assert response.status_code == 302
    connection = Connection.objects.get(user=user, service__key="fastmail")
    assert connection.label == radicale_calendar.username
    assert connection.status == "connected"
    assert radicale_calendar.username not in connection.external_account_id
    credential = Credential.objects.get(connection=connection)
    assert (credential.server_url, credential.username, credential.app_password) == (
        radicale_calendar.server_url,
        radicale_calendar.username,
        radicale_calendar.password,
    )
    with db.cursor() as cursor:
        cursor.execute("SELECT app_password FROM integrations_credential")
        assert radicale_calendar.password not in cursor.fetchone()[0]
    assert connected == [True]
    assert AuditEvent.objects.filter(action="connection.connected").count() == 1
    assert radicale_calendar.password not in str(list(AuditEvent.objects.values("details")))


def test_connecting_the_same_account_again_updates_it(logged_in, user, radicale_account):
    data = {
        "server_url": radicale_account.server_url,
        "username": radicale_account.username,
        "password": radicale_account.password,
    }
    logged_in.post(CONNECT, data)
    connection = Connection.objects.get(user=user)
    Connection.objects.filter(pk=connection.pk).update(status="needs_reauth")
    logged_in.post(CONNECT, data)
    assert Connection.objects.filter(user=user).count() == 1
    connection.refresh_from_db()
    assert connection.status == "connected"


@pytest.mark.parametrize(
    ("case", "field", "message"),
    [
        ("wrong-password", "password", "refused this username and password"),
        ("unreachable", "server_url", "could not be reached"),
        ("not-caldav", "server_url", "does not lead to a CalDAV server"),
    ],
)
def test_failures_get_their_own_message_and_save_nothing(
    logged_in, radicale_account, not_dav_url, closed_port_url, case, field, message
):
    server_url = {
        "wrong-password": radicale_account.server_url,
        "unreachable": closed_port_url,
        "not-caldav": not_dav_url,
    }[case]
    password = "wrong" if case == "wrong-password" else radicale_account.password
    response = logged_in.post(
        CONNECT,
        {"server_url": server_url, "username": radicale_account.username, "password": password},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert not Connection.objects.exists()
    assert not Credential.objects.exists()
    event = AuditEvent.objects.get(action="connection.connect_failed")
    assert event.success is False
    assert password not in str(event.details)
    assert 'value="wrong"' not in response.content.decode()  # the password is not echoed


@pytest.mark.parametrize("key", ["fastmail", "apple-calendar"])
def test_discovery_errors_name_the_service_being_connected(
    logged_in, closed_port_url, monkeypatch, key
):
    # given discovery against a server that does not answer
    asked = []
    real = caldav.discover

    def discover(*args, **kwargs):
        asked.append(kwargs.get("service"))
        return real(*args, **kwargs)

    monkeypatch.setattr(caldav, "discover", discover)

    logged_in.post(
        f"/integrations/{key}/connect/",
        {"server_url": closed_port_url, "username": "someone", "password": "secret"},
    )

    # then its errors are the connected service's, not a generic "caldav"
    assert asked == [key]
