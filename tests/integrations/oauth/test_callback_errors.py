"""Every way a connect flow can fail shows a clear message, writes an audit event and saves
nothing; services without client credentials cannot start a flow."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import time_machine
from django.contrib.messages import get_messages
from social_django.models import UserSocialAuth

from audit.models import AuditEvent
from integrations.models import Connection, Credential

pytestmark = pytest.mark.django_db

TOKEN = "https://oauth2.googleapis.com/token"
USERINFO = "https://openidconnect.googleapis.com/v1/userinfo"
KEY = "google-calendar"
CALLBACK = f"/integrations/{KEY}/callback/"
GOOD_TOKEN = {"access_token": "ya29.secret", "refresh_token": "1//rt", "expires_in": 3599}


def start(client) -> str:
    response = client.post(f"/integrations/{KEY}/connect/")
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def fake_google(token_status=200, token_body=None, userinfo_status=200) -> None:
    if isinstance(token_body, Exception):
        responses.post(TOKEN, body=token_body)
    elif isinstance(token_body, str):
        responses.post(TOKEN, status=token_status, body=token_body)
    else:
        responses.post(TOKEN, status=token_status, json=token_body or GOOD_TOKEN)
    responses.get(
        USERINFO, status=userinfo_status, json={"sub": "g-1", "email": "alice@gmail.test"}
    )


def assert_refused(response, user, *, says: str, reason: str) -> None:
    assert response.status_code == 302
    assert response["Location"] == "/integrations/"
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(says in text for text in texts), texts
    event = AuditEvent.objects.get(action="connection.connect_failed")
    assert event.success is False
    assert event.actor == user
    assert reason in event.details["reason"]
    assert event.details["service"] == KEY
    assert not Connection.objects.exists()
    assert not Credential.objects.exists()
    assert not UserSocialAuth.objects.exists()


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@responses.activate
def test_access_denied_at_the_service(logged_in, user):
    state = start(logged_in)
    response = logged_in.get(CALLBACK, {"error": "access_denied", "state": state})
    assert_refused(response, user, says="You declined access", reason="authorization_declined")
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"code": "c"}, "missing_parameter"),  # no state at all
        ({"code": "c", "state": "forged-state-value"}, "session_context_missing"),
    ],
    ids=["missing-state", "unknown-state"],
)
@responses.activate
def test_missing_or_unknown_state_is_refused(logged_in, user, params, reason):
    start(logged_in)
    response = logged_in.get(CALLBACK, params)
    assert_refused(response, user, says="could not be matched", reason=reason)
    assert len(responses.calls) == 0


@responses.activate
def test_a_state_is_single_use(logged_in, user):
    # given a completed flow
    state = start(logged_in)
    fake_google()
    logged_in.get(CALLBACK, {"code": "c1", "state": state})
    assert Connection.objects.count() == 1
    Connection.objects.all().delete()
    UserSocialAuth.objects.all().delete()
    calls = len(responses.calls)
    # when the same callback is replayed
    response = logged_in.get(CALLBACK, {"code": "c1", "state": state})
    # then it is refused without calling the token endpoint
    assert_refused(response, user, says="could not be matched", reason="session_context_missing")
    assert len(responses.calls) == calls


@responses.activate
def test_a_state_expires_after_ten_minutes(logged_in, user):
    with time_machine.travel(dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC), tick=False):
        state = start(logged_in)
    fake_google()
    with time_machine.travel(dt.datetime(2026, 11, 25, 9, 10, 5, tzinfo=dt.UTC), tick=False):
        response = logged_in.get(CALLBACK, {"code": "c", "state": state})
    assert_refused(response, user, says="could not be matched", reason="state_mismatch")
    assert len(responses.calls) == 0


@responses.activate
def test_a_state_nine_minutes_old_is_still_accepted(logged_in, user):
    with time_machine.travel(dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC), tick=False):
        state = start(logged_in)
    fake_google()
    with time_machine.travel(dt.datetime(2026, 11, 25, 9, 9, tzinfo=dt.UTC), tick=False):
        logged_in.get(CALLBACK, {"code": "c", "state": state})
    assert Connection.objects.filter(user=user).count() == 1


@responses.activate
def test_a_state_from_another_users_session_is_refused(client, user, other_user):
    # given bob started a flow in his session
    from django.test import Client

    bob = Client()
    bob.force_login(other_user)
    bobs_state = start(bob)
    # when alice's browser arrives with bob's state
    client.force_login(user)
    start(client)
    fake_google()
    response = client.get(CALLBACK, {"code": "c", "state": bobs_state})
    # then it is refused
    assert_refused(response, user, says="could not be matched", reason="session_context_missing")


@responses.activate
def test_a_callback_without_code_is_refused(logged_in, user):
    state = start(logged_in)
    response = logged_in.get(CALLBACK, {"state": state})
    assert_refused(response, user, says="no authorization code", reason="missing_parameter")
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (400, None, "authorization_code_rejected"),
        (500, "internal error", "unavailable"),
        (503, "<html>down</html>", "unavailable"),
        (200, "<html>not json</html>", "malformed_response"),
        (200, {"token_type": "Bearer"}, "missing_claim"),
        (200, requests.ConnectTimeout("slow"), "timeout"),
    ],
    ids=["invalid-grant", "500", "503", "garbage", "no-access-token", "timeout"],
)
@responses.activate
def test_token_endpoint_failures_save_nothing(logged_in, user, status, body, reason):
    state = start(logged_in)
    if status == 400:
        body = {"error": "invalid_grant", "error_description": "Bad Request"}
    fake_google(token_status=status, token_body=body)
    response = logged_in.get(CALLBACK, {"code": "c", "state": state})
    assert_refused(response, user, says="Google Calendar", reason=reason)


@responses.activate
def test_identity_endpoint_failure_saves_nothing(logged_in, user):
    state = start(logged_in)
    fake_google(userinfo_status=500)
    response = logged_in.get(CALLBACK, {"code": "c", "state": state})
    assert_refused(response, user, says="did not complete", reason="unavailable")


@responses.activate
def test_an_identity_without_the_documented_fields_saves_nothing(logged_in, user):
    state = start(logged_in)
    responses.post(TOKEN, json=GOOD_TOKEN)
    responses.get(USERINFO, json={"email": "no-sub@gmail.test"})
    response = logged_in.get(CALLBACK, {"code": "c", "state": state})
    assert_refused(response, user, says="could not read", reason="unexpected_identity")


@responses.activate
def test_an_account_connected_by_another_user_is_refused(logged_in, user, other_user):
    from integrations.models import Service

    UserSocialAuth.objects.create(user=other_user, provider=KEY, uid="g-1", id_key="id")
    state = start(logged_in)
    fake_google()
    response = logged_in.get(CALLBACK, {"code": "c", "state": state})
    assert response.status_code == 302
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("another DayFlow user" in text for text in texts)
    assert not Connection.objects.filter(service=Service.objects.get(key=KEY)).exists()
    assert not Credential.objects.exists()


@responses.activate
def test_connecting_the_same_account_again_updates_it(logged_in, user):
    for code in ("c1", "c2"):
        state = start(logged_in)
        responses.reset()
        responses.post(TOKEN, json={**GOOD_TOKEN, "access_token": f"ya29.{code}"})
        responses.get(USERINFO, json={"sub": "g-1", "email": "alice@gmail.test"})
        logged_in.get(CALLBACK, {"code": code, "state": state})
    connection = Connection.objects.get(user=user)
    assert Credential.objects.get(connection=connection).access_token == "ya29.c2"
    assert AuditEvent.objects.filter(action="connection.reconnected").count() == 1


def test_a_service_without_client_credentials_cannot_start(logged_in, user, settings):
    settings.DAYFLOW_OAUTH_CLIENTS = {**settings.DAYFLOW_OAUTH_CLIENTS, KEY: {}}
    page = logged_in.get("/integrations/")
    assert "not configured" in page.content.decode()
    response = logged_in.post(f"/integrations/{KEY}/connect/")
    assert response.status_code == 302
    assert response["Location"] == "/integrations/"
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("is not configured" in text for text in texts)
    assert AuditEvent.objects.get(action="connection.connect_refused").success is False


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.post(f"/integrations/{KEY}/connect/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
