"""`/metrics`: the operator's figures in Prometheus's text format, read from the database at
scrape time (so every process's work counts), behind a bearer token or a staff sign-in."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from dayflow import metrics
from dayflow.models import Heartbeat
from integrations.models import Connection, Service
from sync.models import SyncJob
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)
TOKEN = "a-long-random-metrics-token"


@pytest.fixture(autouse=True)
def _token(settings):
    settings.DAYFLOW_METRICS_TOKEN = TOKEN


@pytest.fixture(autouse=True)
def _at_noon():
    with time_machine.travel(NOW, tick=False):
        yield


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == metrics.CONTENT_TYPE_LATEST
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def job(connection, status, *, trigger="schedule", ran=(0, 5), created=0, **fields) -> SyncJob:
    """A job created `created` seconds before it started `ran[0]` seconds before NOW and ran
    `ran[1]` seconds (a finished status)."""
    started = NOW - dt.timedelta(seconds=ran[0])
    row = SyncJob.objects.create(connection=connection, status=status, trigger=trigger, **fields)
    finished = started + dt.timedelta(seconds=ran[1]) if status not in SyncJob.ACTIVE else None
    SyncJob.objects.filter(pk=row.pk).update(
        created_at=started - dt.timedelta(seconds=created), started_at=started, finished_at=finished
    )
    return row


def test_the_figures_read_from_the_database(client, connection):
    Connection.objects.create(
        user=connection.user,
        service=Service.objects.get(key="linear"),
        external_account_id="l",
        status=Connection.Status.PAUSED,
    )
    job(connection, "succeeded", ran=(600, 2), api_calls=7)
    job(connection, "succeeded", ran=(300, 4), trigger="local", created=1, api_calls=3)
    job(connection, "failed", ran=(200, 10), api_calls=1)
    job(connection, "succeeded", ran=(7200, 99), api_calls=1000)  # two hours ago: not counted
    SyncJob.objects.filter(pk=job(connection, "queued").pk).update(
        created_at=NOW - dt.timedelta(seconds=90)
    )
    Delivery.objects.create(
        service=connection.service, delivery_id="d-1", body="{}", received_at=NOW
    )
    Heartbeat.objects.create(name=Heartbeat.WORKER, last_seen_at=NOW - dt.timedelta(seconds=30))

    figures = scrape(client, Authorization=f"Bearer {TOKEN}")

    assert figures["dayflow_connections", (("service", "todoist"), ("status", "connected"))] == 1
    assert figures["dayflow_connections", (("service", "linear"), ("status", "paused"))] == 1
    assert figures["dayflow_sync_jobs_active", (("status", "queued"),)] == 1
    assert figures["dayflow_sync_jobs_active", (("status", "running"),)] == 0
    assert figures["dayflow_sync_queue_age_seconds", ()] == 90
    finished = "dayflow_sync_jobs_finished_last_hour"
    assert figures[finished, (("status", "succeeded"), ("trigger", "schedule"))] == 1
    assert figures[finished, (("status", "failed"), ("trigger", "schedule"))] == 1
    assert figures["dayflow_sync_job_duration_seconds", (("quantile", "0.5"),)] == 4
    lag = "dayflow_change_lag_seconds"
    assert figures[lag, (("quantile", "0.5"), ("way", "dayflow_to_service"))] == 5
    assert (lag, (("quantile", "0.5"), ("way", "service_to_dayflow"))) not in figures
    assert figures["dayflow_api_calls_last_hour", (("service", "todoist"),)] == 11
    delivered = (("service", "todoist"), ("status", "received"))
    assert figures["dayflow_webhook_deliveries_last_hour", delivered] == 1
    assert figures["dayflow_conflicts_open", ()] == 0
    assert figures["dayflow_heartbeat_age_seconds", (("process", "worker"),)] == 30


def test_a_scrape_costs_the_same_queries_whatever_the_history(client, connection):
    def queries() -> int:
        with CaptureQueriesContext(db) as captured:
            scrape(client, Authorization=f"Bearer {TOKEN}")
        return len(captured)

    before = queries()
    for n in range(30):
        job(connection, "succeeded", ran=(60 + n, 3), trigger="webhook")

    assert queries() == before


def test_staff_signed_in_may_read_it(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("ops", is_staff=True))

    assert scrape(client)["dayflow_conflicts_open", ()] == 0


REFUSED = [
    ("no token", {}),
    ("a wrong token", {"Authorization": "Bearer not-the-token"}),
    ("the token without Bearer", {"Authorization": TOKEN}),
    ("a prefix of the token", {"Authorization": f"Bearer {TOKEN[:-1]}"}),
    ("a huge header", {"Authorization": "Bearer " + "x" * 100_000}),
]


@pytest.mark.parametrize(("case", "headers"), REFUSED, ids=[row[0] for row in REFUSED])
def test_anyone_else_finds_nothing_there(client, case, headers):
    assert client.get("/metrics", headers=headers).status_code == 404


def test_a_person_signed_in_without_staff_finds_nothing(client, user):
    client.force_login(user)

    assert client.get("/metrics").status_code == 404


def test_without_a_token_configured_no_token_opens_it(client, settings):
    settings.DAYFLOW_METRICS_TOKEN = ""

    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_only_get(client):
    response = client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 405


QUANTILES = [
    ("none", [], {}),
    ("one", [3.0], {0.5: 3.0, 0.95: 3.0}),
    ("an outlier stays out of the median", [1.0, 1.0, 1.0, 50.0], {0.5: 1.0, 0.95: 42.65}),
]


@pytest.mark.parametrize(("case", "values", "expected"), QUANTILES, ids=[r[0] for r in QUANTILES])
def test_quantiles(case, values, expected):
    assert metrics.quantiles(values) == pytest.approx(expected)
