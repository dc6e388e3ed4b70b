"""/healthz answers 200 when the database and the broker answer, 503 otherwise."""

import pytest
from django.db import OperationalError
from django.utils import timezone

from dayflow.models import Heartbeat
from dayflow.tasks import heartbeat

pytestmark = pytest.mark.django_db


def test_healthy_when_database_and_broker_answer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["broker"] == "ok"
    assert response.json()["status"] == "ok"


def test_unavailable_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing answers

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"].startswith("error")
    assert response.json()["database"] == "ok"


def test_unavailable_when_the_database_is_down(client, monkeypatch):
    def refuse():
        raise OperationalError("connection refused")

    monkeypatch.setattr("dayflow.health.connection.cursor", refuse)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "error: OperationalError",
        "broker": "ok",
        "worker_heartbeat": None,
    }


def test_reports_the_last_heartbeat_of_worker_and_beat(client):
    before = timezone.now()
    heartbeat()

    beat = Heartbeat.objects.get(name="beat")
    assert beat.last_seen_at >= before
    assert client.get("/healthz").json()["worker_heartbeat"] == beat.last_seen_at.isoformat()
