"""request_sync (one job per connection, joins and one trailing job) and job controls."""

from __future__ import annotations

import pytest
from django.utils import timezone

from integrations.actions import ConnectionActionRefused
from integrations.models import Connection
from sync import jobs, services
from sync.actions import JobActionRefused
from sync.models import SyncJob

pytestmark = pytest.mark.django_db

Status = SyncJob.Status


def test_request_sync_queues_a_job_and_sends_its_id_on_commit(
    connection, celery_sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.request_sync(connection.pk, trigger="webhook")

    assert (job.status, job.trigger, job.kind) == (Status.QUEUED, "webhook", "incremental")
    assert celery_sent == [((job.pk,), None)]


def test_a_burst_of_requests_joins_the_waiting_job(
    connection, celery_sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        jobs = {services.request_sync(connection.pk, trigger="webhook").pk for _ in range(100)}

    assert len(jobs) == 1
    assert len(celery_sent) == 1


def test_requests_while_a_job_runs_queue_exactly_one_trailing_job(connection, celery_sent):
    running = SyncJob.objects.create(connection=connection, status=Status.RUNNING)

    trailing = {services.request_sync(connection.pk, trigger="webhook").pk for _ in range(50)}

    assert len(trailing) == 1
    assert running.pk not in trailing
    assert SyncJob.objects.filter(connection=connection, status=Status.QUEUED).count() == 1


def test_a_full_request_upgrades_the_waiting_job(connection, celery_sent):
    first = services.request_sync(connection.pk, trigger="schedule")
    second = services.request_sync(connection.pk, trigger="user", kind="full")

    assert second.pk == first.pk
    first.refresh_from_db()
    assert first.kind == "full"


@pytest.mark.parametrize("status", ["paused", "needs_reauth", "disconnected", "error"])
def test_connections_that_must_not_sync_get_none(connection, celery_sent, status):
    Connection.objects.filter(pk=connection.pk).update(status=status)
    assert services.request_sync(connection.pk, trigger="webhook") is None
    assert services.request_sync(999_999, trigger="webhook") is None
    assert not SyncJob.objects.exists()


@pytest.mark.parametrize("status", ["paused", "needs_reauth", "disconnected", "error"])
def test_a_person_asking_a_connection_that_must_not_sync_is_told_why(
    connection, celery_sent, status
):
    Connection.objects.filter(pk=connection.pk).update(status=status)
    connection.refresh_from_db()

    with pytest.raises(ConnectionActionRefused) as refused:
        services.sync_now(connection, trigger="user")

    assert refused.value.action == "sync"
    assert refused.value.reason == "only a connected account can sync"
    assert not SyncJob.objects.exists()


def test_a_person_gets_the_job_or_its_preview(connection, celery_sent):
    job = services.sync_now(connection, trigger="user", kind="full")
    preview = services.sync_now(connection, trigger="user", preview=True)

    assert (job.kind, job.dry_run, job.trigger) == ("full", False, "user")
    assert preview.dry_run is True
    assert SyncJob.objects.count() == 2


def test_a_connection_paused_between_the_look_and_the_queueing_is_refused(connection, celery_sent):
    # given the page saw it connected, and it was paused since
    Connection.objects.filter(pk=connection.pk).update(status="paused")

    with pytest.raises(ConnectionActionRefused):
        services.sync_now(connection, trigger="user")

    assert not SyncJob.objects.exists()


def test_a_second_job_cannot_run_while_one_runs(connection):
    SyncJob.objects.create(connection=connection, status=Status.RUNNING, heartbeat_at=None)
    # A running job with a fresh lease blocks the queued one, which waits in the broker.
    SyncJob.objects.filter(status=Status.RUNNING).update(heartbeat_at=timezone.now())
    queued = SyncJob.objects.create(connection=connection)

    outcome = jobs.claim(queued.pk)

    assert outcome == jobs.Outcome("busy", retry_in=15.0)
    queued.refresh_from_db()
    assert queued.status == Status.QUEUED


def test_a_job_whose_worker_died_gives_way_after_its_lease(connection, settings):
    settings.DAYFLOW_SYNC_JOB_LEASE = 0
    dead = SyncJob.objects.create(
        connection=connection, status=Status.RUNNING, heartbeat_at=timezone.now()
    )
    queued = SyncJob.objects.create(connection=connection)

    claimed = jobs.claim(queued.pk)

    assert isinstance(claimed, SyncJob)
    assert claimed.status == Status.RUNNING
    dead.refresh_from_db()
    assert (dead.status, dead.error) == (Status.FAILED, "worker lost")


def test_pause_resume_and_cancel_a_waiting_job(connection, celery_sent):
    job = services.request_sync(connection.pk, trigger="user")

    assert jobs.pause_job(job.pk)
    job.refresh_from_db()
    assert job.status == Status.PAUSED
    assert jobs.resume_job(job.pk)
    job.refresh_from_db()
    assert job.status == Status.QUEUED
    assert jobs.cancel_job(job.pk)
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert not jobs.resume_job(job.pk)


def test_pause_and_cancel_of_a_running_job_are_requests_for_its_next_checkpoint(connection):
    job = SyncJob.objects.create(connection=connection, status=Status.RUNNING)

    assert jobs.pause_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.control) == (Status.RUNNING, "pause")
    assert jobs.cancel_job(job.pk)
    job.refresh_from_db()
    assert job.control == "cancel"


def test_preview_is_a_dry_run_that_does_not_block_real_syncs(connection, celery_sent):
    preview = services.preview_sync(connection.pk)
    job = services.request_sync(connection.pk, trigger="user")

    assert preview.dry_run
    assert preview.kind == "full"
    assert job.pk != preview.pk


@pytest.mark.parametrize(
    ("trigger", "queued"), [("webhook", False), ("schedule", False), ("user", True), ("api", True)]
)
def test_a_manual_connection_syncs_only_on_demand(connection, celery_sent, trigger, queued):
    connection.sync_direction = "manual"
    connection.save()

    job = services.request_sync(connection.pk, trigger=trigger)

    assert (job is not None) is queued


def test_control_job_moves_the_job_an_allowed_action_asks_for(connection, celery_sent):
    job = services.request_sync(connection.pk, trigger="user")

    services.control_job(job, "pause")

    job.refresh_from_db()
    assert job.status == Status.PAUSED


@pytest.mark.parametrize("action", ["resume", "confirm", "undo", "explode"])
def test_control_job_refuses_what_the_status_does_not_allow(connection, celery_sent, action):
    job = services.request_sync(connection.pk, trigger="user")

    with pytest.raises(JobActionRefused):
        services.control_job(job, action)

    job.refresh_from_db()
    assert job.status == Status.QUEUED


def test_control_job_refuses_a_job_that_moved_on_since_it_was_read(connection, celery_sent):
    job = services.request_sync(connection.pk, trigger="user")
    SyncJob.objects.filter(pk=job.pk).update(status=Status.SUCCEEDED)  # meanwhile, elsewhere

    with pytest.raises(JobActionRefused):
        services.control_job(job, "cancel")  # the page still showed it queued
