"""The API's test fixtures: a client authenticated by a personal API token, as a script is."""

from __future__ import annotations

from collections.abc import Callable

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
