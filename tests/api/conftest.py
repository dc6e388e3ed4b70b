"""The API's test fixtures: a client authenticated by a personal API token, as a script is."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from dayflow.models import ApiToken


@pytest.fixture
def token_client() -> Callable[..., APIClient]:
    """`token_client(user, name="script")`: an APIClient sending a fresh token of `user`."""

    def make(user, name: str = "script") -> APIClient:
        _, token = ApiToken.objects.create(user=user, expiry=None, name=name)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    return make


@pytest.fixture
def api(token_client, user) -> APIClient:
    """The user's own script."""
    return token_client(user)


@pytest.fixture
def others_api(token_client, other_user) -> APIClient:
    """Another user's script, for the 404s of isolation."""
    return token_client(other_user, name="bob's script")


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache; each test starts with none spent."""
    from django.core.cache import cache

    cache.clear()


# The services tier's database, broker and cache may live on another host: those stay reachable.
SERVICE_URLS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL")


def service_addresses() -> set[str]:
    hosts = {urlsplit(os.environ.get(name, "")).hostname for name in SERVICE_URLS} - {None}
    found = (socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP) for host in hosts)
    return {info[4][0] for infos in found for info in infos}


@pytest.fixture
def local_network_only(monkeypatch):
    """Nothing leaves this machine: a connection elsewhere fails as an unreachable network
    would (OSError), and the test sees the app's answer to that."""
    real_connect = socket.socket.connect
    allowed = {"127.0.0.1", "::1", *service_addresses()}

    def connect(sock, address):
        if isinstance(address, tuple) and address[0] not in allowed:
            raise OSError(101, f"Network is unreachable (a test): {address[0]}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
