"""The product's real connect flow (its social-core backends) against each emulator: "Allow"
on the sandbox's authorize page connects the account; "Deny" connects nothing; disconnecting
revokes the grant where the service has revocation. The Django test client stands in for the
browser; the backends reach the token and identity endpoints over HTTP (a live server). The
providers' URLs are overridden here only: the product's wiring of base URLs comes later."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.models import Credential, UserIntegration
from integrations.oauth.backends import BACKENDS
from integrations.providers import PROVIDERS
from integrations.sandbox import clients
from integrations.sandbox.models import Grant

# key: (authorize, token, revoke or "", identity or "") under /sandbox/<key>/
ENDPOINTS = {
    "todoist": ("oauth/authorize", "oauth/access_token", "api/v1/revoke", "api/v1/sync"),
    "google-calendar": ("o/oauth2/v2/auth", "token", "revoke", "v1/userinfo"),
    "notion": ("v1/oauth/authorize", "v1/oauth/token", "v1/oauth/revoke", ""),
    "linear": ("oauth/authorize", "oauth/token", "oauth/revoke", "graphql"),
    "clickup": ("api", "api/v2/oauth/token", "", "api/v2/user"),
    "outlook": ("common/oauth2/v2.0/authorize", "common/oauth2/v2.0/token", "", "v1.0/me"),
}


@pytest.fixture
def sandboxed(transactional_db, live_server, sandbox_on, monkeypatch):
    """Every provider's OAuth endpoints pointed at the emulators, DayFlow registered there."""
    for key, (authorize, token, revoke, identity) in ENDPOINTS.items():
        base = f"{live_server.url}/sandbox/{key}"
        provider = PROVIDERS[key]
        monkeypatch.setattr(provider, "authorization_url", f"{base}/{authorize}")
        monkeypatch.setattr(provider, "token_url", f"{base}/{token}")
        monkeypatch.setattr(provider, "revoke_url", f"{base}/{revoke}" if revoke else "")
        if identity:
            monkeypatch.setattr(BACKENDS[key], "identity_url", f"{base}/{identity}")
    sandbox_on.DAYFLOW_OAUTH_CLIENTS = {
        key: dict(zip(("client_id", "client_secret"), clients.credentials(key), strict=True))
        for key in ENDPOINTS
    }
    clients.register(sandbox_on.PUBLIC_URL)
    return live_server


def go_through_consent(client, key: str, button: str) -> str:
    """Start the connect flow, click a button on the sandbox page; the callback URL."""
    started = client.post(f"/integrations/{key}/connect/")
    assert started.status_code == 302
    consent = urlsplit(started["Location"])
    params = {k: v[0] for k, v in parse_qs(consent.query).items()}
    assert client.get(consent.path, params).status_code == 200
    answered = client.post(consent.path, {**params, button: "1"})
    assert answered.status_code == 302
    return answered["Location"]


@pytest.mark.parametrize("key", list(ENDPOINTS))
def test_allow_connects_the_sandbox_account_and_disconnect_revokes(sandboxed, client, user, key):
    client.force_login(user)

    back = urlsplit(go_through_consent(client, key, "allow"))
    done = client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()})

    assert done.status_code == 302
    connection = UserIntegration.objects.get(service__key=key)
    assert connection.external_account_id
    assert Credential.objects.get(connection=connection).access_token
    client.post(f"/integrations/connections/{connection.pk}/disconnect/", {"keep_items": "keep"})
    still_live = Grant.objects.filter(kind="access", revoked_at=None).exists()
    assert still_live is not bool(ENDPOINTS[key][2])  # revoked where the service can


@pytest.mark.parametrize("key", ["todoist", "google-calendar"])
def test_deny_connects_nothing(sandboxed, client, user, key):
    client.force_login(user)

    back = urlsplit(go_through_consent(client, key, "deny"))
    client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()})

    assert parse_qs(back.query)["error"] == ["access_denied"]
    assert not UserIntegration.objects.exists()
