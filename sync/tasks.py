"""Celery tasks of the sync app. They take ids, re-fetch, and return quietly if the row is gone."""

from __future__ import annotations

import dataclasses

from celery import shared_task

from sync import engine, jobs, schedule
from sync.models import SyncJob
from sync.services import request_sync


@shared_task(name=jobs.RUN_JOB, bind=True, max_retries=None, acks_late=True)
def run_job(self, job_id: int) -> str:
    """Run one SyncJob. A job that must wait (another job of the connection runs, the service
    rate-limits us) is sent back to the broker with a countdown instead of holding a worker."""
    outcome = engine.run_job(job_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(name=schedule.TASK)
def scheduled(connection_id: int) -> int | None:
    """An incremental sync of one connection, sent by `dispatch_due` when it is due."""
    job = request_sync(connection_id, trigger=SyncJob.Trigger.SCHEDULE)
    return job.pk if job else None


@shared_task(name=schedule.DISPATCH_TASK)
def dispatch_due() -> dict[str, int]:
    """Beat's "sync-dispatch-due" entry (every 30 s): queue the due connections' syncs."""
    return dataclasses.asdict(schedule.dispatch_due())


@shared_task(name="sync.recover_jobs")
def recover_jobs() -> list[int]:
    """Beat's safety net: re-send the jobs whose message may be gone (`jobs.resend_lost`)."""
    return jobs.resend_lost()
