"""Celery tasks of the sync app. They take ids, re-fetch, and return quietly if the row is gone."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.db.models import Exists, OuterRef
from django.utils import timezone

from sync.models import SyncJob
from sync.services import enqueue, lease_expired_before, request_sync

# A queued job this old with nothing running before it has lost its message (a broker restart).
LOST_AFTER = dt.timedelta(minutes=5)


@shared_task(name="sync.run_job", bind=True, max_retries=None, acks_late=True)
def run_job(self, job_id: int) -> str:
    """Run one SyncJob. A job that must wait (another job of the connection runs, the service
    rate-limits us) is sent back to the broker with a countdown instead of holding a worker."""
    from sync.engine import run_job as run

    outcome = run(job_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="sync.scheduled")
def scheduled(connection_id: int) -> int | None:
    """Beat's entry point: an incremental sync of one connection."""
    job = request_sync(connection_id, trigger=SyncJob.Trigger.SCHEDULE)
    return job.pk if job else None


@shared_task(name="sync.recover_jobs")
def recover_jobs() -> list[int]:
    """Beat's safety net: re-send the jobs whose message may be gone. A job whose worker died
    (its lease ran out) and a queued job nothing runs before are sent again; `claim` makes a
    duplicate message harmless."""
    Status = SyncJob.Status
    running = SyncJob.objects.filter(
        connection_id=OuterRef("connection_id"), status=Status.RUNNING, dry_run=False
    )
    dead = SyncJob.objects.filter(status=Status.RUNNING, heartbeat_at__lt=lease_expired_before())
    lost = SyncJob.objects.filter(
        status=Status.QUEUED, created_at__lt=timezone.now() - LOST_AFTER
    ).exclude(Exists(running))
    ids = sorted({*dead.values_list("pk", flat=True), *lost.values_list("pk", flat=True)})
    for job_id in ids:
        enqueue(job_id)
    return ids
