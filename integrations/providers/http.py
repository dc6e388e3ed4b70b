"""The one HTTP client every REST provider calls through.

`HttpClient` wraps a `requests.Session` for one service (and one connection) and gives the
engine's retry policy one home: timeouts on every call, exponential backoff with jitter on
network errors, 5xx and overload codes, 429 honouring the server's wait, a token bucket shared
by every worker process through Django's cache, one token refresh on 401, and typed errors
(`integrations.providers.errors`). Every call is logged without tokens or bodies and counted
per connection (`api_calls`).

The token bucket and the call counter are one `CallGate`, which the CalDAV transport passes
too. Which rate a connection gets and whose token it sends are decided above this module,
in `integrations.clients`: this one knows no connections, credentials or providers.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from django.core.cache import cache

from dayflow import backoff
from integrations.locks import LockTimeout, exclusive
from integrations.providers.errors import (
    AuthExpired,
    Gone,
    NotFound,
    Permanent,
    PreconditionFailed,
    RateLimited,
    Transient,
    UnexpectedPayload,
)

logger = logging.getLogger("integrations.http")

# Notion answers 529 when it is overloaded (https://developers.notion.com/reference/status-codes).
OVERLOAD_STATUSES = frozenset({500, 502, 503, 504, 529})
# Turned away before any processing: safe to resend whatever the method.
REJECTED_STATUSES = frozenset({529})
# Methods whose repetition has no further effect (RFC 9110, 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
LOCK_TTL = 5.0

Clock = Callable[[], float]
Sleep = Callable[[float], None]


def api_calls(connection_id: int) -> int:
    """How many API calls this connection has made (quota use), across all workers.

    This process's calls not yet flushed are flushed first, so a job reading its own count
    at its end sees every call it made.
    """
    flush_call_counts(connection_id)
    return int(cache.get(_calls_key(connection_id), 0))


def flush_call_counts(connection_id: int | None = None) -> None:
    """Add this process's pending call counts (one connection's, or all) to the shared ones."""
    with _pending_lock:
        ids = [connection_id] if connection_id is not None else list(_pending_calls)
        taken = {cid: _pending_calls.pop(cid) for cid in ids if cid in _pending_calls}
        _flushed_at[0] = time.monotonic()
    for cid, count in taken.items():
        _add_calls(cid, count)


def _calls_key(connection_id: int) -> str:
    return f"dayflow:http:calls:{connection_id}"


# Counted in memory and flushed every CALLS_FLUSH_EVERY calls, on the first call at least
# CALLS_FLUSH_SECONDS after the last flush, when read, and at exit: a cache write per call cost
# ~8 queries on the database cache, more than the call's own work.
CALLS_FLUSH_EVERY = 100
CALLS_FLUSH_SECONDS = 5.0
_pending_calls: dict[int, int] = {}
_pending_lock = threading.Lock()
_flushed_at = [time.monotonic()]


def _count_call(connection_id: int | None, *, flush: bool = True) -> None:
    """One more call; `flush=False` on a write thread (`providers.parallel`), which must not
    touch the cache (the database, by default): the engine's thread flushes it later."""
    if connection_id is None:
        return
    with _pending_lock:
        count = _pending_calls[connection_id] = _pending_calls.get(connection_id, 0) + 1
        stale = time.monotonic() - _flushed_at[0] >= CALLS_FLUSH_SECONDS
    if flush and (count >= CALLS_FLUSH_EVERY or stale):
        flush_call_counts()


def _add_calls(connection_id: int, count: int) -> None:
    key = _calls_key(connection_id)
    # incr is atomic on Redis; on the database cache a rare concurrent increment may be lost,
    # which a quota gauge can live with.
    try:
        cache.incr(key, count)
    except ValueError:  # no counter yet (or it was evicted)
        if not cache.add(key, count, timeout=None):
            cache.incr(key, count)


@atexit.register
def _flush_at_exit() -> None:
    # Best effort: at exit the cache's database may already be gone; a quota gauge that
    # misses a few calls is better than a traceback on every shutdown.
    with contextlib.suppress(Exception):
        flush_call_counts()


