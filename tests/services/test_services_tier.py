"""The services tier really runs on PostgreSQL and Redis (CI sets DAYFLOW_REQUIRE_SERVICES=1)."""

import pytest
from django.core.cache import caches
from django.db import connection

from dayflow.celery import app as celery_app

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_database_is_postgresql():
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert cursor.fetchone()[0].startswith("PostgreSQL")


def test_broker_is_redis_and_answers():
    assert celery_app.conf.broker_url.startswith("redis://")
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def test_cache_is_redis_and_shared():
    from django.core.cache.backends.redis import RedisCache

    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    cache.set("services-tier-probe", 41)
    assert cache.incr("services-tier-probe") == 42


def test_healthz_is_green_on_the_real_services(client):
    response = client.get("/healthz")

    assert response.status_code == 200, response.json()
