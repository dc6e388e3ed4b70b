"""Audit rows for rejected requests, capped per action and client IP and window.

A client can be made to fail as fast as it can send (forged webhooks, wrong passwords): each
failure still gets a log line, but only the first DAYFLOW_AUDIT_REJECTIONS_PER_CLIENT of an
(action, IP) in a window of DAYFLOW_AUDIT_REJECTIONS_WINDOW_SECONDS get an audit row. The rest
are counted, and one `audit.rejections_dropped` row says how many, written at that pair's next
allowed row or by the beat task `audit.flush_capped_rejections` once the window has closed,
whichever comes first (once: a marker in the cache says it is written).
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from celery import shared_task
from django.core.cache import cache

from audit.writer import client_ip, record
from dayflow import limits

DROPPED = "audit.rejections_dropped"


def _window() -> tuple[int, int]:
    return (
        int(limits.get("DAYFLOW_AUDIT_REJECTIONS_PER_CLIENT")),
        int(limits.get("DAYFLOW_AUDIT_REJECTIONS_WINDOW_SECONDS")),
    )


def record_capped(action: str, *, request: Any = None, now: float | None = None, **kwargs: Any):
    """`audit.writer.record(action, request=request, **kwargs)` unless this (action, client IP)
    already has its share of rows in this window; the written event, or None when dropped."""
    now = time.time() if now is None else now
    cap, seconds = _window()
    ip = client_ip(request) or "unknown"
    client = f"{action}|{ip}"
    verdict = limits.hit("audit-rows", client, cap, seconds, now=now)
    if not verdict.allowed:
        if verdict.count == cap + 1:
            _note_overflow(client, limits.window_start(now, seconds), seconds)
        return None
    if verdict.count == 1:  # the first of a new window: the last one's count, if any
        _write_dropped(client, limits.window_start(now, seconds) - seconds, cap, seconds)
    return record(action, request=request, **kwargs)


def _overflow_key(start: int) -> str:
    return f"audit-capped:overflow:{start}"


def _note_overflow(client: str, start: int, seconds: int) -> None:
    """Remember which pairs went over in the window starting at `start`, for the beat task."""
    key = _overflow_key(start)
    clients = cache.get(key, [])
    if client not in clients and len(clients) < 1000:
        cache.set(key, [*clients, client], timeout=3 * seconds)


def _write_dropped(client: str, start: int, cap: int, seconds: int) -> None:
    count = cache.get(limits._key("audit-rows", client, start), 0)
    dropped = count - cap
    if dropped <= 0 or not cache.add(f"audit-capped:written:{client}:{start}", 1, 3 * seconds):
        return
    action, _, ip = client.rpartition("|")
    record(
        DROPPED,
        request=SimpleNamespace(META={"REMOTE_ADDR": "" if ip == "unknown" else ip}, user=None),
        success=False,
        resource=action,
        details={
            "action": action,
            "dropped": dropped,
            "window_start": start,
            "window_seconds": seconds,
            "summary": f"{dropped} more dropped",
        },
    )


def flush(now: float | None = None) -> int:
    """Write the count row of every pair that went over in the last closed window."""
    now = time.time() if now is None else now
    cap, seconds = _window()
    start = limits.window_start(now, seconds) - seconds
    clients = cache.get(_overflow_key(start), [])
    for client in clients:
        _write_dropped(client, start, cap, seconds)
    return len(clients)


@shared_task(name="audit.flush_capped_rejections")
def flush_capped_rejections() -> int:
    return flush()
