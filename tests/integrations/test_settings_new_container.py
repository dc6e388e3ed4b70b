"""Ticking another project on the settings page of a connection that has synced: when DayFlow
holds tasks that could be the same, its first sync is a preview, and the page leads there."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dayflow.models import Task
from integrations.models import Connection, Credential
from integrations.providers.base import Container, ItemType
from integrations.providers.todoist.provider import TodoistProvider
from sync.models import SyncJob, SyncLink

pytestmark = pytest.mark.django_db

PROJECTS = [
    Container("p-1", "Home", "project", item_types=(ItemType.TASK,)),
    Container("p-2", "Work", "project", item_types=(ItemType.TASK,)),
]
SAVE = {
    "sync_interval": "15",
    "sync_direction": "two_way",
    "conflict_resolution": "manual",
    "sync_tasks": "on",
    "field_mapping": "{}",
}


@pytest.fixture
def synced(client, user, connection, monkeypatch) -> Connection:
    """The person's Todoist connection of project p-1, synced, its settings page open."""
    monkeypatch.setattr(TodoistProvider, "list_containers", lambda self: PROJECTS)
    Credential.objects.create(connection=connection, access_token="t")
    now = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(last_sync_at=now)
    SyncLink.objects.filter(connection=connection).update(first_synced_at=now)
    client.force_login(user)
    return connection


def url(connection: Connection) -> str:
    return f"/integrations/connections/{connection.pk}/settings/"


def test_ticking_a_project_leads_to_its_first_syncs_preview(
    client, user, synced, celery_sent, django_capture_on_commit_callbacks
):
    Task.objects.create(user=user, title="Quarterly report")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(synced), SAVE | {"collection": ["p-1", "p-2"]})

    preview = SyncJob.objects.get(connection=synced)
    assert (preview.dry_run, preview.kind, preview.status) == (True, "full", "queued")
    assert response.status_code == 302
    assert response["Location"] == f"/sync/jobs/{preview.pk}/"
    assert celery_sent == [((preview.pk,), None)]
    page = client.get(response["Location"]).content.decode()
    assert "check what the first sync does" in page


def test_other_saves_lead_back_to_the_dashboard(client, user, synced, celery_sent):
    Task.objects.create(user=user, title="Quarterly report")

    response = client.post(url(synced), SAVE | {"collection": ["p-1"], "sync_interval": "30"})

    assert response["Location"] == "/integrations/"
    assert not SyncJob.objects.exists()
