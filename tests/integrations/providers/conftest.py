"""Fixtures for provider tests: a fake clock and an HttpClient that never really waits."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import responses

from integrations.providers.http import HttpClient

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


def load(service: str, name: str) -> Any:
    return json.loads((FIXTURES / service / name).read_text())


def body(call: Any) -> Any:
    return json.loads(call.request.body)
