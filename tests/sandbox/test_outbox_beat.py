"""Beat sends the webhooks an emulator stored and no thread sent (sandbox.deliver_webhooks)."""

from __future__ import annotations

import pytest

from integrations.sandbox.models import Delivery
from integrations.sandbox.tasks import deliver_webhooks

pytestmark = pytest.mark.django_db
NOBODY = "http://127.0.0.1:9/api/webhooks/todoist/"  # the discard port: refused at once


def pending() -> Delivery:
    return Delivery.objects.create(service="todoist", url=NOBODY, body=b"{}", headers={})


def test_beat_sends_a_delivery_left_behind(sandbox_on):
    delivery = pending()

    assert deliver_webhooks() == 1
    delivery.refresh_from_db()
    assert delivery.sent_at is not None
    assert delivery.error  # tried: nothing listens there


def test_with_the_sandbox_off_beat_sends_nothing(sandbox_on):
    sandbox_on.DAYFLOW_SANDBOX = False
    delivery = pending()

    assert deliver_webhooks() == 0
    delivery.refresh_from_db()
    assert delivery.sent_at is None
