"""Running one sync of a calendar connection in the test's own process."""

from __future__ import annotations

from sync import engine
from sync.models import SyncJob


def run(connection) -> SyncJob:
    """One incremental sync of `connection`; the job as it ended."""
    job = SyncJob.objects.create(connection=connection, kind=SyncJob.Kind.INCREMENTAL)
    engine.run_job(job.pk)
    job.refresh_from_db()
    return job


def run_ok(connection) -> SyncJob:
    """As `run`, for a sync that must succeed."""
    job = run(connection)
    assert job.status == SyncJob.Status.SUCCEEDED, job.error
    return job
