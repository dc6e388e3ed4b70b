"""ClickUp: X-Signature is the hex HMAC-SHA256 of the body with the webhook's secret."""

from __future__ import annotations

import pytest

from integrations.models import Connection
from sync.models import SyncJob
from webhooks.models import Delivery

from .helpers import deliveries, fixture, hex_hmac, jobs, meta, raw, rejections, url

pytestmark = pytest.mark.django_db
SECRET = "clickup-webhook-secret"


@pytest.fixture
def sub(make_connection, make_subscription):
    # The account is ClickUp's user id; the webhook lives on the workspace (team) 9012345.
    connection = make_connection("clickup", account="183", field_mapping={"team_id": "9012345"})
    return make_subscription(connection, remote_id="7fa3ec74", secret=SECRET, resource="9012345")


def post(client, sub, body: bytes, signature: str | None):
    headers = {"X-Signature": signature} if signature is not None else {}
    return client.post(url("clickup", sub), body, content_type="application/json", **meta(headers))


def test_a_valid_delivery_is_stored_once_and_triggers_one_sync(client, sub, sync_calls):
    # given a taskUpdated delivery signed with the webhook's secret
    body = raw(fixture("clickup", "taskUpdated"))
    # when ClickUp posts it
    response = post(client, sub, body, hex_hmac(SECRET, body))
    # then it is acknowledged, stored, processed, and one incremental sync is queued
    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PROCESSED
    assert delivery.event_type == "taskUpdated"
    assert delivery.connection == sub.connection
    assert delivery.body == body.decode()
    assert "X-Signature" not in delivery.headers
    assert sync_calls == [sub.connection.pk]
    job = SyncJob.objects.get(connection=sub.connection)
    assert (job.trigger, job.kind) == ("webhook", "incremental")
    assert delivery.sync_job_id == job.pk


@pytest.mark.parametrize(
    ("signature_of", "reason"),
    [
        (lambda body: hex_hmac(SECRET, body + b"tampered"), "bad_signature"),
        (lambda body: hex_hmac("wrong-secret", body), "bad_signature"),
        (lambda body: None, "missing_header"),
        (lambda body: "", "missing_header"),
    ],
    ids=["tampered-body", "wrong-secret", "missing-header", "empty-header"],
)
def test_unauthentic_deliveries_get_401_and_are_audited(client, sub, signature_of, reason):
    body = raw(fixture("clickup", "taskUpdated"))
    response = post(client, sub, body, signature_of(body))
    assert response.status_code == 401
    assert deliveries() == 0
    assert jobs(sub.connection) == 0
    [event] = rejections(reason)
    assert event.connection_id == sub.connection.pk
    assert SECRET not in str(event.details)


def test_the_same_delivery_twice_is_processed_once(client, sub, sync_calls):
    body = raw(fixture("clickup", "taskUpdated"))
    signature = hex_hmac(SECRET, body)
    first = post(client, sub, body, signature)
    second = post(client, sub, body, signature)
    assert (first.status_code, second.status_code) == (200, 200)
    assert deliveries() == 1
    assert sync_calls == [sub.connection.pk]


def test_an_event_we_do_not_sync_is_acknowledged_and_not_stored(client, sub, sync_calls):
    body = raw(fixture("clickup", "listCreated"))
    assert post(client, sub, body, hex_hmac(SECRET, body)).status_code == 200
    assert deliveries() == 0
    assert sync_calls == []


@pytest.mark.parametrize("status", [Connection.Status.PAUSED, Connection.Status.DISCONNECTED])
def test_an_event_for_an_inactive_connection_is_acknowledged_not_synced(client, sub, status):
    Connection.objects.filter(pk=sub.connection.pk).update(status=status)
    body = raw(fixture("clickup", "taskUpdated"))
    assert post(client, sub, body, hex_hmac(SECRET, body)).status_code == 200
    assert Delivery.objects.get().status == Delivery.Status.IGNORED
    assert jobs(sub.connection) == 0
