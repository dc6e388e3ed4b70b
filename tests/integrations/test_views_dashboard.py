"""The dashboard's cards as pages: each card is a partial that polls itself only while a job
runs; Sync now, Preview, Pause and Resume answer a card's htmx request with the card, and a
plain form with the redirect they always made."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.models import Connection, Service
from sync.models import SyncJob

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


def card_url(connection) -> str:
    return reverse("integrations:card", args=[connection.pk])


def test_the_dashboard_shows_a_card_per_connection_with_its_links(logged_in, connection):
    SyncJob.objects.create(connection=connection, status="succeeded", local_created=3)

    page = logged_in.get("/integrations/").content.decode()

    card = page.split(f'id="connection-{connection.pk}"')[1].split("</article>")[0]
    assert "/static/img/services/todoist.svg" in card
    assert "alice@todoist" in card
    assert "Connected" in card
    assert ">polling<" in card
    assert "Imported 3 tasks" in card
    assert f'href="/sync/jobs/?connection={connection.pk}"' in card
    assert f'action="/sync/connections/{connection.pk}/sync/"' in card
    assert 'name="preview" value="1"' in card
    assert "/static/js/htmx.min.js" in page
    assert "hx-trigger" not in card  # nothing runs: the card does not poll


def test_a_card_polls_itself_while_a_job_is_queued_or_running(logged_in, connection):
    job = SyncJob.objects.create(connection=connection, status="queued")

    card = logged_in.get(card_url(connection)).content.decode()
    assert f'hx-get="{card_url(connection)}" hx-trigger="every 2s"' in card
    assert "Waiting to start" in card
    assert "<progress" in card

    SyncJob.objects.filter(pk=job.pk).update(
        status="running", phase="writing_local", planned=8, processed=2
    )
    card = logged_in.get(card_url(connection)).content.decode()
    assert "Sync: Writing to DayFlow" in card
    assert 'value="2" max="8"' in card

    SyncJob.objects.filter(pk=job.pk).update(status="succeeded", phase="done")
    card = logged_in.get(card_url(connection)).content.decode()
    assert "hx-trigger" not in card
    assert "<progress" not in card
    assert "Succeeded" in card


def test_another_users_card_is_not_found(client, other_user, connection):
    client.force_login(other_user)
    assert client.get(card_url(connection)).status_code == 404


def test_the_card_needs_a_login(client, connection):
    assert client.get(card_url(connection)).status_code == 302


def test_sync_now_from_a_card_answers_with_the_card_following_the_job(
    logged_in, connection, celery_sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(reverse("sync:start", args=[connection.pk]), **HTMX)

    job = SyncJob.objects.get(connection=connection)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<article class="connection-card"')
    assert f"Sync #{job.pk} started." in body
    assert "hx-trigger" in body  # it follows the job
    assert len(celery_sent) == 1


def test_preview_from_a_card_starts_a_dry_run(logged_in, connection, celery_sent):
    response = logged_in.post(reverse("sync:start", args=[connection.pk]), {"preview": "1"}, **HTMX)

    job = SyncJob.objects.get(connection=connection)
    assert job.dry_run
    assert f"Preview #{job.pk} started." in response.content.decode()
    assert "Preview: Waiting to start" in response.content.decode()


def test_sync_now_from_a_plain_form_still_goes_to_the_jobs_page(logged_in, connection, celery_sent):
    response = logged_in.post(reverse("sync:start", args=[connection.pk]))

    job = SyncJob.objects.get(connection=connection)
    assert response.status_code == 302
    assert response["Location"] == reverse("sync:job", args=[job.pk])


def test_sync_now_of_a_paused_connection_is_refused_on_its_card(logged_in, connection):
    Connection.objects.filter(pk=connection.pk).update(status="paused")

    response = logged_in.post(reverse("sync:start", args=[connection.pk]), **HTMX)

    body = response.content.decode()
    assert response.status_code == 200
    assert "cannot sync now (Paused)" in body
    assert 'class="card-note error"' in body
    assert not SyncJob.objects.exists()


def test_pause_and_resume_from_a_card_answer_with_the_card(logged_in, connection):
    paused = logged_in.post(reverse("integrations:pause", args=[connection.pk]), **HTMX)
    connection.refresh_from_db()
    assert connection.status == "paused"
    assert "is paused." in paused.content.decode()
    assert "Resume</button>" in paused.content.decode()

    resumed = logged_in.post(reverse("integrations:resume", args=[connection.pk]), **HTMX)
    connection.refresh_from_db()
    assert connection.status == "connected"
    assert "Pause</button>" in resumed.content.decode()

    refused = logged_in.post(reverse("integrations:resume", args=[connection.pk]), **HTMX)
    assert "only a paused account" in refused.content.decode()


def test_pause_from_a_plain_form_still_redirects(logged_in, connection):
    response = logged_in.post(reverse("integrations:pause", args=[connection.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("integrations:index")


def test_a_connection_needing_setup_links_to_its_picker(logged_in, connection, monkeypatch):
    # `Connection.setup_needed` comes with the set-up pages: the card only says it
    monkeypatch.setattr(Connection, "setup_needed", "choose a Todoist project", raising=False)

    page = logged_in.get("/integrations/").content.decode()

    assert "Needs setup: choose a Todoist project" in page
    assert f'href="/integrations/connections/{connection.pk}/settings/?pick=1"' in page
    assert "None until it is set up" in page


def test_not_connected_services_come_first(logged_in, user):
    Connection.objects.create(
        user=user, service=Service.objects.get(key="clickup"), external_account_id="x"
    )
    page = logged_in.get("/integrations/").content.decode()
    services = page.split('aria-labelledby="services"')[1]
    assert services.index('id="service-notion"') < services.index('id="service-clickup"')
    assert "connected above" in services.split('id="service-clickup"')[1].split("</li>")[0]


def test_the_job_pages_live_part_follows_the_job(logged_in, connection):
    job = SyncJob.objects.create(
        connection=connection, status="running", phase="writing_remote", planned=5, processed=1
    )
    live = reverse("sync:job-live", args=[job.pk])

    part = logged_in.get(live).content.decode()
    assert part.lstrip().startswith('<div id="job-live"')
    assert f'hx-get="{live}"' in part
    assert "Writing to Todoist" in part
    assert 'value="1" max="5"' in part

    SyncJob.objects.filter(pk=job.pk).update(status="succeeded", phase="done")
    part = logged_in.get(live).content.decode()
    assert "hx-get" not in part
    assert "<progress" not in part


def test_another_users_job_part_is_not_found(client, other_user, connection):
    job = SyncJob.objects.create(connection=connection)
    client.force_login(other_user)
    assert client.get(reverse("sync:job-live", args=[job.pk])).status_code == 404
