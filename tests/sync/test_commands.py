"""`manage.py sync` and the admin's "Sync now" and job actions."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from dayflow.models import Task
from sync.models import SyncJob
from tests.sync.conftest import task_fields

pytestmark = pytest.mark.django_db


def test_command_inline_runs_a_sync(connection, fake_provider):
    fake_provider.add(**task_fields("imported"))
    out = StringIO()

    call_command("sync", str(connection.pk), "--inline", stdout=out)

    assert "succeeded" in out.getvalue()
    assert json.loads(out.getvalue().splitlines()[1])["local_created"] == 1
    assert Task.objects.get().title == "imported"


def test_command_dry_run_reports_and_changes_nothing(connection, fake_provider):
    fake_provider.add(**task_fields("imported"))
    out = StringIO()

    call_command("sync", str(connection.pk), "--dry-run", "--inline", stdout=out)

    assert json.loads(out.getvalue().splitlines()[1])["preview"]["local"]["create"] == 1
    assert not Task.objects.exists()


def test_command_queues_by_default_and_refuses_a_paused_connection(connection, monkeypatch):
    from sync import tasks

    monkeypatch.setattr(tasks.run_job, "apply_async", lambda *a, **k: None)
    out = StringIO()
    call_command("sync", str(connection.pk), "--full", stdout=out)
    assert SyncJob.objects.get().kind == "full"

    connection.status = "paused"
    connection.save()
    with pytest.raises(CommandError):
        call_command("sync", str(connection.pk))


@pytest.fixture
def staff_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("staff", "s@example.com", "pw-staff-123")
    client.force_login(admin)
    return client


def test_admin_sync_now_action_queues_a_job(staff_client, connection, monkeypatch):
    from sync import tasks

    monkeypatch.setattr(tasks.run_job, "apply_async", lambda *a, **k: None)
    response = staff_client.post(
        reverse("admin:integrations_connection_changelist"),
        {"action": "sync_now", "_selected_action": [connection.pk]},
        follow=True,
    )
    assert response.status_code == 200
    job = SyncJob.objects.get()
    assert (job.trigger, job.connection_id) == ("admin", connection.pk)


def test_admin_job_pages_and_cancel_action(staff_client, connection):
    job = SyncJob.objects.create(connection=connection)
    assert staff_client.get(reverse("admin:sync_syncjob_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:sync_syncjob_change", args=[job.pk])).status_code == 200

    staff_client.post(
        reverse("admin:sync_syncjob_changelist"),
        {"action": "cancel", "_selected_action": [job.pk]},
    )

    job.refresh_from_db()
    assert job.status == "cancelled"
