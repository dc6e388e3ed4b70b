"""The sync pages: start, follow and control a job; see and settle conflicts; only one's own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from sync.models import Conflict, ItemLink, SyncJob
from tests.sync.conftest import task_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def no_broker(monkeypatch):
    monkeypatch.setattr("sync.tasks.run_job.apply_async", lambda *a, **k: None)


def test_sync_now_queues_a_job_and_shows_its_progress(logged_in, connection, no_broker):
    response = logged_in.post(reverse("sync:start", args=[connection.pk]))

    job = SyncJob.objects.get()
    assert response.url == reverse("sync:job", args=[job.pk])
    page = logged_in.get(response.url)
    assert page.status_code == 200
    assert b"Queued" in page.content


def test_preview_reports_what_would_change(logged_in, connection, run_sync, remote):
    remote.add(**task_fields("remote"))
    job = run_sync(kind="full", dry_run=True)

    page = logged_in.get(reverse("sync:job", args=[job.pk]))

    assert b"Preview of" in page.content
    assert page.context["preview"]["local"]["create"] == 1


def test_cancel_from_the_page(logged_in, connection, no_broker):
    job = SyncJob.objects.create(connection=connection)

    logged_in.post(reverse("sync:job-control", args=[job.pk, "cancel"]))

    job.refresh_from_db()
    assert job.status == "cancelled"


def test_a_job_control_from_the_page_is_audited_as_the_web(logged_in, connection, user):
    job = SyncJob.objects.create(connection=connection, status="queued")

    logged_in.post(reverse("sync:job-control", args=[job.pk, "pause"]))

    event = AuditEvent.objects.get(action="sync.job.pause_requested")
    assert (event.actor, event.channel, event.resource) == (user, "web", f"sync job {job.pk}")


def test_another_users_job_and_conflicts_are_not_found(client, other_user, connection):
    client.force_login(other_user)
    job = SyncJob.objects.create(connection=connection)
    link = ItemLink.objects.create(connection=connection, item_type="task", remote_id="r1")
    conflict = Conflict.objects.create(link=link, local={"title": "a"}, remote={"title": "b"})

    assert client.get(reverse("sync:job", args=[job.pk])).status_code == 404
    assert client.post(reverse("sync:job-control", args=[job.pk, "cancel"])).status_code == 404
    assert client.get(reverse("sync:conflict", args=[conflict.pk])).status_code == 404
    assert client.post(reverse("sync:start", args=[connection.pk])).status_code == 404
    assert list(client.get(reverse("sync:conflicts")).context["conflicts"]) == []


def test_a_conflict_is_shown_and_resolved_from_its_page(logged_in, connection, remote, run_sync):
    from dayflow.models import Task

    remote_id = remote.add(**task_fields("t"))
    run_sync()
    task = Task.objects.get()
    task.title = "mine"
    task.save()
    remote.edit(remote_id, title="theirs")
    run_sync()
    conflict = Conflict.objects.get()

    page = logged_in.get(reverse("sync:conflict", args=[conflict.pk]))
    assert b"mine" in page.content
    assert b"theirs" in page.content
    logged_in.post(reverse("sync:conflict-resolve", args=[conflict.pk]), {"resolution": "remote"})

    conflict.refresh_from_db()
    assert conflict.status == "resolved"
    assert Task.objects.get().title == "theirs"


def test_pages_need_a_login(client, connection):
    response = client.get(reverse("sync:conflicts"))
    assert response.status_code == 302
    assert "/accounts/login/" in response.url


@pytest.mark.parametrize(
    ("status", "follows"),
    [("queued", True), ("running", True), ("paused", False), ("succeeded", False)],
)
def test_the_job_page_follows_a_job_only_while_it_is_active(logged_in, connection, status, follows):
    job = SyncJob.objects.create(connection=connection, status=status)

    page = logged_in.get(reverse("sync:job", args=[job.pk])).content.decode()

    # its live part asks for itself (htmx) instead of the whole page reloading
    live = reverse("sync:job-live", args=[job.pk])
    assert (f'hx-get="{live}" hx-trigger="every 2s"' in page) is follows
    assert 'http-equiv="refresh"' not in page
    assert "/static/js/htmx.min.js" in page


def test_templates_ask_the_job_not_its_status_string():
    # The allowed-actions table (sync/actions.py) and the model's properties are the one source;
    # a template comparing a status string would be a second one.
    templates = Path(__file__).resolve().parents[2] / "templates"
    compared = [
        f"{path.name}: {line.strip()}"
        for path in templates.rglob("*.html")
        for line in path.read_text().splitlines()
        if re.search(r"status\s*(==|!=)|status\s+(not\s+)?in\s", line)
    ]

    assert compared == []
