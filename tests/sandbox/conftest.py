"""Fixtures for the sandbox: switched on, an app registered at an emulated service, an
account connected through the authorize page and the token endpoint."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from django.test import Client as Browser

from integrations.sandbox import clients
from integrations.sandbox.models import Account, Client

REDIRECT = "http://127.0.0.1:8000/integrations/{key}/callback/"
AUTHORIZE = {
    "todoist": "oauth/authorize",
    "google-calendar": "o/oauth2/v2/auth",
    "notion": "v1/oauth/authorize",
    "linear": "oauth/authorize",
    "clickup": "api",
    "outlook": "common/oauth2/v2.0/authorize",
}
VERIFIER = "a-code-verifier-that-is-long-enough-for-rfc-7636-0123456789"


def challenge(verifier: str = VERIFIER) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture
def sandbox_on(settings):
    settings.DAYFLOW_SANDBOX = True
    settings.PUBLIC_URL = "http://127.0.0.1:8000"
    settings.DAYFLOW_SANDBOX_SEND_WEBHOOKS = False  # tests send with deliver_pending()
    return settings


@pytest.fixture
def register(db, sandbox_on) -> Callable[..., Client]:
    def make(key: str, **extra: Any) -> Client:
        return Client.objects.create(
            service=key,
            client_id=f"{key}-client",
            client_secret=f"{key}-secret",
            redirect_uri=REDIRECT.format(key=key),
            **extra,
        )

    return make


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def authorize(db, sandbox_on) -> Callable[..., dict[str, str]]:
    """Click "Allow" (or "Deny") on a service's authorize page; the redirect's query."""

    def click(key: str, client: Client, button: str = "allow", **params: str) -> dict[str, str]:
        browser = Browser()
        params = {
            "client_id": client.client_id,
            "redirect_uri": client.redirect_uri,
            "response_type": "code",
            "state": "state-123",
            **params,
        }
        url = f"/sandbox/{key}/{AUTHORIZE[key]}"
        page = browser.get(url, params)
        assert page.status_code == 200, page.content
        response = browser.post(url, {**params, button: "1"})
        assert response.status_code == 302
        assert response["Location"].startswith(client.redirect_uri)
        return query(response["Location"])

    return click


@pytest.fixture
def connect(authorize) -> Callable[..., dict[str, Any]]:
    """Authorize and exchange the code: the token endpoint's answer."""

    def run(key: str, client: Client, token_path: str, **params: str) -> dict[str, Any]:
        code = authorize(key, client, **params)["code"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        }
        if "code_challenge" in params:
            form["code_verifier"] = VERIFIER
        response = Browser().post(f"/sandbox/{key}/{token_path}", form)
        assert response.status_code == 200, response.content
        return response.json()

    return run


def account(key: str) -> Account:
    return Account.objects.get(service=key)


def same_shape(recorded: Any, emulated: Any, where: str = "$") -> list[str]:
    """Where `emulated` lacks a key of `recorded` or holds another JSON type: the recording
    wins. Lists are compared by their first elements; nulls match anything."""
    if recorded is None or emulated is None:
        return []
    if isinstance(recorded, dict):
        if not isinstance(emulated, dict):
            return [f"{where}: object expected"]
        problems = [f"{where}.{k}: missing" for k in recorded if k not in emulated]
        for k in recorded.keys() & emulated.keys():
            problems += same_shape(recorded[k], emulated[k], f"{where}.{k}")
        return problems
    if isinstance(recorded, list):
        if not isinstance(emulated, list):
            return [f"{where}: array expected"]
        return same_shape(recorded[0], emulated[0], f"{where}[0]") if recorded and emulated else []
    kinds = (bool, int | float, str)
    for kind in kinds:
        if isinstance(recorded, kind):
            ok = isinstance(emulated, kind) and not (
                kind is not bool and isinstance(emulated, bool)
            )
            return [] if ok else [f"{where}: {type(recorded).__name__} expected"]
    return []


def cassette(path: Path) -> list[tuple[str, str, int, Any]]:
    """A vcrpy cassette's interactions: (method, uri, status, JSON body or None)."""
    found = []
    for interaction in yaml.safe_load(path.read_text())["interactions"]:
        request, response = interaction["request"], interaction["response"]
        try:
            body = json.loads(response["body"]["string"])
        except ValueError:
            body = None
        found.append((request["method"], request["uri"], response["status"]["code"], body))
    return found


# key: (authorize, token, revoke or "", identity or "") under /sandbox/<key>/; the providers
# reach them through DAYFLOW_SERVICE_URLS (integrations/service_urls.py)
ENDPOINTS = {
    "todoist": ("oauth/authorize", "oauth/access_token", "api/v1/revoke", "api/v1/sync"),
    "google-calendar": ("o/oauth2/v2/auth", "token", "revoke", "v1/userinfo"),
    "notion": ("v1/oauth/authorize", "v1/oauth/token", "v1/oauth/revoke", ""),
    "linear": ("oauth/authorize", "oauth/token", "oauth/revoke", "graphql"),
    "clickup": ("api", "api/v2/oauth/token", "", "api/v2/user"),
    "outlook": ("common/oauth2/v2.0/authorize", "common/oauth2/v2.0/token", "", "v1.0/me"),
}


@pytest.fixture
def sandboxed(transactional_db, live_server, sandbox_on):
    """Every OAuth service sandboxed at the live server's emulators, DayFlow registered there."""
    sandbox_on.PUBLIC_URL = live_server.url  # the callback and webhook URLs
    sandbox_on.DAYFLOW_SERVICE_URLS = {key: f"{live_server.url}/sandbox/{key}" for key in ENDPOINTS}
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


def connect_through_consent(client, key: str):
    """ "Allow" on the sandbox page and the product's callback: the new connection."""
    from integrations.models import Connection

    back = urlsplit(go_through_consent(client, key, "allow"))
    client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()})
    return Connection.objects.get(service__key=key)
