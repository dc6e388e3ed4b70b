"""A service's rate limit, enforced by a fake in virtual time (issue 19 §2's quota benchmark and
the tests of writes side by side).

`VirtualClock` is the wall clock, the monotonic clock and `sleep` of the HTTP client and its
token bucket: a sleep advances it instead of waiting. Threads share it, so a sleep first waits
(in real time) until every request the bucket admitted has reached the fake: time never moves
past a request still on its way, and each arrives at the virtual time it was admitted.

`RateWindow` wraps the fake's `responses` callbacks: it counts the calls, keeps the most in
flight at once, and answers 429 like the real service once more than `limit` calls arrived in
any `per` seconds (a sliding window: stricter than Notion's "average" with bursts, or a fixed
window's minute, so a client that passes it passes the real one).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import responses

from integrations.providers import http

START = 1_764_000_000.0
EPSILON = 1e-6


class VirtualClock:
    def __init__(self, start: float = START) -> None:
        self.now = start
        self.started = start
        self.pending = 0  # admitted by the bucket, not yet at the fake
        self._cond = threading.Condition()

    def __call__(self) -> float:
        with self._cond:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._cond:
            target = self.now + max(seconds, 0.0)
            self._cond.wait_for(lambda: self.pending == 0, timeout=5.0)
            self.now = max(self.now, target)

    def admitted(self, slots: int = 1) -> None:
        with self._cond:
            self.pending += slots

    def arrived(self, slots: int = 1) -> None:
        with self._cond:
            self.pending = max(self.pending - slots, 0)
            self._cond.notify_all()

    @property
    def elapsed(self) -> float:
        return self.now - self.started


@contextmanager
def metered(clock: VirtualClock) -> Iterator[None]:
    """Every slot the token bucket grants is a request on its way, until it arrives."""
    original = http.CallGate.admit

    def admit(gate: http.CallGate, max_wait: float | None = None, slots: int = 1) -> None:
        original(gate, max_wait, slots)
        if gate.bucket is not None:
            clock.admitted(slots)

    http.CallGate.admit = admit  # type: ignore[method-assign]
    try:
        yield
    finally:
        http.CallGate.admit = original  # type: ignore[method-assign]


# How each service says "too many": (status, headers, body) for a wait of `seconds`, at `now`.
def retry_after(seconds: float, now: float) -> tuple[int, dict[str, str], str]:
    body = {"object": "error", "status": 429, "code": "rate_limited"}
    return 429, {"Retry-After": str(math.ceil(seconds))}, json.dumps(body)


def clickup_reset(seconds: float, now: float) -> tuple[int, dict[str, str], str]:
    # https://developer.clickup.com/docs/rate-limits: X-RateLimit-Reset, a Unix timestamp.
    headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0"}
    headers["X-RateLimit-Reset"] = str(math.ceil(now + seconds))
    return 429, headers, json.dumps({"err": "Rate limit reached", "ECODE": "APP_002"})


def todoist_body(seconds: float, now: float) -> tuple[int, dict[str, str], str]:
    body = {"error": "Too many requests", "error_extra": {"retry_after": math.ceil(seconds)}}
    return 429, {}, json.dumps(body)


class RateWindow:
    def __init__(
        self,
        clock: VirtualClock,
        limit: int,
        per: float,
        *,
        refuse: Callable[[float, float], tuple[int, dict[str, str], str]] = retry_after,
        latency: float = 0.0,
        weight: Callable[[Any], int] = lambda request: 1,
    ) -> None:
        self.clock = clock
        self.limit = limit
        self.per = per
        self.refuse = refuse
        self.latency = latency  # real seconds a call takes, so that calls overlap
        # What one call counts against the limit: 1, or a batch's inner calls where the
        # service counts those (Google: "n requests, not one").
        self.weight = weight
        self.units = 0
        self.arrivals: deque[float] = deque()
        self.calls = 0
        self.refused = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def wrap(self, callback: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def limited(request: Any) -> Any:
            units = self.weight(request)
            self.clock.arrived(units)
            now = self.clock()
            with self._lock:
                self.calls += 1
                self.units += units
                # A call exactly `per` after the one it replaces is within the limit; the
                # margin absorbs float rounding at epoch magnitudes (~1e-7 s), nothing more.
                while self.arrivals and self.arrivals[0] <= now - self.per + EPSILON:
                    self.arrivals.popleft()
                if len(self.arrivals) + units > self.limit:
                    self.refused += 1
                    wait = self.arrivals[len(self.arrivals) + units - self.limit - 1]
                    return self.refuse(wait + self.per - now, now)
                self.arrivals.extend([now] * units)
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                if self.latency:
                    time.sleep(self.latency)
                return callback(request)
            finally:
                with self._lock:
                    self.in_flight -= 1

        return limited

    @contextmanager
    def guarding(self, mocked: responses.RequestsMock) -> Iterator[responses.RequestsMock]:
        """Within the block, every callback registered on `mocked` passes this window."""
        original = mocked.add_callback

        def add_callback(method: Any, url: Any, callback: Any, **kwargs: Any) -> Any:
            return original(method, url, callback=self.wrap(callback), **kwargs)

        mocked.add_callback = add_callback  # type: ignore[method-assign]
        try:
            yield mocked
        finally:
            mocked.add_callback = original  # type: ignore[method-assign]
