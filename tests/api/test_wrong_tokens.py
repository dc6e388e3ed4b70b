"""Wrong API tokens from one IP end in 429 with Retry-After (dayflow/api/auth.py), and a wrong
token from another IP or a session is not held up by them."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2030, 6, 1, 12, 0, 10, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.DAYFLOW_API_AUTH_FAILURES_PER_IP = 5
    settings.DAYFLOW_API_AUTH_FAILURES_WINDOW_SECONDS = 60


def wrong(ip: str, n: int = 0) -> APIClient:
    client = APIClient(REMOTE_ADDR=ip)
    client.credentials(HTTP_AUTHORIZATION=f"Token dayflow_{n:064x}")
    return client


def test_repeated_wrong_tokens_from_one_ip_end_in_429(token_client, user):
    with time_machine.travel(NOW, tick=False):
        answers = [wrong("203.0.113.9", n).get("/api/tokens") for n in range(7)]
        right = token_client(user)
        right.defaults["REMOTE_ADDR"] = "203.0.113.9"
        held = right.get("/api/tokens")
        elsewhere = wrong("198.51.100.4").get("/api/tokens")

    assert [a.status_code for a in answers] == [401] * 5 + [429] * 2
    assert answers[-1]["Retry-After"] == "50"
    # Past the limit the IP's tokens are not checked at all, the right one neither.
    assert held.status_code == 429
    assert elsewhere.status_code == 401

    with time_machine.travel(NOW + dt.timedelta(seconds=60), tick=False):
        assert right.get("/api/tokens").status_code == 200


def test_requests_without_a_token_are_not_counted(client, user):
    with time_machine.travel(NOW, tick=False):
        client.force_login(user)
        for _ in range(8):
            APIClient(REMOTE_ADDR="203.0.113.9").get("/api/tokens")
        assert client.get("/api/tokens", REMOTE_ADDR="203.0.113.9").status_code == 200
        assert wrong("203.0.113.9").get("/api/tokens").status_code == 401
