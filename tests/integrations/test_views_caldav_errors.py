"""The CalDAV connect form says what actually went wrong (401, 403, 404, not CalDAV, TLS,
timeout), answers malformed addresses with a form error instead of a 500, and never keeps or
shows a password typed into the server address."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from integrations.models import Connection, Credential, Service
from integrations.providers import caldav
from tests.integrations.calendar.scripted_dav import ScriptedServer, scripted_server

pytestmark = pytest.mark.django_db
CONNECT = "/integrations/fastmail/connect/"


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as scripted:
        yield scripted


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()
    listener.settimeout(0.2)

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def connect(client, server_url: str, password: str = "pw"):
    return client.post(CONNECT, {"server_url": server_url, "username": "me", "password": password})


def only_error(response, field: str) -> str:
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert not Connection.objects.exists()
    assert not Credential.objects.exists()
    return errors[field][0]


HTML = {"Content-Type": "text/html"}


@pytest.mark.parametrize(
    ("answer", "field", "message"),
    [
        ((401, {"WWW-Authenticate": 'Basic realm="dav"'}, b""), "password", "refused this"),
        ((403, HTML, b"<html>Forbidden</html>"), "server_url", "forbids this account"),
        ((404, HTML, b"<html>Not found</html>"), "server_url", "no calendar home"),
        ((200, HTML, b"<html>Welcome</html>"), "server_url", "not lead to a CalDAV server"),
    ],
    ids=["401", "403", "404", "html-200"],
)
def test_each_answer_of_the_server_gets_its_own_message(
    logged_in, server: ScriptedServer, answer, field, message
):
    # given a server answering the first discovery step with one status
    server.answers["/dav/"] = answer
    # when the form checks the account
    response = connect(logged_in, server.url + "dav/")
    # then the message names what happened, on the field it is about
    assert message in only_error(response, field)


def test_a_tls_failure_is_named(logged_in, server: ScriptedServer):
    # given an https address where the server speaks plain HTTP (no TLS handshake)
    response = connect(logged_in, f"https://127.0.0.1:{server.port}/")
    assert "TLS" in only_error(response, "server_url")


def test_a_server_that_does_not_answer_in_time_is_named(logged_in, silent_port, monkeypatch):
    monkeypatch.setattr(caldav, "TIMEOUT", 0.5)
    response = connect(logged_in, f"http://127.0.0.1:{silent_port}/")
    assert "did not answer in time" in only_error(response, "server_url")


@pytest.mark.parametrize("guard", [True, False], ids=["guard-on", "private-allowed"])
@pytest.mark.parametrize(
    "server_url",
    [
        "https://caldav.example.com:99999/",
        "http://[::1",
        "ftp://caldav.example.com/",
        "https://:443/",
    ],
)
def test_a_malformed_address_is_a_form_error_not_a_500(logged_in, settings, guard, server_url):
    settings.DAYFLOW_ALLOW_PRIVATE_SERVERS = not guard
    response = connect(logged_in, server_url)
    assert only_error(response, "server_url")


@pytest.mark.parametrize("guard", [True, False], ids=["guard-on", "private-allowed"])
def test_a_password_in_the_server_address_is_refused_and_not_shown_again(
    logged_in, settings, server: ScriptedServer, guard
):
    settings.DAYFLOW_ALLOW_PRIVATE_SERVERS = not guard
    # given an address with a password in it
    url = f"http://me:s3cret-pw@127.0.0.1:{server.port}/"
    # when the form is sent
    response = connect(logged_in, url)
    # then it is refused before any request, and the password is nowhere
    assert "own fields" in only_error(response, "server_url")
    assert server.seen == []
    assert "s3cret-pw" not in response.content.decode()
    assert "s3cret-pw" not in str(list(AuditEvent.objects.values("details", "resource")))


def test_a_credential_never_stores_a_server_url_with_a_password(connection):
    with pytest.raises(ValidationError):
        Credential.objects.create(
            connection=connection, server_url="https://me:pw@dav.example.com/", username="me"
        )
    assert not Credential.objects.exists()


def test_calendar_addresses_with_a_password_are_refused_in_the_settings(user):
    connection = Connection(
        user=user,
        service=Service.objects.get(key="fastmail"),
        external_account_id="acct",
        field_mapping={"calendars": ["https://me:pw@dav.example.com/cal/"]},
    )
    with pytest.raises(ValidationError) as refused:
        connection.save()
    assert "pw@" not in str(refused.value)
    assert not Connection.objects.exists()
