"""Each OAuth service's full flow through the Django test client, against faked endpoints:
the redirect (state, PKCE S256 challenge, scopes), the callback, the token stored encrypted,
refresh with rotation, and revocation on disconnect."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.db import connection as db
from social_django.models import UserSocialAuth

from audit.models import AuditEvent
from integrations.models import Connection, Credential
from integrations.signals import connection_connected, connection_disconnecting
from integrations.tokens import refresh_access_token

pytestmark = pytest.mark.django_db

PUBLIC = "https://dayflow.test"


@dataclasses.dataclass
class Spec:
    key: str
    authorize: str
    token: str
    scope: str | None
    pkce: bool
    extra: dict[str, str]
    token_response: dict[str, Any]
    identity: list[tuple[str, str, dict[str, Any]]]  # method, url, json body
    account_id: str
    label: str
    basic_auth: bool = False
    json_token_body: bool = False
    revoke: str | None = None


SPECS = [
    Spec(
        key="notion",
        authorize="https://api.notion.com/v1/oauth/authorize",
        token="https://api.notion.com/v1/oauth/token",
        scope=None,
        pkce=False,
        extra={"owner": "user"},
        token_response={
            "access_token": "ntn_access_1",
            "token_type": "bearer",
            "refresh_token": "ntn_refresh_1",
            "bot_id": "bot-1",
            "workspace_id": "ws-1",
            "workspace_name": "Alice's workspace",
            "owner": {"type": "user", "user": {"id": "u1", "person": {"email": "a@x.test"}}},
        },
        identity=[],
        account_id="ws-1",
        label="Alice's workspace",
        basic_auth=True,
        json_token_body=True,
        revoke="https://api.notion.com/v1/oauth/revoke",
    ),
    Spec(
        key="clickup",
        authorize="https://app.clickup.com/api",
        token="https://api.clickup.com/api/v2/oauth/token",
        scope=None,
        pkce=False,
        extra={},
        token_response={"access_token": "cu_access_1", "token_type": "Bearer"},
        identity=[
            (
                "GET",
                "https://api.clickup.com/api/v2/user",
                {"user": {"id": 4242, "username": "alice", "email": "alice@clickup.test"}},
            )
        ],
        account_id="4242",
        label="alice@clickup.test",
    ),
    Spec(
        key="linear",
        authorize="https://linear.app/oauth/authorize",
        token="https://api.linear.app/oauth/token",
        scope="read,write",
        pkce=True,
        extra={},
        token_response={
            "access_token": "lin_oauth_access_1",
            "token_type": "Bearer",
            "expires_in": 86399,
            "refresh_token": "lin_refresh_1",
            "scope": "read write",
        },
        identity=[
            (
                "POST",
                "https://api.linear.app/graphql",
                {
                    "data": {
                        "viewer": {"id": "lin-user-1", "name": "Alice", "email": "a@lin.test"},
                        "organization": {"name": "Acme"},
                    }
                },
            )
        ],
        account_id="lin-user-1",
        label="a@lin.test / Acme",
        revoke="https://api.linear.app/oauth/revoke",
    ),
    Spec(
        key="todoist",
        authorize="https://todoist.com/oauth/authorize",
        token="https://todoist.com/oauth/access_token",
        scope="data:read_write,data:delete",
        pkce=False,
        extra={},
        token_response={
            "access_token": "td_access_1",
            "token_type": "Bearer",
            "refresh_token": "td_refresh_1",
            "expires_in": 3600,
        },
        identity=[
            (
                "POST",
                "https://api.todoist.com/api/v1/sync",
                {"user": {"id": "td-9", "email": "alice@todoist.test", "full_name": "Alice"}},
            )
        ],
        account_id="td-9",
        label="alice@todoist.test",
        basic_auth=False,
        revoke="https://api.todoist.com/api/v1/revoke",
    ),
    Spec(
        key="google-calendar",
        authorize="https://accounts.google.com/o/oauth2/v2/auth",
        token="https://oauth2.googleapis.com/token",
        scope=(
            "openid email https://www.googleapis.com/auth/calendar.events "
            "https://www.googleapis.com/auth/calendar.readonly"
        ),
        pkce=True,
        extra={"access_type": "offline", "prompt": "consent"},
        token_response={
            "access_token": "ya29.access-1",
            "expires_in": 3599,
            "refresh_token": "1//refresh-1",
            "scope": "openid email",
            "token_type": "Bearer",
            "id_token": "header.payload.sig",
        },
        identity=[
            (
                "GET",
                "https://openidconnect.googleapis.com/v1/userinfo",
                {"sub": "1098", "email": "alice@gmail.test"},
            )
        ],
        account_id="1098",
        label="alice@gmail.test",
        revoke="https://oauth2.googleapis.com/revoke",
    ),
    Spec(
        key="outlook",
        authorize="https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        token="https://login.microsoftonline.com/common/oauth2/v2.0/token",
        scope="offline_access openid email Calendars.ReadWrite",
        pkce=True,
        extra={},
        token_response={
            "access_token": "eyJ0eXAi.ms-access-1",
            "token_type": "Bearer",
            "expires_in": 3599,
            "refresh_token": "M.ms-refresh-1",
            "scope": "Calendars.ReadWrite",
        },
        identity=[
            (
                "GET",
                "https://graph.microsoft.com/v1.0/me",
                {"id": "ms-77", "userPrincipalName": "alice@outlook.test", "mail": None},
            )
        ],
        account_id="ms-77",
        label="alice@outlook.test",
    ),
]


def start(client, key: str) -> dict[str, str]:
    response = client.post(f"/integrations/{key}/connect/")
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    return {k: v[0] for k, v in parse_qs(url.query).items()} | {
        "_base": f"{url.scheme}://{url.netloc}{url.path}"
    }


def fake_service(spec: Spec) -> None:
    responses.post(spec.token, json=spec.token_response)
    for method, url, body in spec.identity:
        responses.add(method, url, json=body)


def token_calls(spec: Spec) -> list:
    return [call for call in responses.calls if call.request.url.startswith(spec.token)]


def body_of(request) -> dict[str, str]:
    if request.headers.get("Content-Type", "").startswith("application/json"):
        return json.loads(request.body)
    return {k: v[0] for k, v in parse_qs(request.body).items()}


def raw_secrets_blob() -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token, scopes FROM integrations_credential")
        rows = cursor.fetchall()
        cursor.execute("SELECT extra_data FROM social_auth_usersocialauth")
        rows += cursor.fetchall()
    return json.dumps([[str(value) for value in row] for row in rows])


@pytest.mark.parametrize("spec", SPECS, ids=[spec.key for spec in SPECS])
@responses.activate
def test_the_full_flow_of_each_service(client, user, spec: Spec, caplog):
    caplog.set_level(logging.DEBUG)
    client.force_login(user)
    connected = []
    connection_connected.connect(
        lambda **kw: connected.append(kw["created"]), weak=False, dispatch_uid="flow"
    )
    try:
        # when the user starts connecting
        params = start(client, spec.key)
        # then they are sent to the service's consent page with the right parameters
        assert params["_base"] == spec.authorize
        assert params["client_id"] == f"{spec.key}-client-id"
        assert params["redirect_uri"] == f"{PUBLIC}/integrations/{spec.key}/callback/"
        assert params["response_type"] == "code"
        assert len(params["state"]) >= 32
        assert params.get("scope") == spec.scope
        for name, value in spec.extra.items():
            assert params[name] == value
        assert ("code_challenge" in params) is spec.pkce
        if spec.pkce:
            assert params["code_challenge_method"] == "S256"

        # when the service redirects back with a code
        fake_service(spec)
        response = client.get(
            f"/integrations/{spec.key}/callback/", {"code": "the-code", "state": params["state"]}
        )
        # then the code was exchanged as the service documents it
        assert response.status_code == 302
        # and a service that needs a container first (issue 15) leads to picking it
        connected_now = Connection.objects.get(user=user, service__key=spec.key)
        if connected_now.service.provider.collection_required:
            assert connected_now.setup_needed
            settings_page = f"/integrations/connections/{connected_now.pk}/settings/?pick=1"
            assert response["Location"] == settings_page
        else:
            assert response["Location"] == "/integrations/"
        [call] = token_calls(spec)
        sent = body_of(call.request)
        assert sent["grant_type"] == "authorization_code"
        assert sent["code"] == "the-code"
        assert sent["redirect_uri"] == f"{PUBLIC}/integrations/{spec.key}/callback/"
        if spec.basic_auth:
            expected = base64.b64encode(f"{spec.key}-client-id:{spec.key}-client-secret".encode())
            assert call.request.headers["Authorization"] == f"Basic {expected.decode()}"
            assert "client_secret" not in sent
        else:
            assert sent["client_secret"] == f"{spec.key}-client-secret"
        assert spec.json_token_body is call.request.headers["Content-Type"].startswith(
            "application/json"
        )
        if spec.pkce:
            digest = hashlib.sha256(sent["code_verifier"].encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            assert challenge == params["code_challenge"]
        else:
            assert "code_verifier" not in sent

        # and the account is connected with its tokens stored encrypted, nowhere in plain text
        connection = Connection.objects.get(user=user, service__key=spec.key)
        assert (connection.external_account_id, connection.label) == (spec.account_id, spec.label)
        assert connection.status == "connected"
        assert connected == [True]
        credential = Credential.objects.get(connection=connection)
        assert credential.access_token == spec.token_response["access_token"]
        assert credential.refresh_token == (spec.token_response.get("refresh_token") or "")
        assert (credential.expires_at is None) is ("expires_in" not in spec.token_response)
        blob = raw_secrets_blob()
        assert spec.token_response["access_token"] not in blob
        if spec.token_response.get("refresh_token"):
            assert spec.token_response["refresh_token"] not in blob
        social = UserSocialAuth.objects.get(user=user, provider=spec.key)
        assert social.uid == spec.account_id
        assert "token" not in json.dumps(social.extra_data)
        assert "_auth_user_id" in client.session  # still the same login, nobody else's
        assert int(client.session["_auth_user_id"]) == user.pk
    finally:
        connection_connected.disconnect(dispatch_uid="flow")

    # refresh with rotation, where the service issues refresh tokens
    if spec.token_response.get("refresh_token"):
        responses.post(spec.token, json={"access_token": "new-access", "refresh_token": "rot-2"})
        assert refresh_access_token(connection, failed_token=credential.access_token) == (
            "new-access"
        )
        refreshed = body_of(token_calls(spec)[-1].request)
        assert refreshed["refresh_token"] == spec.token_response["refresh_token"]
        credential.refresh_from_db()
        assert (credential.access_token, credential.refresh_token) == ("new-access", "rot-2")

    # disconnect revokes where the service offers it, and forgets the credentials
    if spec.revoke:
        responses.post(spec.revoke, body="")
    disconnecting = []
    connection_disconnecting.connect(
        lambda **kw: disconnecting.append(
            (kw["keep_items"], Credential.objects.filter(connection=kw["connection"]).exists())
        ),
        weak=False,
        dispatch_uid="flow-disconnect",
    )
    try:
        response = client.post(
            f"/integrations/connections/{connection.pk}/disconnect/", {"keep_items": "keep"}
        )
    finally:
        connection_disconnecting.disconnect(dispatch_uid="flow-disconnect")
    assert response.status_code == 302
    assert disconnecting == [(True, True)]  # told before the credentials went
    revocations = [c for c in responses.calls if spec.revoke and c.request.url == spec.revoke]
    assert len(revocations) == (1 if spec.revoke else 0)
    if revocations:
        request = revocations[0].request
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        sent = f"{body} {request.headers.get('Authorization')}"
        assert credential.access_token in sent or credential.refresh_token in sent
    connection.refresh_from_db()
    assert connection.status == "disconnected"
    assert not Credential.objects.filter(connection=connection).exists()
    assert not UserSocialAuth.objects.filter(user=user, provider=spec.key).exists()
    # and no token reached the logs or the audit trail
    audit = json.dumps(list(AuditEvent.objects.values_list("details", flat=True)))
    for secret in (spec.token_response["access_token"], "new-access", "rot-2", "the-code"):
        assert secret not in caplog.text
        assert secret not in audit


def jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.signature"


@responses.activate
def test_outlook_takes_the_account_from_the_id_token_without_calling_graph(client, user):
    # given Microsoft answers with an id_token (openid scope) and /me would need User.Read
    client.force_login(user)
    state = start(client, "outlook")["state"]
    responses.post(
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        json={
            "access_token": "ms-access",
            "refresh_token": "ms-refresh",
            "expires_in": 3599,
            "id_token": jwt({"oid": "ms-oid-5", "preferred_username": "bob@contoso.test"}),
        },
    )
    me = responses.get("https://graph.microsoft.com/v1.0/me", status=403)
    # when the callback completes
    client.get("/integrations/outlook/callback/", {"code": "c", "state": state})
    # then the account is the id_token's oid, and Graph was not asked
    connection = Connection.objects.get(user=user, service__key="outlook")
    assert (connection.external_account_id, connection.label) == ("ms-oid-5", "bob@contoso.test")
    assert me.call_count == 0