class TokenBucket:
    """At most `limit` requests in any `per` seconds, shared through the cache.

    A sliding log of the last `limit` granted slots: a caller reserves the earliest slot that
    keeps the window under the limit, then sleeps until it. The read-modify-write happens under
    a lock across processes (`integrations.locks.exclusive`), so it holds for many workers; the
    timestamps are wall-clock so they compare across machines.
    """

    def __init__(
        self,
        key: str,
        limit: int,
        per: float,
        *,
        service: str = "",
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.key = f"dayflow:bucket:{key}"
        self.service = service
        self.limit = limit
        self.per = per
        self.clock = clock
        self.sleep = sleep

    def acquire(self, max_wait: float | None = None, *, slots: int = 1) -> float:
        """Wait for `slots` slots (a batch whose inner calls the service counts, each as a
        call of its own would); returns the last one's (wall-clock) time.

        Slots further away than `max_wait` are not taken: RateLimited tells the caller when
        to come back, so a worker is not held for the rest of a long window.
        """
        with self._locked():
            now = self.clock()
            stamps = [s for s in cache.get(self.key, []) if s > now - self.per]
            slot = now
            for _ in range(max(slots, 1)):
                slot = now if len(stamps) < self.limit else max(now, stamps[-self.limit] + self.per)
                stamps.append(slot)
            if max_wait is not None and slot - now > max_wait:
                raise RateLimited("local rate limit", retry_after=slot - now, service=self.service)
            cache.set(self.key, stamps[-self.limit :], timeout=int(self.per * 2) + 60)
        if slot > now:
            self.sleep(slot - now)
        return slot

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # integrations.locks: a PostgreSQL advisory lock when the cache is the database (its
        # `add()` would let two processes take a crashed holder's expired leftover), otherwise
        # `cache.add` (Redis, SQLite). Real sleeps: this is contention between workers.
        try:
            with exclusive(f"{self.key}:lock", ttl=LOCK_TTL, wait=LOCK_TTL * 2, poll=0.005):
                yield
        except LockTimeout as exc:
            raise Transient("rate-limit lock is busy", service=self.service) from exc


class CallGate:
    """What every call of one connection to its service passes: the shared token bucket before
    it, the call counter after it. REST calls pass it in `HttpClient`, CalDAV calls in
    `caldav.DavSession`, so a connection's quota is one, whatever the transport.
    """

    def __init__(
        self,
        service: str,
        connection_id: int | None = None,
        rate: tuple[int, float] | None = None,
        *,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.service = service
        self.connection_id = connection_id
        self.bucket = (
            TokenBucket(
                f"{service}:{connection_id or 'app'}",
                *rate,
                service=service,
                clock=clock,
                sleep=sleep,
            )
            if rate and rate[0] > 0
            else None
        )

    def admit(self, max_wait: float | None = None, slots: int = 1) -> None:
        """Wait for the bucket's slot (`slots` of them for a call the service counts as
        several); RateLimited when it is further away than `max_wait`."""
        if self.bucket:
            self.bucket.acquire(max_wait=max_wait, slots=slots)

    def count(self) -> None:
        """One call was answered (whatever its status): it used up quota."""
        _count_call(self.connection_id)


class RelayedGate(CallGate):
    """A connection's gate as a write thread (`providers.parallel`) passes it: the slot is
    taken by the engine's thread, through `relay`, since the shared bucket lives in the cache
    (the database by default, whose connections are per thread); the call is counted in
    memory, for the engine's thread to flush. Every thread of the batch takes its slot from
    the one bucket, in turn: the rate holds however many threads there are."""

    def __init__(self, gate: CallGate, relay: Any) -> None:
        self.service = gate.service
        self.connection_id = gate.connection_id
        self.bucket = gate.bucket
        self.gate = gate
        self.relay = relay

    def admit(self, max_wait: float | None = None, slots: int = 1) -> None:
        if self.bucket:
            self.relay.call(self.gate.admit, max_wait, slots)

    def count(self) -> None:
        _count_call(self.connection_id, flush=False)


class HttpClient:
    """REST calls to one service on behalf of one connection.

    `auth_headers()` is called before every attempt, so a refreshed token is picked up.
    `refresh(failed_authorization_value)` is called once on a 401; the request is then retried
    once, and a second 401 raises `AuthExpired`. `rate` (requests, seconds) turns the token
    bucket on: a connection's client (`integrations.clients.client_for`) always has one. `clock`,
    `sleep` and `rng` are injectable so tests assert on waits without waiting.
    """

    def __init__(
        self,
        service: str,
        *,
        connection_id: int | None = None,
        auth_headers: Callable[[], dict[str, str]] | None = None,
        refresh: Callable[[str], None] | None = None,
        rate: tuple[int, float] | None = None,
        max_attempts: int = 5,
        max_total_wait: float = 120.0,
        timeout: tuple[float, float] = (5.0, 30.0),
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        rng: Callable[[], float] = random.random,
        wall_clock: Clock = time.time,
        session: requests.Session | None = None,
    ) -> None:
        self.service = service
        self.connection_id = connection_id
        self.auth_headers = auth_headers or dict
        self.refresh = refresh
        self.max_attempts = max_attempts
        self.max_total_wait = max_total_wait
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep
        self.rng = rng
        self.wall_clock = wall_clock
        self.session = session or requests.Session()
        self.gate = CallGate(service, connection_id, rate, clock=wall_clock, sleep=sleep)
        self.bucket = self.gate.bucket

    def for_thread(self, relay: Any) -> HttpClient:
        """This client for one write thread (`providers.parallel`): its own session
        (`requests.Session` is not documented as thread-safe, psf/requests#2766), the same
        token, retry policy and clocks, and the gate and token refresh done on the engine's
        thread through `relay` (both may touch the database)."""
        twin = copy.copy(self)
        twin.session = requests.Session()
        for prefix, adapter in self.session.adapters.items():
            if type(adapter) is not requests.adapters.HTTPAdapter:
                twin.session.mount(prefix, adapter)  # a transport the caller gave: theirs
        twin.gate = RelayedGate(self.gate, relay)
        twin.bucket = twin.gate.bucket
        if self.refresh is not None:
            refresh = self.refresh
            twin.refresh = lambda failed: relay.call(refresh, failed)
        return twin

    # --- public ---------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
        idempotent: bool | None = None,
        quota: int = 1,
    ) -> requests.Response:
        """Send one logical request, retrying per the policy; raise a typed error otherwise.

        `quota`: how many requests the service counts this one as (a batch whose inner calls
        count each, as Google's and Microsoft Graph's do): each attempt takes that many slots.

        A request that may have been applied (read timeout, 5xx) is resent only when it is
        idempotent: by its method, or `idempotent=True` for a POST that only reads or that
        carries its own deduplication key. Otherwise it raises Transient at once and the
        caller's retry (e.g. `create`, which looks for what it made) decides.
        """
        safe = idempotent if idempotent is not None else method.upper() in IDEMPOTENT_METHODS
        started, attempt, refreshed = self.clock(), 0, False
        while True:
            attempt += 1
            sent = {**self.auth_headers(), **(headers or {})}
            response = self._attempt(
                method, url, sent, (params, json, data), attempt, started, safe, quota
            )
            if response is None:
                continue
            status = response.status_code
            if status in ok:
                return response
            if status == 401 and self.refresh and not refreshed:
                refreshed = True
                self.refresh(sent.get("Authorization", ""))
                attempt -= 1  # the refresh retry does not use up the transient budget
                continue
            if status == 401:
                raise AuthExpired(
                    f"{method} {_path(url)}: 401 {_reason(response)}", service=self.service
                )
            if status == 429:
                self._wait_rate_limited(response, attempt, started)
                continue
            if status in OVERLOAD_STATUSES:
                what = f"{method} {_path(url)}: {status}"
                self._backoff(attempt, started, what, retry=safe or status in REJECTED_STATUSES)
                continue
            raise self._error(method, url, response)

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any:
        """`request`, then the body parsed as JSON (None for an empty body)."""
        response = self.request(method, url, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise UnexpectedPayload(self.service, "body", f"not JSON: {exc}") from None

    # --- one attempt ----------------------------------------------------------------------
    def _attempt(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        payload: tuple[Any, Any, Any],
        attempt: int,
        started: float,
        safe: bool,
        quota: int = 1,
    ) -> requests.Response | None:
        params, json, data = payload
        self.gate.admit(max_wait=max(self._budget_left(started), 0.0), slots=quota)
        begin = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=json,
                data=data,
                headers=headers,
                timeout=self.timeout,
            )
        except UNUSABLE_URL as exc:
            # An address no retry can fix (settings that are not an id or not a URL).
            what = f"{method} {_path(url)}: not a usable address ({type(exc).__name__})"
            raise Permanent(what, service=self.service) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            self._log(method, url, type(exc).__name__, begin)
            never_sent = isinstance(exc, requests.ConnectTimeout)
            what = f"{method} {_path(url)}: {type(exc).__name__}"
            self._backoff(attempt, started, what, retry=safe or never_sent)
            return None
        self._log(method, url, response.status_code, begin)
        self.gate.count()
        return response

    def _log(self, method: str, url: str, status: int | str, begin: float) -> None:
        duration_ms = (time.monotonic() - begin) * 1000
        logger.info(
            "%s %s %s -> %s in %.0f ms",
            self.service,
            method,
            _path(url),
            status,
            duration_ms,
            extra={
                "service": self.service,
                "connection_id": self.connection_id,
                "method": method,
                "path": _path(url),
                "status": status,
                "duration_ms": round(duration_ms),
            },
        )

    # --- waiting --------------------------------------------------------------------------
    def _budget_left(self, started: float) -> float:
        return self.max_total_wait - (self.clock() - started)

    def _backoff(self, attempt: int, started: float, what: str, *, retry: bool = True) -> None:
        delay = backoff.delay(
            attempt, base=BACKOFF_BASE, cap=BACKOFF_CAP, jitter=backoff.equal_jitter(self.rng)
        )
        if not retry:
            raise Transient(f"{what} (not resent: it may have been applied)", service=self.service)
        if attempt >= self.max_attempts or delay > self._budget_left(started):
            raise Transient(f"{what} after {attempt} attempt(s)", service=self.service)
        self.sleep(delay)

    def _wait_rate_limited(self, response: requests.Response, attempt: int, started: float) -> None:
        wait = self.retry_after(response)
        if attempt >= self.max_attempts or wait > self._budget_left(started):
            raise RateLimited("429 Too Many Requests", retry_after=wait, service=self.service)
        self.sleep(wait)

    def retry_after(self, response: requests.Response) -> float:
        """Seconds to wait, from Retry-After, the reset headers or the body; backoff otherwise."""
        headers = response.headers
        value = headers.get("Retry-After")
        if value:
            seconds = _parse_retry_after(value, self.wall_clock())
            if seconds is not None:
                return seconds
        for name in RESET_HEADERS:
            if headers.get(name):
                seconds = _parse_reset(headers[name], self.wall_clock())
                if seconds is not None:
                    return seconds
        return _body_retry_after(response) or BACKOFF_BASE * 4

    # --- errors ---------------------------------------------------------------------------
    def _error(self, method: str, url: str, response: requests.Response) -> Permanent:
        status = response.status_code
        message = f"{method} {_path(url)}: {status} {_reason(response)}"
        kind = ERRORS_BY_STATUS.get(status, Permanent)
        return kind(message, status=status, service=self.service)


# ClickUp sends X-RateLimit-Reset (unix seconds, https://developer.clickup.com/docs/rate-limits);
# Linear x-ratelimit-requests-reset (unix ms, https://linear.app/developers/rate-limiting).
RESET_HEADERS = (
    "X-RateLimit-Reset",
    "X-RateLimit-Requests-Reset",
    "X-RateLimit-Complexity-Reset",
    "RateLimit-Reset",
)

UNUSABLE_URL = (
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidURL,
    requests.exceptions.URLRequired,
)

ERRORS_BY_STATUS: dict[int, type[Permanent]] = {
    404: NotFound,
    409: PreconditionFailed,
    410: Gone,
    412: PreconditionFailed,
}


def _path(url: str) -> str:
    """The URL without query string or credentials: safe to log."""
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1": requests refused it already, say so without it
        return "(not a valid address)"
    return f"{parts.hostname or ''}{parts.path}"


def _reason(response: requests.Response) -> str:
    """A short, secret-free reason: the service's error code or message, never the body."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or ""
    if isinstance(body, dict):
        for key in ("code", "err", "error", "ECODE", "message"):
            if isinstance(body.get(key), str):
                return body[key][:200]
    return response.reason or ""


def _parse_retry_after(value: str, now: float) -> float | None:
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)


def _parse_reset(value: str, now: float) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return _parse_retry_after(value, now)
    if number > 1e11:  # epoch milliseconds
        return max(number / 1000 - now, 0.0)
    if number > 1e9:  # epoch seconds
        return max(number - now, 0.0)
    return max(number, 0.0)  # already a delta


def _body_retry_after(response: requests.Response) -> float | None:
    # Todoist puts it in the body: {"error_extra": {"retry_after": 12}}
    # (https://developer.todoist.com/api/v1/#tag/Request-limits).
    try:
        body = response.json()
    except ValueError:
        return None
    extra = body.get("error_extra") if isinstance(body, dict) else None
    value = extra.get("retry_after") if isinstance(extra, dict) else None
    return float(value) if isinstance(value, int | float) else None
