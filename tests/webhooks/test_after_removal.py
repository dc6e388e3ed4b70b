"""Late deliveries after a disconnect, probes that must not flood the audit log, and a Notion
token stored by another worker."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
import responses
import time_machine

from audit.models import AuditEvent
from integrations.lifecycle import disconnect
from webhooks.models import Delivery, WebhookSubscription

from .helpers import deliveries, fixture, hex_hmac, jobs, meta, raw, rejections, url

pytestmark = pytest.mark.django_db
Status = WebhookSubscription.Status
CLICKUP = "https://api.clickup.com/api/v2"
GRAPH = "https://graph.microsoft.com/v1.0"
SECRET = "clickup-webhook-secret"
CLIENT_STATE = "our-client-state-secret"
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def clickup_sub(make_connection, make_subscription):
    connection = make_connection("clickup", account="183", field_mapping={"team_id": "9012345"})
    return make_subscription(connection, remote_id="wh-1", secret=SECRET, resource="9012345")


@pytest.fixture
def graph_sub(make_connection, make_subscription):
    connection = make_connection("outlook", account="alice@contoso.com")
    return make_subscription(
        connection, remote_id="gs-1", secret=CLIENT_STATE, resource="me/events"
    )


def clickup_delivery(client, sub):
    body = raw(fixture("clickup", "taskUpdated"))
    headers = meta({"X-Signature": hex_hmac(SECRET, body)})
    return client.post(url("clickup", sub), body, content_type="application/json", **headers)


def graph_delivery(client, sub):
    text = json.dumps(fixture("outlook", "event.created")).replace("{client_state}", CLIENT_STATE)
    return client.post(url("outlook", sub), text, content_type="application/json")


def disconnected(sub, mocked):
    # ClickUp and Graph both delete the webhook; Microsoft's revoke call is best effort.
    mocked.delete(f"{CLICKUP}/webhook/{sub.remote_id}", status=200, json={})
    mocked.delete(f"{GRAPH}/subscriptions/{sub.remote_id}", status=204)
    mocked.post(f"{GRAPH}/me/revokeSignInSessions", status=200, json={"value": True})
    disconnect(sub.connection, keep_items=True)
    sub.refresh_from_db()
    assert sub.status == Status.REMOVED


@pytest.mark.parametrize(
    ("which", "deliver", "answer"),
    [
        # 410 makes ClickUp suspend the webhook, should our DELETE not have reached it.
        ("clickup_sub", clickup_delivery, 410),
        ("graph_sub", graph_delivery, 200),  # Graph would retry anything else for 4 hours
    ],
)
def test_a_late_delivery_after_a_real_disconnect_is_acknowledged_not_stored(
    client, mocked, request, which, deliver, answer
):
    # given a connection disconnected through the lifecycle (its subscription removed)
    sub = request.getfixturevalue(which)
    disconnected(sub, mocked)
    before = AuditEvent.objects.count()
    # when the service delivers an event it had in flight, twice
    responses_ = [deliver(client, sub).status_code for _ in range(2)]
    # then it is acknowledged as the service needs, nothing stored, synced or audited
    assert responses_ == [answer, answer]
    assert deliveries() == 0
    assert jobs(sub.connection) == 0
    assert AuditEvent.objects.count() == before
    assert rejections() == []


def test_a_removed_subscription_is_unknown_after_the_grace_period(client, graph_sub, mocked):
    disconnected(graph_sub, mocked)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=8)):
        assert graph_delivery(client, graph_sub).status_code == 404
    assert [e.details["reason"] for e in rejections()] == ["unknown_subscription"]


def test_a_forged_delivery_to_a_removed_subscription_is_still_rejected(client, clickup_sub, mocked):
    disconnected(clickup_sub, mocked)
    body = raw(fixture("clickup", "taskUpdated"))
    headers = meta({"X-Signature": hex_hmac("not-the-secret", body)})
    response = client.post(url("clickup", clickup_sub), body, "application/json", **headers)
    assert response.status_code == 401


class TestProbes:
    """Unauthenticated 404/413/400s: a log line each, audit rows capped per IP and window."""

    @pytest.fixture(autouse=True)
    def quota(self, settings, fresh_cache):
        settings.WEBHOOKS_REJECTION_AUDITS_PER_IP = 3

    @pytest.mark.parametrize(
        ("path", "body", "status"),
        [
            ("/api/webhooks/nope/", b"{}", 404),
            ("/api/webhooks/clickup/not-a-subscription/", b"{}", 404),
            ("/api/webhooks/todoist/", b"not json", 400),
            ("/api/webhooks/todoist/", b"x" * (1024 * 1024 + 1), 413),
        ],
    )
    def test_a_flood_of_probes_writes_a_few_audit_rows(self, client, caplog, path, body, status):
        with caplog.at_level(logging.INFO, logger="webhooks.views"):
            answers = {
                client.post(path, body, "application/json", REMOTE_ADDR="203.0.113.9").status_code
                for _ in range(10)
            }
        assert answers == {status}
        assert len(rejections()) == 3
        assert sum("rejected" in r.getMessage() for r in caplog.records) == 10

    def test_each_ip_has_its_own_quota(self, client):
        for ip in ("203.0.113.9", "198.51.100.7"):
            for _ in range(5):
                client.post("/api/webhooks/nope/", b"{}", "application/json", REMOTE_ADDR=ip)
        assert len(rejections()) == 6

    def test_signature_failures_are_always_audited(self, client, clickup_sub):
        body = raw(fixture("clickup", "taskUpdated"))
        headers = meta({"X-Signature": "0" * 64})
        for _ in range(5):
            client.post(url("clickup", clickup_sub), body, "application/json", **headers)
        assert len(rejections()) == 5


def test_a_notion_token_stored_by_another_worker_is_used_at_once(client, make_subscription):
    # given a pending Notion subscription this worker has already looked up (an early event)
    sub = make_subscription(None, service="notion", status=Status.PENDING)
    payload = fixture("notion", "page.properties_updated")
    body = raw(payload)
    token = fixture("notion", "verification")["verification_token"]
    signature = meta({"X-Notion-Signature": "sha256=" + hex_hmac(token, body)})
    assert client.post(url("notion", sub), body, "application/json", **signature).status_code == 401
    # when another worker answers Notion's handshake and stores the token
    WebhookSubscription.objects.filter(pk=sub.pk).update(secret=token, status=Status.ACTIVE)
    # then the next signed event, within the lookup's memory time, is accepted here
    response = client.post(url("notion", sub), body, "application/json", **signature)
    assert response.status_code == 200
    assert Delivery.objects.filter(delivery_id=f"event:{payload['id']}").count() == 1
