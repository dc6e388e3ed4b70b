"""refresh_access_token: rotation, the already-refreshed shortcut, invalid_grant, retries."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

import pytest
import requests
import responses

from audit.models import AuditEvent
from integrations.models import Connection, Credential
from integrations.providers.errors import AuthExpired, Permanent, Transient, UnexpectedPayload
from integrations.signals import connection_status_changed
from integrations.tokens import refresh_access_token
from tests.integrations.oauth.fixtures import make_connection, no_backoff, oauth_clients

__all__ = ["make_connection", "no_backoff", "oauth_clients"]  # fixtures used below

pytestmark = pytest.mark.django_db

TODOIST_TOKEN = "https://todoist.com/oauth/access_token"
NOTION_TOKEN = "https://api.notion.com/v1/oauth/token"


def form(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


@responses.activate
def test_refresh_stores_the_new_access_token_and_the_rotated_refresh_token(make_connection):
    # given a Todoist connection whose refresh tokens rotate
    connection = make_connection("todoist")
    responses.post(
        TODOIST_TOKEN,
        json={"access_token": "at-new", "refresh_token": "rt-new", "expires_in": 3600},
    )
    # when the access token is refreshed after a 401
    token = refresh_access_token(connection, failed_token="at-old")
    # then the new pair is stored and the request carried the old refresh token
    credential = Credential.objects.get(connection=connection)
    assert (token, credential.access_token, credential.refresh_token) == (
        "at-new",
        "at-new",
        "rt-new",
    )
    sent = form(responses.calls[0])
    assert sent["grant_type"] == "refresh_token"
    assert sent["refresh_token"] == "rt-old"
    assert sent["client_id"] == "todoist-client-id"
    assert AuditEvent.objects.filter(action="connection.token_refreshed").count() == 1


@responses.activate
def test_refresh_keeps_the_refresh_token_when_the_service_sends_none(make_connection):
    connection = make_connection("google-calendar")
    responses.post("https://oauth2.googleapis.com/token", json={"access_token": "at-new"})
    refresh_access_token(connection, failed_token="at-old")
    assert Credential.objects.get(connection=connection).refresh_token == "rt-old"


@responses.activate
def test_a_caller_whose_failed_token_was_already_replaced_does_not_refresh(make_connection):
    # given a credential another worker already refreshed
    connection = make_connection("todoist", access="at-fresh")
    # when a caller that got a 401 with the previous token asks for a refresh
    token = refresh_access_token(connection, failed_token="at-old")
    # then it gets the stored token and the token endpoint is not called
    assert token == "at-fresh"
    assert len(responses.calls) == 0


@responses.activate
def test_notion_refresh_uses_basic_client_auth_and_a_json_body(make_connection):
    connection = make_connection("notion")
    responses.post(NOTION_TOKEN, json={"access_token": "at-new", "refresh_token": "rt-new"})
    refresh_access_token(connection)
    request = responses.calls[0].request
    expected = base64.b64encode(b"notion-client-id:notion-client-secret").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    body = json.loads(request.body)
    assert body == {"grant_type": "refresh_token", "refresh_token": "rt-old"}


@responses.activate
def test_invalid_grant_marks_the_connection_needs_reauth(make_connection):
    # given a refresh token the service revoked
    connection = make_connection("linear")
    responses.post(
        "https://api.linear.app/oauth/token",
        status=400,
        json={"error": "invalid_grant", "error_description": "refresh token revoked"},
    )
    changes = []
    connection_status_changed.connect(
        lambda **kw: changes.append((kw["old"], kw["new"])), weak=False, dispatch_uid="t1"
    )
    try:
        # when it is refreshed
        with pytest.raises(AuthExpired):
            refresh_access_token(connection, failed_token="at-old")
    finally:
        connection_status_changed.disconnect(dispatch_uid="t1")
    # then the connection needs reconnecting, the change is signalled and audited
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert changes == [("connected", "needs_reauth")]
    event = AuditEvent.objects.get(action="connection.needs_reauth")
    assert event.success is False
    assert len(responses.calls) == 1  # invalid_grant is not retried


@pytest.mark.parametrize(
    "failures",
    [
        [503],
        [500, 502],
        [requests.ConnectTimeout("slow")],
        [requests.ConnectionError("down"), 429],
    ],
)
@responses.activate
def test_transient_failures_are_retried_with_backoff(make_connection, no_backoff, failures):
    connection = make_connection("todoist")
    for failure in failures:
        if isinstance(failure, int):
            responses.post(TODOIST_TOKEN, status=failure, body="busy")
        else:
            responses.post(TODOIST_TOKEN, body=failure)
    responses.post(TODOIST_TOKEN, json={"access_token": "at-new", "refresh_token": "rt-new"})
    assert refresh_access_token(connection, failed_token="at-old") == "at-new"
    assert len(no_backoff) == len(failures)
    assert no_backoff == sorted(no_backoff)


@responses.activate
def test_persistent_5xx_raises_transient_and_keeps_the_status(make_connection):
    connection = make_connection("todoist")
    responses.post(TODOIST_TOKEN, status=503, body="down")
    with pytest.raises(Transient):
        refresh_access_token(connection, failed_token="at-old")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED
    assert len(responses.calls) == 3
    assert Credential.objects.get(connection=connection).refresh_token == "rt-old"


@responses.activate
def test_fastmail_style_temporary_invalid_grant_is_transient(make_connection):
    connection = make_connection("todoist")
    responses.post(TODOIST_TOKEN, status=400, json={"error": "invalid_grant", "temporary": True})
    with pytest.raises(Transient):
        refresh_access_token(connection, failed_token="at-old")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, "<html>oops</html>", UnexpectedPayload),
        (200, json.dumps({"token_type": "bearer"}), UnexpectedPayload),
        (401, json.dumps({"error": "invalid_client"}), Permanent),
    ],
)
@responses.activate
def test_garbage_or_client_errors_raise_without_flipping_status(
    make_connection, status, body, error
):
    connection = make_connection("todoist")
    responses.post(TODOIST_TOKEN, status=status, body=body)
    with pytest.raises(error):
        refresh_access_token(connection, failed_token="at-old")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED
    assert Credential.objects.get(connection=connection).access_token == "at-old"


def test_a_connection_without_refresh_token_needs_reauth(make_connection):
    connection = make_connection("clickup", refresh="")
    with pytest.raises(AuthExpired):
        refresh_access_token(connection, failed_token="at-old")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH


@responses.activate
def test_tokens_are_encrypted_in_the_database(make_connection):
    from django.db import connection as db

    connection = make_connection("todoist")
    responses.post(TODOIST_TOKEN, json={"access_token": "at-new", "refresh_token": "rt-new"})
    refresh_access_token(connection, failed_token="at-old")
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM integrations_credential "
            "WHERE connection_id = %s",
            [connection.pk],
        )
        row = cursor.fetchone()
    assert "at-new" not in row[0]
    assert "rt-new" not in row[1]
    assert row[0].startswith("gAAAAA")


@pytest.mark.parametrize("status", ["needs_reauth", "disconnected"])
@responses.activate
def test_a_connection_that_must_reconnect_is_not_refreshed(make_connection, status):
    connection = make_connection("todoist")
    Connection.objects.filter(pk=connection.pk).update(status=status)
    with pytest.raises(AuthExpired):
        refresh_access_token(connection, failed_token="at-old")
    assert len(responses.calls) == 0


def test_a_connection_without_credentials_raises_auth_expired(make_connection):
    connection = make_connection("todoist")
    Credential.objects.filter(connection=connection).delete()
    with pytest.raises(AuthExpired):
        refresh_access_token(connection, failed_token="at-old")
