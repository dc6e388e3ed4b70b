"""The admin actions that reach into other apps: undo (sync.repair) and replay (a Celery task)."""

from __future__ import annotations

from unittest import mock

import pytest

from integrations.models import Service
from sync.models import SyncJob
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db


def test_undo_action_reverts_a_job_through_the_repair_module(admin_client, connection):
    job = SyncJob.objects.create(connection=connection, status=SyncJob.Status.SUCCEEDED)

    response = admin_client.post(
        "/admin/sync/syncjob/",
        {"action": "undo", "_selected_action": [job.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert f"Job {job.pk}: reverted 0, skipped 0." in response.content.decode()


def test_replay_action_sends_each_delivery_to_the_webhooks_task(admin_client):
    delivery = Delivery.objects.create(
        service=Service.objects.get(key="todoist"),
        delivery_id="d-1",
        status=Delivery.Status.FAILED,
        error="boom",
    )

    with mock.patch("webhooks.tasks.process_delivery.delay") as delay:
        response = admin_client.post(
            "/admin/webhooks/delivery/",
            {"action": "replay", "_selected_action": [delivery.pk]},
            follow=True,
        )

    assert response.status_code == 200
    delay.assert_called_once_with(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.error) == (Delivery.Status.RECEIVED, "")
