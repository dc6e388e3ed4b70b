"""Fixtures for provider tests: a fake clock and an HttpClient that never really waits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import responses

from integrations.providers.http import HttpClient
from tests.integrations.providers.support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def mocked() -> responses.RequestsMock:
    with responses.RequestsMock() as rsps:
        yield rsps


@pytest.fixture
def make_client(clock: FakeClock, db) -> Callable[..., HttpClient]:
    def make(service: str, token: str = "tok-live", **options: Any) -> HttpClient:
        options.setdefault("rate", (0, 1.0))
        options.setdefault("rng", lambda: 0.5)
        return HttpClient(
            service,
            auth_headers=options.pop("auth_headers", lambda: {"Authorization": f"Bearer {token}"}),
            clock=clock,
            wall_clock=clock,
            sleep=clock.sleep,
            **options,
        )

    return make


@pytest.fixture
def connect(user):
    """A saved connection to `key` with the given settings (validated like any save)."""
    from integrations.models import Connection, Service

    def make(key: str, **mapping: Any) -> Connection:
        return Connection.objects.create(
            user=user,
            service=Service.objects.get(key=key),
            external_account_id=f"{key}-account",
            field_mapping=mapping,
        )

    return make


@pytest.fixture
def wired(clock: FakeClock) -> Callable[..., HttpClient]:
    """The real client_for wiring (token from the encrypted credential), on the fake clock."""
    from integrations.clients import client_for
    from integrations.models import Credential

    def make(connection: Any, token: str) -> HttpClient:
        Credential.objects.create(connection=connection, access_token=token)
        return client_for(
            connection, rate=(0, 1.0), clock=clock, wall_clock=clock, sleep=clock.sleep
        )

    return make
