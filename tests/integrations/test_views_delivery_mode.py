"""The integrations page says whether each connection gets pushed changes or is polled."""

import datetime as dt

import pytest
from django.utils import timezone

from integrations.models import Connection, Service
from webhooks.models import WebhookSubscription

pytestmark = pytest.mark.django_db


def mode_cell(client, connection) -> str:
    body = client.get("/integrations/").content.decode()
    row = body.split(f'id="connection-{connection.pk}"')[1].split("</article>")[0]
    return "push" if ">push<" in row else "polling" if ">polling<" in row else "?"


def test_polling_until_a_live_subscription_exists_then_push(client, user):
    connection = Connection.objects.create(
        user=user, service=Service.objects.get(key="clickup"), external_account_id="team-1"
    )
    client.force_login(user)
    assert mode_cell(client, connection) == "polling"

    WebhookSubscription.objects.create(
        service=connection.service,
        connection=connection,
        remote_id="wh-1",
        status="active",
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    assert mode_cell(client, connection) == "push"

    connection.status = Connection.Status.PAUSED
    connection.save(update_fields=["status"])
    assert mode_cell(client, connection) == "polling"
