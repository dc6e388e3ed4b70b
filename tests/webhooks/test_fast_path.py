"""The receiver's lean path: the middleware short cut, the one-statement inbox insert, and the
direct Redis publish (compared with what Celery itself writes)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator

import pytest
import redis
from django.db import transaction
from kombu import Connection

from dayflow.celery import app as celery_app
from integrations.models import Service
from webhooks.enqueue import enqueue
from webhooks.inbox import insert_once
from webhooks.models import Delivery
from webhooks.tasks import process_delivery

from .helpers import hex_hmac, meta, raw, url

pytestmark = pytest.mark.django_db
SECRET = "clickup-webhook-secret"
# A scratch Redis database for the broker tests (REDIS_URL's server, its own db number).
BROKER_URL = os.environ.get("WEBHOOKS_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")
QUEUE = "webhooks"


@pytest.fixture
def sub(make_connection, make_subscription):
    connection = make_connection("clickup", account="9012345")
    return make_subscription(connection, remote_id="wh-1", secret=SECRET)


def signed_post(client, sub, task_id: str, **extra):
    body = raw({"event": "taskUpdated", "task_id": task_id, "webhook_id": "wh-1"})
    headers = meta({"X-Signature": hex_hmac(SECRET, body)})
    return client.post(
        url("clickup", sub), body, content_type="application/json", **headers, **extra
    )


def new_delivery(delivery_id: str) -> Delivery:
    return Delivery(
        service=Service.objects.get(key="clickup"),
        delivery_id=delivery_id,
        event_type="taskUpdated",
        headers={"Content-Type": "application/json"},
        body='{"event": "taskUpdated"}',
    )


# --- middleware -----------------------------------------------------------------------------
def test_a_delivery_skips_the_page_middleware_and_is_sized(client, sub):
    # Given a signed delivery; when it is posted
    response = signed_post(client, sub, "t-1")
    # then it is stored, answered with a length, and no page middleware ran (no clickjacking
    # header, no session cookie)
    assert response.status_code == 200
    assert response["Content-Length"] == "0"
    assert "X-Frame-Options" not in response
    assert not response.cookies
    assert Delivery.objects.count() == 1


def test_a_host_outside_allowed_hosts_is_refused_as_on_every_other_path(client, sub):
    response = signed_post(client, sub, "t-1", HTTP_HOST="attacker.example")
    assert response.status_code == 400
    assert Delivery.objects.count() == 0


def test_other_paths_still_get_the_whole_stack(client):
    response = client.get("/healthz")
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/api/webhooks/clickup/a/b/", "/api/webhooks/"])
def test_a_path_under_the_prefix_that_names_no_receiver_is_a_plain_404(client, path):
    response = client.post(path, b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response["X-Frame-Options"] == "DENY"


def test_a_rejection_through_the_short_path_is_audited_without_an_actor(client, sub):
    from audit.models import AuditEvent

    body = raw({"event": "taskUpdated"})
    client.post(
        url("clickup", sub),
        body,
        content_type="application/json",
        **meta({"X-Signature": hex_hmac("wrong", body)}),
    )
    event = AuditEvent.objects.get(action="webhook.rejected")
    assert event.actor is None
    assert event.details["status"] == 401


# --- inbox ----------------------------------------------------------------------------------
def test_insert_once_stores_a_new_delivery_and_sets_its_id():
    delivery = new_delivery("d-1")
    assert insert_once(delivery) is True
    stored = Delivery.objects.get(pk=delivery.pk)
    assert (stored.delivery_id, stored.status, stored.attempts) == ("d-1", "received", 0)
    assert stored.headers == {"Content-Type": "application/json"}
    assert stored.received_at is not None


def test_insert_once_skips_a_duplicate_and_leaves_the_transaction_usable():
    assert insert_once(new_delivery("d-1")) is True
    with transaction.atomic():
        duplicate = new_delivery("d-1")
        assert insert_once(duplicate) is False
        assert duplicate.pk is None
        # No IntegrityError broke the transaction: it can still read and write.
        assert insert_once(new_delivery("d-2")) is True
    assert sorted(Delivery.objects.values_list("delivery_id", flat=True)) == ["d-1", "d-2"]


def test_the_same_delivery_id_at_another_service_is_another_delivery():
    assert insert_once(new_delivery("d-1")) is True
    other = new_delivery("d-1")
    other.service = Service.objects.get(key="linear")
    assert insert_once(other) is True


# --- broker ---------------------------------------------------------------------------------
@pytest.fixture
def redis_broker(monkeypatch) -> Iterator[redis.Redis]:
    # Celery reads CELERY_BROKER_URL from the environment before its configuration (the
    # services tier sets it), so the tests' broker_url only takes effect without it.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    client = redis.Redis.from_url(BROKER_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {BROKER_URL}")
    client.delete(QUEUE)
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.broker_transport_options)
    conf.task_always_eager = False
    conf.broker_url = BROKER_URL
    conf.broker_transport_options = {}
    yield client
    conf.task_always_eager, conf.broker_url, conf.broker_transport_options = saved
    client.delete(QUEUE)


def decoded(raw_message: bytes) -> dict:
    envelope = json.loads(raw_message)
    envelope["body"] = json.loads(base64.b64decode(envelope["body"]))
    return envelope


def test_the_direct_publish_writes_what_celery_writes(redis_broker):
    # Given Celery's own message for process_delivery(7) on the same Redis queue
    with Connection(BROKER_URL) as broker:
        process_delivery.apply_async((7,), connection=broker)
    # when the receiver's publish sends the same task
    enqueue(7)
    # then the two messages agree on everything but their ids and origin
    ours, celerys = (decoded(m) for m in redis_broker.lrange(QUEUE, 0, -1))
    assert ours["body"] == celerys["body"] == [[7], {}, ours["body"][2]]
    ids = {"id", "root_id", "origin", "correlation_id", "delivery_tag", "reply_to"}
    for part in ("headers", "properties"):
        assert {k: v for k, v in ours[part].items() if k not in ids} == {
            k: v for k, v in celerys[part].items() if k not in ids
        }
        assert set(ours[part]) == set(celerys[part])
    assert (
        ours["headers"]["id"] == ours["headers"]["root_id"] == ours["properties"]["correlation_id"]
    )
    assert {k: v for k, v in ours.items() if k not in ("headers", "properties", "body")} == {
        k: v for k, v in celerys.items() if k not in ("headers", "properties", "body")
    }


def test_a_delivery_through_the_receiver_reaches_the_redis_queue_once(client, sub, redis_broker):
    assert signed_post(client, sub, "t-1").status_code == 200
    assert signed_post(client, sub, "t-1").status_code == 200  # the sender's retry
    [message] = redis_broker.lrange(QUEUE, 0, -1)
    delivery = Delivery.objects.get()
    assert decoded(message)["body"][0] == [delivery.pk]
    assert decoded(message)["headers"]["task"] == "webhooks.process_delivery"


def test_an_unreachable_redis_broker_still_acknowledges_the_stored_delivery(
    client, sub, redis_broker, caplog
):
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    assert signed_post(client, sub, "t-1").status_code == 200
    assert Delivery.objects.get().status == Delivery.Status.RECEIVED
    assert "could not enqueue" in caplog.text


@pytest.mark.parametrize(
    ("broker_url", "options", "eager"),
    [
        ("filesystem://", {}, False),
        (BROKER_URL, {"global_keyprefix": "x:"}, False),
        (BROKER_URL, {}, True),
    ],
)
def test_other_brokers_and_eager_mode_go_through_celery(
    monkeypatch, redis_broker, broker_url, options, eager
):
    celery_app.conf.broker_url = broker_url
    celery_app.conf.broker_transport_options = options
    celery_app.conf.task_always_eager = eager
    calls: list[int] = []
    monkeypatch.setattr(process_delivery, "delay", calls.append)
    enqueue(3)
    assert calls == [3]
    assert redis_broker.llen(QUEUE) == 0
