"""Per-IP limits on failed signatures and on handshakes (webhooks/views.py, dayflow/limits.py):
429 with Retry-After past the limit, and never for a delivery with a valid signature; the audit
rows of a flood of forgeries are capped, with one row counting the rest (audit/capped.py)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from audit import capped
from audit.models import AuditEvent
from webhooks.models import Delivery

from .helpers import fixture, hex_hmac, meta, raw, url

pytestmark = pytest.mark.django_db
SECRET = "clickup-webhook-secret"
ATTACKER = "203.0.113.9"
# 100 s into a 600 s window (window starts are multiples of its length since the epoch).
NOW = dt.datetime.fromtimestamp(600 * 3_000_000 + 100, tz=dt.UTC)


@pytest.fixture(autouse=True)
def small_limits(settings, fresh_cache):
    settings.DAYFLOW_WEBHOOK_SIGNATURE_FAILURES_PER_IP = 5
    settings.DAYFLOW_WEBHOOK_SIGNATURE_FAILURES_WINDOW_SECONDS = 600
    settings.DAYFLOW_WEBHOOK_HANDSHAKES_PER_IP = 3
    settings.DAYFLOW_WEBHOOK_HANDSHAKES_WINDOW_SECONDS = 600
    settings.DAYFLOW_AUDIT_REJECTIONS_PER_CLIENT = 4
    settings.DAYFLOW_AUDIT_REJECTIONS_WINDOW_SECONDS = 600


@pytest.fixture
def sub(make_connection, make_subscription):
    connection = make_connection("clickup", account="9012345")
    return make_subscription(connection, remote_id="wh-1", secret=SECRET)


def post(client, sub, n: int, secret: str, ip: str = ATTACKER):
    body = raw({**fixture("clickup", "taskUpdated"), "task_id": f"task-{n}"})
    headers = meta({"X-Signature": hex_hmac(secret, body)})
    return client.post(
        url("clickup", sub), body, content_type="application/json", REMOTE_ADDR=ip, **headers
    )


def test_forged_signatures_end_in_429_while_a_valid_one_from_the_same_ip_passes(client, sub):
    with time_machine.travel(NOW, tick=False):
        forged = [post(client, sub, n, "a-guess").status_code for n in range(8)]
        last = post(client, sub, 99, "a-guess")
        valid = [post(client, sub, n, SECRET).status_code for n in range(3)]

    assert forged == [401] * 5 + [429] * 3
    assert last.status_code == 429
    assert last["Retry-After"] == "500"
    # The service's own deliveries, even from the attacker's IP, are taken.
    assert valid == [200, 200, 200]
    assert Delivery.objects.count() == 3


def test_the_limit_is_per_ip_and_per_window(client, sub):
    with time_machine.travel(NOW, tick=False):
        for n in range(6):
            post(client, sub, n, "a-guess")
        assert post(client, sub, 1, "a-guess", ip="198.51.100.2").status_code == 401
    with time_machine.travel(NOW + dt.timedelta(seconds=500), tick=False):
        assert post(client, sub, 1, "a-guess").status_code == 401


def graph_handshake(client, sub, ip: str = ATTACKER):
    return client.post(
        url("outlook", sub) + "?validationToken=Validation%3A%20hello",
        b"",
        content_type="text/plain; charset=utf-8",
        REMOTE_ADDR=ip,
    )


def notion_handshake(client, sub, ip: str = ATTACKER):
    body = raw({"verification_token": fixture("notion", "verification")["verification_token"]})
    return client.post(url("notion", sub), body, content_type="application/json", REMOTE_ADDR=ip)


@pytest.mark.parametrize(
    ("service", "handshake"), [("outlook", graph_handshake), ("notion", notion_handshake)]
)
def test_handshakes_are_limited_per_ip(
    client, make_connection, make_subscription, service, handshake
):
    subscription = make_subscription(
        make_connection(service, account="someone"), remote_id="r-1", secret=""
    )
    with time_machine.travel(NOW, tick=False):
        answers = [handshake(client, subscription).status_code for _ in range(5)]
        elsewhere = handshake(client, subscription, ip="198.51.100.2")

    assert answers[:3] == [200] * 3
    assert answers[3:] == [429, 429]
    assert elsewhere.status_code == 200


def test_a_flood_of_forgeries_writes_capped_audit_rows_and_one_count_row(client, sub):
    with time_machine.travel(NOW, tick=False):
        for n in range(160):
            post(client, sub, n, "a-guess")
    rows = AuditEvent.objects.filter(action="webhook.rejected", ip_address=ATTACKER)
    assert rows.count() == 4
    assert not AuditEvent.objects.filter(action=capped.DROPPED).exists()

    # The next window's first rejection writes the count row of the last one, once.
    with time_machine.travel(NOW + dt.timedelta(seconds=600), tick=False):
        post(client, sub, 1, "a-guess")
        post(client, sub, 2, "a-guess")
        capped.flush()
    [count] = AuditEvent.objects.filter(action=capped.DROPPED)
    assert count.ip_address == ATTACKER
    assert count.details["action"] == "webhook.rejected"
    assert count.details["dropped"] == 156
    assert count.details["summary"] == "156 more dropped"
    assert rows.count() == 6


def test_the_beat_task_writes_the_count_row_when_the_window_closes(client, sub):
    with time_machine.travel(NOW, tick=False):
        for n in range(10):
            post(client, sub, n, "a-guess")
        assert capped.flush() == 0  # this window is still open
    with time_machine.travel(NOW + dt.timedelta(seconds=600), tick=False):
        assert capped.flush_capped_rejections() == 1
        capped.flush()
    [count] = AuditEvent.objects.filter(action=capped.DROPPED)
    assert count.details["dropped"] == 6
