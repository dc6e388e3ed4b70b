"""The sync app's entry points for everyone else: ask for a sync, control a job, undo it.

`request_sync` is the one way webhooks, beat, pages, the API, the admin and manage.py ask for a
sync. Jobs are rows first and Celery messages second: the database's constraints (one running
and one queued job per connection) make concurrent requests join instead of piling up.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import UserIntegration
from sync.models import SyncJob

log = logging.getLogger(__name__)

Status = SyncJob.Status
AUTOMATIC = (SyncJob.Trigger.SCHEDULE, SyncJob.Trigger.WEBHOOK)


def request_sync(
    connection_id: int, *, trigger: str, kind: str = SyncJob.Kind.INCREMENTAL
) -> SyncJob | None:
    """Queue a sync of a connection, or join the one already waiting.

    Returns None for connections that must not sync (paused, disconnected, needs reauth, gone),
    and for schedule or webhook triggers of a manual-only connection.
    A request while a job runs queues exactly one trailing job behind it; further requests join
    that trailing job. The Celery task is sent once the caller's transaction commits.
    """
    connection = UserIntegration.objects.filter(pk=connection_id).first()
    if connection is None or not connection.is_active:
        return None
    if trigger in AUTOMATIC and connection.sync_direction == UserIntegration.SyncDirection.MANUAL:
        return None  # a manual connection syncs only when someone asks
    for _attempt in range(5):
        waiting = _waiting_job(connection_id)
        if waiting is not None:
            return _join(waiting, kind)
        try:
            with transaction.atomic():
                job = SyncJob.objects.create(connection=connection, kind=kind, trigger=trigger)
        except IntegrityError:
            continue  # someone queued one between our look and our insert: join it
        enqueue(job.pk)
        return job
    return _waiting_job(connection_id)


def preview_sync(connection_id: int, *, trigger: str = SyncJob.Trigger.USER) -> SyncJob | None:
    """Queue a dry run: what a full sync would create, update and delete on each side."""
    connection = UserIntegration.objects.filter(pk=connection_id).first()
    if connection is None or not connection.is_active:
        return None
    job = SyncJob.objects.create(
        connection=connection, kind=SyncJob.Kind.FULL, trigger=trigger, dry_run=True
    )
    enqueue(job.pk)
    return job


def enqueue(job_id: int, *, countdown: float | None = None) -> None:
    """Send `sync.run_job` once the current transaction commits (tasks take ids)."""
    from sync.tasks import run_job

    transaction.on_commit(lambda: run_job.apply_async((job_id,), countdown=countdown))


def pause_job(job_id: int) -> bool:
    """Ask a job to stop at its next checkpoint and wait; a queued job pauses at once."""
    if _move(job_id, Status.QUEUED, Status.PAUSED):
        return True
    return _ask(job_id, SyncJob.Control.PAUSE)


def resume_job(job_id: int) -> bool:
    """Put a paused (or confirmation-waiting) job back in the queue."""
    if _move(job_id, Status.PAUSED, Status.QUEUED):
        enqueue(job_id)
        return True
    return False


def cancel_job(job_id: int) -> bool:
    """Cancel a job: at once when it waits, at its next checkpoint when it runs."""
    for waiting in (Status.QUEUED, Status.PAUSED, Status.NEEDS_CONFIRMATION):
        if _move(job_id, waiting, Status.CANCELLED):
            return True
    return _ask(job_id, SyncJob.Control.CANCEL)


def confirm_job(job_id: int) -> bool:
    """The user confirmed the mass deletion a job paused for: run it, deletions included."""
    updated = SyncJob.objects.filter(pk=job_id, status=Status.NEEDS_CONFIRMATION).update(
        confirmed=True
    )
    return bool(updated) and _move(
        job_id, Status.NEEDS_CONFIRMATION, Status.QUEUED, enqueue_it=True
    )


def _waiting_job(connection_id: int) -> SyncJob | None:
    return SyncJob.objects.filter(
        connection_id=connection_id, status=Status.QUEUED, dry_run=False
    ).first()


def _join(job: SyncJob, kind: str) -> SyncJob:
    if kind == SyncJob.Kind.FULL and job.kind != SyncJob.Kind.FULL:
        SyncJob.objects.filter(pk=job.pk).update(kind=SyncJob.Kind.FULL)
        job.kind = SyncJob.Kind.FULL
    return job


def _move(job_id: int, old: str, new: str, *, enqueue_it: bool = False) -> bool:
    try:
        with transaction.atomic():
            moved = SyncJob.objects.filter(pk=job_id, status=old).update(
                status=new, control="", **_finish_fields(new)
            )
    except IntegrityError:
        # Queued again while another job already waits: that job will do the same work.
        moved = SyncJob.objects.filter(pk=job_id, status=old).update(
            status=Status.CANCELLED, error="superseded by a queued job", finished_at=timezone.now()
        )
        return False
    if moved and enqueue_it:
        enqueue(job_id)
    return bool(moved)


def _finish_fields(status: str) -> dict:
    return {"finished_at": timezone.now()} if status == Status.CANCELLED else {}


def _ask(job_id: int, control: str) -> bool:
    return bool(SyncJob.objects.filter(pk=job_id, status=Status.RUNNING).update(control=control))


def lease_expired_before() -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=settings_lease())


def settings_lease() -> int:
    return int(getattr(settings, "DAYFLOW_SYNC_JOB_LEASE", 300))


def stale_running(connection_id: int) -> Q:
    return Q(connection_id=connection_id, status=Status.RUNNING) & (
        Q(heartbeat_at__lt=lease_expired_before()) | Q(heartbeat_at__isnull=True)
    )
