"""The receiver's guards that every service shares, bursts, and the security alert."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from sync.models import SyncJob
from webhooks.models import Delivery
from webhooks.tasks import process_delivery

from .helpers import deliveries, fixture, hex_hmac, jobs, meta, raw, rejections, url

pytestmark = pytest.mark.django_db
SECRET = "clickup-webhook-secret"


@pytest.fixture
def sub(make_connection, make_subscription):
    connection = make_connection("clickup", account="9012345")
    return make_subscription(connection, remote_id="wh-1", secret=SECRET)


def signed_post(client, sub, payload: dict, **extra):
    body = raw(payload)
    headers = meta({"X-Signature": hex_hmac(SECRET, body)})
    return client.post(
        url("clickup", sub), body, content_type="application/json", **headers, **extra
    )


def task_event(n: int) -> dict:
    return {**fixture("clickup", "taskUpdated"), "task_id": f"task-{n}"}


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/api/webhooks/trello/", "unknown_service"),
        ("/api/webhooks/apple-calendar/", "unknown_service"),
        ("/api/webhooks/clickup/", "unknown_service"),  # ClickUp needs a subscription id
        ("/api/webhooks/clickup/not-a-subscription/", "unknown_subscription"),
    ],
)
def test_unknown_services_and_subscriptions_get_404_and_are_audited(client, sub, path, reason):
    assert client.post(path, b"{}", content_type="application/json").status_code == 404
    assert len(rejections(reason)) == 1


def test_a_subscription_of_another_service_is_unknown(client, sub):
    response = client.post(url("linear", sub), b"{}", content_type="application/json")
    assert response.status_code == 404


def test_a_disabled_service_is_unknown(client, sub):
    sub.service.enabled = False
    sub.service.save()
    assert signed_post(client, sub, task_event(1)).status_code == 404


def test_a_body_over_the_limit_gets_413_before_anything_else(client, sub, settings):
    settings.WEBHOOKS_MAX_BODY_BYTES = 1000
    payload = {**task_event(1), "padding": "x" * 1000}
    assert signed_post(client, sub, payload).status_code == 413
    assert len(rejections("body_too_large")) == 1
    assert deliveries() == 0


def test_the_default_limit_is_one_megabyte(client, sub):
    payload = {**task_event(1), "padding": "x" * (1024 * 1024)}
    assert signed_post(client, sub, payload).status_code == 413


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"", "empty_body"), (b"not json", "not_json"), (b"[1, 2]", "not_json_object")],
)
def test_empty_or_non_json_bodies_get_400(client, sub, body, reason):
    headers = meta({"X-Signature": hex_hmac(SECRET, body)})
    response = client.post(url("clickup", sub), body, content_type="application/json", **headers)
    assert response.status_code == 400
    assert len(rejections(reason)) == 1


def test_only_post_is_accepted(client, sub):
    assert client.get(url("clickup", sub)).status_code == 405


def test_no_csrf_token_or_session_is_needed(sub):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert signed_post(strict, sub, task_event(1)).status_code == 200


def test_a_burst_of_100_events_for_one_connection_causes_one_sync(client, sub, sync_calls):
    # given no sync queued or running
    # when 100 different events for the connection arrive in a burst
    for n in range(100):
        assert signed_post(client, sub, task_event(n)).status_code == 200
    # then all are stored and processed, but they share one queued sync job
    assert deliveries(status=Delivery.Status.PROCESSED) == 100
    assert len(sync_calls) == 100
    assert jobs(sub.connection) == 1
    assert Delivery.objects.values("sync_job_id").distinct().count() == 1


def test_a_burst_while_a_sync_runs_adds_at_most_one_trailing_sync(client, sub):
    # given a sync already running for the connection
    SyncJob.objects.create(connection=sub.connection, status=SyncJob.Status.RUNNING)
    # when 100 events arrive
    for n in range(100):
        signed_post(client, sub, task_event(n))
    # then exactly one more job waits behind the running one
    assert jobs(sub.connection) == 2
    assert SyncJob.objects.filter(status=SyncJob.Status.QUEUED).count() == 1


def test_signature_failures_are_audited_for_the_monitoring_not_alerted_in_the_request(
    client, sub, fresh_cache
):
    # given a source posting forged deliveries
    body = raw(task_event(1))
    forged = meta({"X-Signature": hex_hmac("guess", body)})
    # when it fails seven times
    for _ in range(7):
        response = client.post(
            url("clickup", sub),
            body,
            content_type="application/json",
            REMOTE_ADDR="203.0.113.9",
            **forged,
        )
        assert response.status_code == 401
    # then each is a 401 rejection naming the source, and no alert is raised in the request
    # (security.evaluate does: tests/security/test_evaluate.py)
    events = rejections("bad_signature")
    assert len(events) == 7
    assert {(e.ip_address, e.details["status"]) for e in events} == {("203.0.113.9", 401)}
    assert not AuditEvent.objects.filter(action__startswith="security.").exists()


def test_a_broken_broker_still_acknowledges_a_stored_delivery(client, sub, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(process_delivery, "delay", broken)
    assert signed_post(client, sub, task_event(1)).status_code == 200
    assert Delivery.objects.get().status == Delivery.Status.RECEIVED


def test_rejections_never_record_the_signature(client, sub):
    body = raw(task_event(1))
    signature = hex_hmac("guess", body)
    client.post(
        url("clickup", sub),
        body,
        content_type="application/json",
        **meta({"X-Signature": signature}),
    )
    [event] = rejections()
    assert signature not in str(event.details)
    assert SECRET not in str(event.details)


def test_a_removed_subscription_stops_working_once_the_lookup_memory_expires(
    client, sub, monkeypatch
):
    from webhooks import conf, lookup
    from webhooks.models import WebhookSubscription

    clock = [1000.0]
    monkeypatch.setattr(lookup.time, "monotonic", lambda: clock[0])
    # given a subscription the receiver has just looked up, then removed
    assert signed_post(client, sub, task_event(1)).status_code == 200
    WebhookSubscription.objects.filter(pk=sub.pk).update(status="removed")
    # when the memory expires / then its deliveries are refused with ClickUp's "gone" (410,
    # which makes ClickUp suspend the webhook) and not stored
    clock[0] += conf.get("WEBHOOKS_LOOKUP_CACHE_SECONDS") + 1
    assert signed_post(client, sub, task_event(2)).status_code == 410
    assert Delivery.objects.count() == 1


def test_a_burst_looks_the_subscription_up_once(client, sub, django_assert_max_num_queries):
    from webhooks import lookup

    lookup.subscription("clickup", sub.public_id)
    with django_assert_max_num_queries(0):
        assert lookup.subscription("clickup", sub.public_id) == sub


@pytest.mark.django_db(transaction=True)
def test_duplicates_are_caught_outside_a_transaction_too(client, sub, sync_calls, monkeypatch):
    import sync.services

    # given the receiver running in autocommit mode, as it does under gunicorn (the sync job's
    # own Celery message is held back: this test is about the inbox)
    monkeypatch.setattr(sync.services, "enqueue", lambda job_id, **kwargs: None)
    payload = task_event(1)
    # when the same delivery arrives twice
    statuses = [signed_post(client, sub, payload).status_code for _ in range(2)]
    # then both are acknowledged and it is stored and processed once
    assert statuses == [200, 200]
    assert deliveries() == 1
    assert sync_calls == [sub.connection.pk]
