"""/healthz answers 503 when the database or the broker is down; otherwise 200, "ok" only while
the worker and beat both have a recent heartbeat, "degraded" when either is missing or stale."""

import datetime as dt

import pytest
import time_machine
from django.db import OperationalError
from django.utils import timezone

from dayflow.celery import app as celery_app
from dayflow.health import heartbeat_status
from dayflow.models import Heartbeat
from dayflow.tasks import heartbeat

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
FIVE_MINUTES = dt.timedelta(minutes=5)


def test_healthy_when_database_and_broker_answer(client):
    Heartbeat.record(Heartbeat.WORKER)
    Heartbeat.record(Heartbeat.BEAT)

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
        "worker": "unknown",
        "worker_heartbeat": None,
        "worker_age_seconds": None,
        "beat": "unknown",
        "beat_heartbeat": None,
        "beat_age_seconds": None,
    }


HEARTBEAT_CASES = {
    "never seen": (None, "missing"),
    "just now": (NOON, "ok"),
    "exactly at the limit": (NOON - FIVE_MINUTES, "ok"),
    "a second too old": (NOON - FIVE_MINUTES - dt.timedelta(seconds=1), "stale"),
    "from a clock a little ahead": (NOON + dt.timedelta(seconds=2), "ok"),
}


@pytest.mark.parametrize(("last_seen", "expected"), HEARTBEAT_CASES.values(), ids=HEARTBEAT_CASES)
def test_heartbeat_status(last_seen, expected):
    assert heartbeat_status(last_seen, NOON, FIVE_MINUTES) == expected


def test_ok_with_fresh_heartbeats_of_worker_and_beat(client, settings):
    settings.DAYFLOW_HEARTBEAT_STALE_SECONDS = 300
    with time_machine.travel(NOON, tick=False) as clock:
        Heartbeat.record(Heartbeat.BEAT)
        clock.shift(dt.timedelta(seconds=4))
        Heartbeat.record(Heartbeat.WORKER)
        clock.shift(dt.timedelta(seconds=30))

        response = client.get("/healthz")

        assert response.status_code == 200
        assert response.json() | {"database": "-", "broker": "-"} == {
            "status": "ok",
            "database": "-",
            "broker": "-",
            "worker": "ok",
            "worker_heartbeat": "2026-11-25T12:00:04+00:00",
            "worker_age_seconds": 30,
            "beat": "ok",
            "beat_heartbeat": "2026-11-25T12:00:00+00:00",
            "beat_age_seconds": 34,
        }


@pytest.mark.parametrize("alive", [Heartbeat.WORKER, Heartbeat.BEAT])
def test_degraded_when_one_heartbeat_is_missing(client, alive):
    Heartbeat.record(alive)
    missing = Heartbeat.BEAT if alive == Heartbeat.WORKER else Heartbeat.WORKER

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body[alive], body[missing]) == ("degraded", "ok", "missing")
    assert body[f"{missing}_heartbeat"] is None
    assert body[f"{missing}_age_seconds"] is None


def test_degraded_when_a_heartbeat_is_stale(client, settings):
    settings.DAYFLOW_HEARTBEAT_STALE_SECONDS = 300
    with time_machine.travel(NOON, tick=False) as clock:
        Heartbeat.record(Heartbeat.WORKER)
        clock.shift(dt.timedelta(seconds=280))
        Heartbeat.record(Heartbeat.BEAT)
        clock.shift(dt.timedelta(seconds=21))  # the worker's beat is 301 s old, beat's 21 s

        body = client.get("/healthz").json()

        assert (body["status"], body["worker"], body["beat"]) == ("degraded", "stale", "ok")
        assert (body["worker_age_seconds"], body["beat_age_seconds"]) == (301, 21)


def test_the_heartbeat_task_proves_the_worker_alive_not_beat(client):
    before = timezone.now()
    heartbeat()

    worker = Heartbeat.objects.get(name=Heartbeat.WORKER)
    assert worker.last_seen_at >= before
    assert not Heartbeat.objects.filter(name=Heartbeat.BEAT).exists()
    assert client.get("/healthz").json()["worker_heartbeat"] == worker.last_seen_at.isoformat()


@pytest.fixture
def scheduler(settings, transactional_db):
    """Beat's scheduler as beat runs it: its set-up closes old database connections, which
    on PostgreSQL would end a test's enclosing transaction, so these tests commit for real."""
    from dayflow.beat import Scheduler

    scheduler = Scheduler(app=celery_app)
    yield scheduler
    scheduler._finalize.cancel()  # it would sync the schedule at exit, after the test database


def test_beat_notes_its_heartbeat_when_it_sends_the_heartbeat_task(scheduler, monkeypatch):
    sent = []
    monkeypatch.setattr(heartbeat, "apply_async", lambda *args, **kwargs: sent.append(args))

    scheduler.apply_entry(scheduler.schedule["heartbeat"])

    assert len(sent) == 1
    assert Heartbeat.objects.filter(name=Heartbeat.BEAT).exists()
    assert not Heartbeat.objects.filter(name=Heartbeat.WORKER).exists()


def test_beat_notes_no_heartbeat_when_sending_fails(scheduler, monkeypatch):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError

    monkeypatch.setattr(heartbeat, "apply_async", broker_down)

    scheduler.apply_entry(scheduler.schedule["heartbeat"])

    assert not Heartbeat.objects.filter(name=Heartbeat.BEAT).exists()


def test_beat_notes_no_heartbeat_for_other_tasks(scheduler, monkeypatch):
    monkeypatch.setattr(scheduler, "send_task", lambda *args, **kwargs: None)
    monkeypatch.setattr(celery_app.tasks, "get", lambda name: None)

    scheduler.apply_entry(scheduler.schedule["webhooks-requeue-stale"])

    assert not Heartbeat.objects.exists()
