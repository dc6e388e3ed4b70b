from __future__ import annotations

import pytest

from dayflow.celery import app as celery_app


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks run in the test's process when sent (the staff email, the person's email)."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def staff_addresses(settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    # The tests evaluate what they just wrote (test_evaluate.py tests the lag itself).
    settings.SECURITY_EVALUATE_LAG_SECONDS = 0


@pytest.fixture
def fresh_cache(db):
    """Per-IP counters live in the cache, which a test transaction does not undo on Redis."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
