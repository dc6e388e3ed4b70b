"""A named lock across processes: Redis when the cache is Redis, otherwise the database.

Django's database cache is not enough on PostgreSQL: its `add()` overwrites an *expired* row
with a plain UPDATE, so two processes finding a crashed holder's leftover could both "acquire".
There we take a PostgreSQL advisory lock instead (released with the session if a worker dies).
On SQLite the database cache is safe: IMMEDIATE transactions serialize its read-then-write.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections.abc import Iterator

from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connection


class LockTimeout(Exception):
    pass


@contextlib.contextmanager
def exclusive(name: str, *, ttl: float, wait: float, poll: float = 0.05) -> Iterator[None]:
    """Hold `name` while the block runs; LockTimeout after waiting `wait` seconds."""
    uses_advisory = connection.vendor == "postgresql" and isinstance(
        caches["default"], DatabaseCache
    )
    lock = _advisory if uses_advisory else _cached
    with lock(name, ttl=ttl, wait=wait, poll=poll):
        yield


@contextlib.contextmanager
def _cached(name: str, *, ttl: float, wait: float, poll: float) -> Iterator[None]:
    owner = uuid.uuid4().hex
    _acquire(lambda: cache.add(name, owner, timeout=ttl), name, wait, poll)
    try:
        yield
    finally:
        if cache.get(name) == owner:  # after `ttl` another caller may hold it legitimately
            cache.delete(name)


@contextlib.contextmanager
def _advisory(name: str, *, ttl: float, wait: float, poll: float) -> Iterator[None]:
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)

    def try_lock() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            return bool(cursor.fetchone()[0])

    _acquire(try_lock, name, wait, poll)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _acquire(attempt, name: str, wait: float, poll: float) -> None:
    deadline = time.monotonic() + wait
    while not attempt():
        if time.monotonic() > deadline:
            raise LockTimeout(f"lock {name!r} still held after {wait:.0f}s")
        time.sleep(poll)
