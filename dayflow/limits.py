"""Every throttle and cap of the app, with its default in one place (override in settings or the
environment: dayflow/settings.py reads `DAYFLOW_<NAME>` for each), and the fixed-window counter
they share.

A fixed window: the count of (limit name, client) within the current window of `seconds`,
kept in Django's cache (shared by every process). The decision is pure (`decide`); `hit`
counts and decides, `peek` only decides. A refused request answers 429 with `Retry-After`, the
seconds until its window closes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

DEFAULTS: dict[str, Any] = {
    # Sign-in (django-axes, /accounts/login/ and /admin/login/): failures of one username from
    # one IP before that pair is locked out, and failures from one IP whatever the usernames
    # (password spraying) before the IP is; both within the cool-off, which also ends a lockout.
    "DAYFLOW_LOGIN_FAILURES_PER_USERNAME": 5,
    "DAYFLOW_LOGIN_FAILURES_PER_IP": 20,
    "DAYFLOW_LOGIN_COOLOFF_MINUTES": 15,
    # The API: wrong or expired tokens from one IP per window, then 429.
    "DAYFLOW_API_AUTH_FAILURES_PER_IP": 30,
    "DAYFLOW_API_AUTH_FAILURES_WINDOW_SECONDS": 60,
    # Webhooks: forged (failed) signatures and setup handshakes from one IP per window, then
    # 429. A delivery with a valid signature is never refused by these.
    "DAYFLOW_WEBHOOK_SIGNATURE_FAILURES_PER_IP": 20,
    "DAYFLOW_WEBHOOK_SIGNATURE_FAILURES_WINDOW_SECONDS": 600,
    "DAYFLOW_WEBHOOK_HANDSHAKES_PER_IP": 60,
    "DAYFLOW_WEBHOOK_HANDSHAKES_WINDOW_SECONDS": 600,
    # Audit rows of rejected requests (audit/capped.py): at most this many per action and
    # client IP per window; one "audit.rejections_dropped" row then counts the rest.
    "DAYFLOW_AUDIT_REJECTIONS_PER_CLIENT": 20,
    "DAYFLOW_AUDIT_REJECTIONS_WINDOW_SECONDS": 600,
}


def get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    retry_after: int  # seconds until the window closes


def window_start(now: float, seconds: int) -> int:
    return int(now // seconds) * seconds


def decide(count: int, limit: int, now: float, seconds: int) -> Verdict:
    """The `count`-th request of its window (this one included) is allowed up to `limit`."""
    retry_after = max(1, window_start(now, seconds) + seconds - int(now))
    return Verdict(allowed=count <= limit, count=count, retry_after=retry_after)


def _incr_keeps_lifetime() -> bool:
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


def _key(name: str, client: str, start: int) -> str:
    return f"limits:{name}:{client[:100]}:{start}"


def hit(name: str, client: str, limit: int, seconds: int, now: float | None = None) -> Verdict:
    """Count one request of `client` against the limit `name` and decide it."""
    now = time.time() if now is None else now
    key = _key(name, client, window_start(now, seconds))
    # Kept through the next window too: the audit cap reads the last window's count.
    lifetime = 2 * seconds + 5
    cache.add(key, 0, timeout=lifetime)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=lifetime)
        count = 1
    else:
        # Only Redis's INCR keeps the key's lifetime; the other caches' incr is a set() with
        # the default timeout.
        if not _incr_keeps_lifetime():
            cache.touch(key, lifetime)
    return decide(count, limit, now, seconds)


def peek(name: str, client: str, limit: int, seconds: int, now: float | None = None) -> Verdict:
    """Whether one more request of `client` would be allowed, without counting it."""
    now = time.time() if now is None else now
    count = cache.get(_key(name, client, window_start(now, seconds)), 0)
    return decide(count + 1, limit, now, seconds)


def login_failures(per_pair: int, per_ip: int, pair_limit: int, ip_limit: int) -> int:
    """The failures that count toward a sign-in lockout at `pair_limit` (django-axes' one
    limit): the (username, IP) pair's own, or the IP's across all usernames, scaled so the IP
    reaches `pair_limit` at `ip_limit` failures. Spraying many usernames from one IP is thus
    locked out after `ip_limit` failures, one username after `pair_limit`."""
    scaled = (per_ip * pair_limit) // max(1, ip_limit)
    return max(per_pair, scaled)
