"""The emulated OAuth 2.0 endpoints, shown on Todoist (rotating refresh tokens, RFC 7009
revocation with Basic client auth) and Google (PKCE S256, refresh tokens that do not rotate)."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
import time_machine
from django.test import Client as Browser

from integrations.sandbox.models import Grant
from tests.sandbox.conftest import account

TOKEN = "/sandbox/todoist/oauth/access_token"
SYNC = "/sandbox/todoist/api/v1/sync"


@pytest.fixture
def app(register):
    return register("todoist")


def exchange(app, code: str, **changes: str):
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": app.redirect_uri,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        **changes,
    }
    return Browser().post(TOKEN, form)


def refresh(app, refresh_token: str):
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    form |= {"client_id": app.client_id, "client_secret": app.client_secret}
    return Browser().post(TOKEN, form)


def sync_status(access_token: str) -> int:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {access_token}"}
    return (
        Browser().post(SYNC, {"sync_token": "*", "resource_types": '["user"]'}, **auth).status_code
    )


def test_allow_redirects_back_with_a_code_and_the_state(authorize, app):
    answer = authorize("todoist", app)

    assert set(answer) == {"code", "state"}
    assert answer["state"] == "state-123"


def test_deny_redirects_back_with_access_denied(authorize, app):
    assert authorize("todoist", app, button="deny") == {
        "error": "access_denied",
        "state": "state-123",
    }


def test_a_redirect_uri_other_than_the_registered_one_is_never_followed(client, app):
    response = client.get(
        "/sandbox/todoist/oauth/authorize",
        {"client_id": app.client_id, "redirect_uri": "http://127.0.0.1:9/steal"},
    )

    assert response.status_code == 400
    assert b"redirect URI" in response.content


def test_the_code_buys_tokens_and_seeds_the_account(authorize, app):
    body = exchange(app, authorize("todoist", app)["code"]).json()

    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert {"access_token", "refresh_token"} <= body.keys()
    assert account("todoist").items.filter(kind="task").count() == 30
    assert sync_status(body["access_token"]) == 200


def test_an_expired_code_is_invalid_grant(authorize, app):
    code = authorize("todoist", app)["code"]

    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)):
        response = exchange(app, code)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_replayed_code_fails_and_ends_the_tokens_it_bought(authorize, app):
    code = authorize("todoist", app)["code"]
    first = exchange(app, code).json()

    assert exchange(app, code).json()["error"] == "invalid_grant"
    assert sync_status(first["access_token"]) == 401


def test_the_redirect_uri_must_match_the_authorization(authorize, app):
    code = authorize("todoist", app)["code"]

    assert exchange(app, code, redirect_uri="http://127.0.0.1:8000/other").json() == {
        "error": "invalid_grant",
        "error_description": "redirect_uri does not match",
    }


def test_a_wrong_client_secret_is_invalid_client(authorize, app):
    response = exchange(app, authorize("todoist", app)["code"], client_secret="nope")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_todoist_rotates_the_refresh_token(authorize, app):
    first = exchange(app, authorize("todoist", app)["code"]).json()

    second = refresh(app, first["refresh_token"]).json()

    assert second["refresh_token"] != first["refresh_token"]
    assert refresh(app, first["refresh_token"]).json()["error"] == "invalid_grant"
    assert sync_status(second["access_token"]) == 200


def test_an_expired_access_token_is_refused(authorize, app):
    body = exchange(app, authorize("todoist", app)["code"]).json()

    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)):
        assert sync_status(body["access_token"]) == 401


def test_revocation_ends_the_grant(authorize, app):
    body = exchange(app, authorize("todoist", app)["code"]).json()
    basic = base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode()

    response = Browser().post(
        "/sandbox/todoist/api/v1/revoke",
        {"token": body["access_token"], "token_type_hint": "access_token"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )

    assert response.status_code == 200
    assert sync_status(body["access_token"]) == 401
    assert refresh(app, body["refresh_token"]).json()["error"] == "invalid_grant"
    assert not Grant.objects.filter(revoked_at=None, kind="refresh").exists()
