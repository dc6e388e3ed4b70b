"""The processing task: idempotent, retried with backoff, failed rows kept for staff, who
replay them from the admin; stale rows re-sent."""

from __future__ import annotations

import datetime as dt

import pytest
from celery.exceptions import Retry
from django.utils import timezone

import webhooks.processing
from audit.models import AuditEvent
from integrations.providers.errors import Permanent, Transient
from webhooks import tasks
from webhooks.models import Delivery

from .helpers import jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivery(make_connection, make_subscription):
    connection = make_connection("clickup", account="9012345")
    sub = make_subscription(connection, secret="s")
    return Delivery.objects.create(
        service=sub.service,
        subscription=sub,
        connection=connection,
        delivery_id="d-1",
        event_type="taskUpdated",
        body='{"event": "taskUpdated"}',
    )


def failing(exc: Exception):
    def request_sync(*args, **kwargs):
        raise exc

    return request_sync


def test_a_processed_delivery_is_not_processed_again(delivery, sync_calls):
    assert tasks.process_delivery.apply(args=[delivery.pk]).get() == "processed"
    assert tasks.process_delivery.apply(args=[delivery.pk]).get() == "processed"
    assert sync_calls == [delivery.connection_id]


def test_a_deleted_row_is_tolerated(delivery):
    pk = delivery.pk
    delivery.delete()
    assert tasks.process_delivery.apply(args=[pk]).get() == "gone"


def test_a_transient_failure_is_retried_with_backoff(delivery, monkeypatch):
    # given the sync trigger failing transiently
    monkeypatch.setattr(webhooks.processing, "request_sync", failing(Transient("db busy")))
    retried = []
    monkeypatch.setattr(tasks.process_delivery, "retry", lambda **kw: retried.append(kw) or Retry())
    # when the task runs
    with pytest.raises(Retry):
        tasks.process_delivery.run(delivery.pk)
    # then it asks Celery to retry later, and the row says what went wrong
    assert retried[0]["countdown"] >= 15
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.RECEIVED, 1)
    assert "db busy" in delivery.error


def test_after_the_last_attempt_the_row_is_failed_with_its_error(delivery, monkeypatch, settings):
    settings.WEBHOOKS_PROCESS_MAX_RETRIES = 3
    monkeypatch.setattr(webhooks.processing, "request_sync", failing(Transient("still down")))
    tasks.process_delivery.apply(args=[delivery.pk], retries=3)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.error == "Transient: still down"


def test_a_permanent_error_fails_at_once(delivery, monkeypatch):
    monkeypatch.setattr(webhooks.processing, "request_sync", failing(Permanent("bad request")))
    tasks.process_delivery.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED


@pytest.mark.parametrize("retries", [0, 3, 10])
def test_backoff_grows_and_is_capped(retries):
    wait = tasks.backoff(retries)
    assert 0.5 * min(30 * 2**retries, 3600) <= wait <= 1.5 * min(30 * 2**retries, 3600)


def test_staff_replay_a_failed_delivery_from_the_admin(delivery, admin_client, sync_calls):
    # given a delivery that failed for good
    Delivery.objects.filter(pk=delivery.pk).update(status="failed", error="boom", attempts=6)
    # when staff replay it
    response = admin_client.post(
        "/admin/webhooks/delivery/",
        {"action": "replay", "_selected_action": [delivery.pk]},
    )
    # then it is processed again and the replay is audited
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.error) == (Delivery.Status.PROCESSED, "")
    assert sync_calls == [delivery.connection_id]
    assert jobs(delivery.connection) == 1
    assert AuditEvent.objects.filter(action="webhook.replayed").count() == 1


def test_failed_deliveries_are_visible_to_staff(delivery, admin_client):
    Delivery.objects.filter(pk=delivery.pk).update(status="failed", error="Transient: boom")
    page = admin_client.get("/admin/webhooks/delivery/?status__exact=failed")
    assert page.status_code == 200
    assert b"d-1" in page.content
    detail = admin_client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/")
    assert b"Transient: boom" in detail.content


def test_stale_received_rows_are_sent_again(delivery, sync_calls):
    Delivery.objects.filter(pk=delivery.pk).update(
        received_at=timezone.now() - dt.timedelta(minutes=10)
    )
    assert tasks.requeue_stale_deliveries() == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PROCESSED


def test_fresh_rows_are_left_to_their_own_task(delivery):
    assert tasks.requeue_stale_deliveries() == 0
