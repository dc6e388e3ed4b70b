"""Shared fixtures of the OAuth flow, token and connection page tests (imported by them)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

CLIENTS = {
    key: {"client_id": f"{key}-client-id", "client_secret": f"{key}-client-secret"}
    for key in ("notion", "clickup", "linear", "todoist", "google-calendar", "outlook")
}


@pytest.fixture(autouse=True)
def oauth_clients(settings):
    settings.DAYFLOW_OAUTH_CLIENTS = {key: dict(value) for key, value in CLIENTS.items()}
    settings.PUBLIC_URL = "https://dayflow.test"
    return settings.DAYFLOW_OAUTH_CLIENTS


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    delays: list[float] = []
    monkeypatch.setattr("integrations.tokens._sleep", delays.append)
    return delays


@pytest.fixture
def make_connection(user):
    from integrations.models import Connection, Credential, Service

    def make(key: str = "todoist", *, access="at-old", refresh="rt-old", expires_in=3600):
        connection = Connection.objects.create(
            user=user,
            service=Service.objects.get(key=key),
            external_account_id=f"{key}-acct",
            label=f"alice@{key}",
        )
        Credential.objects.create(
            connection=connection,
            access_token=access,
            refresh_token=refresh,
            expires_at=timezone.now() + dt.timedelta(seconds=expires_in),
        )
        return connection

    return make
