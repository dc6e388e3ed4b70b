"""The emulators' webhooks: beat sends a delivery no thread sent (sandbox.deliver_webhooks), and
a delivery the subscriber did not take is sent again on its service's own schedule, until the
service's retries run out."""

from __future__ import annotations

import datetime as dt

import pytest
import responses
import time_machine

from integrations.sandbox import clickup, google_calendar, linear, notion, outbox, outlook, todoist
from integrations.sandbox.models import Delivery
from integrations.sandbox.tasks import deliver_webhooks

pytestmark = pytest.mark.django_db
NOBODY = "http://127.0.0.1:9/api/webhooks/todoist/"  # the discard port: refused at once
HOOK = "http://127.0.0.1:8000/api/webhooks/linear/"
T0 = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)


def pending(url: str = NOBODY, retries: outbox.Retries = outbox.NONE) -> Delivery:
    return outbox.enqueue("linear", url, b"{}", {"Content-Type": "application/json"}, retries)


def test_beat_sends_a_delivery_left_behind(sandbox_on):
    delivery = pending()

    assert deliver_webhooks() == 1
    delivery.refresh_from_db()
    assert delivery.sent_at is not None
    assert delivery.error  # tried: nothing listens there
    assert delivery.next_attempt_at is None  # no retries declared


def test_with_the_sandbox_off_beat_sends_nothing(sandbox_on):
    sandbox_on.DAYFLOW_SANDBOX = False
    delivery = pending()

    assert deliver_webhooks() == 0
    delivery.refresh_from_db()
    assert delivery.sent_at is None


@responses.activate
def test_a_refused_delivery_is_retried_on_the_services_schedule_until_it_is_taken(sandbox_on):
    answers = [responses.Response("POST", HOOK, status=status) for status in (500, 503, 200)]
    for answer in answers:
        responses.add(answer)
    with time_machine.travel(T0, tick=False):
        delivery = pending(HOOK, linear.WEBHOOK_RETRIES)
        assert deliver_webhooks() == 1
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.status) == (1, 500)
    assert delivery.next_attempt_at == T0 + dt.timedelta(minutes=1)

    with time_machine.travel(T0 + dt.timedelta(seconds=59), tick=False):
        assert deliver_webhooks() == 0  # not due yet
    with time_machine.travel(T0 + dt.timedelta(minutes=1), tick=False):
        assert deliver_webhooks() == 1
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == T0 + dt.timedelta(minutes=1, hours=1)

    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        assert deliver_webhooks() == 1
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.status, delivery.next_attempt_at) == (3, 200, None)
    assert len(responses.calls) == 3
    assert all(call.request.body == b"{}" for call in responses.calls)  # the same delivery


@responses.activate
def test_the_service_gives_up_when_its_retries_run_out(sandbox_on):
    responses.add("POST", HOOK, status=500)
    delivery = pending(HOOK, outbox.Retries(waits=(60,)))
    with time_machine.travel(T0, tick=False):
        deliver_webhooks()
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        deliver_webhooks()
    with time_machine.travel(T0 + dt.timedelta(days=1), tick=False):
        assert deliver_webhooks() == 0
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.status, delivery.next_attempt_at) == (2, 500, None)


def test_each_service_declares_its_documented_schedule():
    # ../shared/providers/facts.md: Linear 1 min, 1 h, 6 h within 5 s; Todoist after 15 minutes,
    # three attempts; ClickUp 5 retries within 7 s; Notion 8 attempts; Graph 4 hours within 3 s.
    assert outbox.Retries(waits=(60, 3600, 21600), timeout=5.0) == linear.WEBHOOK_RETRIES
    assert todoist.WEBHOOK_RETRIES.waits == (900, 900)
    assert (len(clickup.WEBHOOK_RETRIES.waits), clickup.WEBHOOK_RETRIES.timeout) == (5, 7.0)
    assert len(notion.WEBHOOK_RETRIES.waits) == 7
    assert sum(outlook.WEBHOOK_RETRIES.waits) <= 4 * 3600
    assert outlook.WEBHOOK_RETRIES.timeout == 3.0
    assert google_calendar.WEBHOOK_RETRIES.waits == ()
