"""The cross-process lock admits one holder at a time, also past a crashed holder's leftover."""

import itertools
import threading
import time

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection

from integrations.locks import LockTimeout, exclusive


def contend(name: str, workers: int = 4, hold: float = 0.05) -> list[tuple[float, float]]:
    """Each worker (its own thread and database connection) takes the lock once."""
    spans: list[tuple[float, float]] = []
    start = threading.Barrier(workers)

    def work():
        try:
            start.wait()
            with exclusive(name, ttl=30, wait=10, poll=0.005):
                began = time.monotonic()
                time.sleep(hold)
                spans.append((began, time.monotonic()))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(spans)


def assert_no_overlap(spans):
    assert len(spans) == 4
    for (_, first_end), (second_start, _) in itertools.pairwise(spans):
        assert second_start >= first_end


# Threads need a real server: SQLite's shared in-memory test database locks whole tables.
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_one_holder_at_a_time():
    assert_no_overlap(contend("test-lock-basic"))


@pytest.mark.django_db
def test_a_second_caller_times_out_while_the_lock_is_held():
    with (
        exclusive("test-lock-timeout", ttl=30, wait=1),
        pytest.raises(LockTimeout),
        exclusive("test-lock-timeout", ttl=30, wait=0.1, poll=0.01),
    ):
        pytest.fail("the lock was taken twice")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_postgresql_with_the_database_cache_uses_an_advisory_lock(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "dayflow_cache",
        }
    }
    call_command("createcachetable", verbosity=0)
    cache = caches["default"]
    cache.set("test-lock-leftover", "crashed-holder", timeout=0.01)  # an expired leftover
    time.sleep(0.05)

    assert_no_overlap(contend("test-lock-leftover"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        assert cursor.fetchone()[0] == 0  # every holder released
