"""Helpers for provider tests: a fake clock, fixture loading and the shared error cases."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


class FakeClock:
    """Monotonic and wall clock in one; `sleep` advances it and records every wait."""

    def __init__(self, start: float = 1_764_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def load(service: str, name: str) -> Any:
    return json.loads((FIXTURES / service / name).read_text())


def body(call: Any) -> Any:
    return json.loads(call.request.body)


ERROR_CASES = ("rate_limited", "server_error", "timeout", "malformed", "refresh", "revoked")


def arrange_error_case(
    case: str, mocked: responses.RequestsMock, method: str, url: str, ok_body: Any
) -> list[str]:
    """Registers the responses of one error case; returns the list refresh calls land in."""
    failures = {
        "rate_limited": {"status": 429, "headers": {"Retry-After": "2"}, "json": {}},
        "server_error": {"status": 500, "json": {}},
        "timeout": {"body": requests.ReadTimeout("read timed out")},
        "refresh": {"status": 401, "json": {"code": "unauthorized"}},
        "revoked": {"status": 401, "json": {"code": "unauthorized"}},
    }
    if case == "malformed":
        mocked.add(method, url, body="<html>upstream error</html>", status=200)
        return []
    mocked.add(method, url, **failures[case])
    if case == "revoked":
        mocked.add(method, url, **failures[case])
    else:
        mocked.add(method, url, json=ok_body)
    return []


def assert_error_case(case: str, act: Callable[[], Any], clock: FakeClock, refreshed: list) -> None:
    """Runs `act` under one error case and checks the outcome the engine relies on."""
    from integrations.providers import errors

    if case == "malformed":
        with pytest.raises(errors.UnexpectedPayload):
            act()
    elif case == "revoked":
        with pytest.raises(errors.AuthExpired):
            act()
        assert len(refreshed) == 1
    else:
        act()
        if case == "rate_limited":
            assert clock.sleeps == [2.0]
        if case == "refresh":
            assert refreshed == ["Bearer tok-live"]
