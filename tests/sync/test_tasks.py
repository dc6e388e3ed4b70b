"""The Celery tasks: they take ids, and send a job back to the broker instead of waiting."""

from __future__ import annotations

import pytest
from django.utils import timezone

from sync import tasks
from sync.models import SyncJob
from tests.sync.conftest import task_fields

pytestmark = pytest.mark.django_db


def test_run_job_runs_the_job(connection, fake_provider):
    fake_provider.add(**task_fields("imported"))
    job = SyncJob.objects.create(connection=connection)

    result = tasks.run_job.apply((job.pk,))

    job.refresh_from_db()
    assert (result.get(), job.status) == ("succeeded", "succeeded")


def test_run_job_of_a_missing_job_returns_quietly(db):
    assert tasks.run_job.apply((123456,)).get() == "gone"


def test_a_job_behind_a_running_one_is_retried_later_not_waited_for(
    connection, fake_provider, monkeypatch
):
    SyncJob.objects.create(connection=connection, status="running", heartbeat_at=None)
    SyncJob.objects.filter(status="running").update(heartbeat_at=timezone.now())
    queued = SyncJob.objects.create(connection=connection)
    retries = []
    monkeypatch.setattr(
        tasks.run_job, "retry", lambda countdown: retries.append(countdown) or RuntimeError("retry")
    )

    with pytest.raises(RuntimeError):
        tasks.run_job.run(queued.pk)

    assert retries == [15.0]


def test_the_scheduled_task_requests_an_incremental_sync(connection, monkeypatch):
    monkeypatch.setattr(tasks.run_job, "apply_async", lambda *a, **k: None)
    job_id = tasks.scheduled.run(connection.pk)
    job = SyncJob.objects.get(pk=job_id)
    assert (job.trigger, job.kind) == ("schedule", "incremental")


def test_tasks_are_routed_to_the_sync_queue(settings):
    from dayflow.celery import app

    assert app.amqp.router.route({}, "sync.run_job")["queue"].name == "sync"


def test_recover_jobs_resends_dead_and_lost_jobs_only(
    connection, user, service, monkeypatch, django_capture_on_commit_callbacks
):
    from integrations.models import Connection

    sent = []
    monkeypatch.setattr(
        tasks.run_job,
        "apply_async",
        lambda args, kwargs=None, countdown=None, **options: sent.append(args[0]),
    )
    other = Connection.objects.create(user=user, service=service, external_account_id="b")
    third = Connection.objects.create(user=user, service=service, external_account_id="c")
    long_ago = timezone.now() - timezone.timedelta(hours=1)
    dead = SyncJob.objects.create(connection=connection, status="running", heartbeat_at=long_ago)
    behind_dead = SyncJob.objects.create(connection=connection)
    lost = SyncJob.objects.create(connection=other)
    fresh = SyncJob.objects.create(connection=third)
    SyncJob.objects.filter(pk__in=[behind_dead.pk, lost.pk]).update(created_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        resent = tasks.recover_jobs.run()

    assert resent == [dead.pk, lost.pk]
    assert sent == [dead.pk, lost.pk]
    assert fresh.pk not in sent


def test_beat_holds_the_dispatcher_and_the_recovery_as_static_entries(settings):
    from dayflow.celery import app

    dispatch = settings.CELERY_BEAT_SCHEDULE["sync-dispatch-due"]
    recovery = settings.CELERY_BEAT_SCHEDULE["sync-recover-jobs"]

    assert (dispatch["task"], dispatch["schedule"]) == ("sync.dispatch_due", 30.0)
    assert (recovery["task"], recovery["schedule"]) == ("sync.recover_jobs", 300.0)
    # the dispatcher runs with the bookkeeping; the syncs it sends go to the sync queue
    assert app.amqp.router.route({}, "sync.dispatch_due")["queue"].name == "maintenance"
    assert app.amqp.router.route({}, "sync.scheduled")["queue"].name == "sync"
