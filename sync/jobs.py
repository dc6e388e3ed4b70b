"""The job state machine, in one place: every move of a `SyncJob` from one status to another.

    queued ──claim──▶ running ──finish──▶ succeeded | failed | cancelled | needs_confirmation
      ▲  │                │ └─stop at a checkpoint──▶ paused ──resume──▶ queued
      │  └─pause─▶ paused  └─requeue (rate limit, transient error: `retry`)──▶ queued
      └──────────── confirm ◀── needs_confirmation;  cancel from any waiting status

Every move is a compare-and-set on the status (an UPDATE ... WHERE status = old), so two
processes racing for one job cannot both win; the database's partial unique constraints (one
running, one queued non-dry-run job per connection) settle the rest. Jobs go to Celery by task
name (`sync.run_job`), once the caller's transaction commits: nothing here imports the tasks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from audit.writer import record
from dayflow import backoff
from dayflow.celery import app as celery_app
from integrations.models import Connection
from sync import conf, schedule
from sync.models import SyncJob

Status = SyncJob.Status
RUN_JOB = "sync.run_job"
# A queued job this old with nothing running before it has lost its message (a broker restart).
LOST_AFTER = dt.timedelta(minutes=5)
TRANSIENT_BACKOFF_BASE = 30  # seconds before the first retry of a transient error
WAITING = (Status.QUEUED, Status.PAUSED, Status.NEEDS_CONFIRMATION)
AUDITED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.NEEDS_CONFIRMATION)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """Where a job stands after a worker's turn, and how long the task waits to retry."""

    status: str
    retry_in: float | None = None


# --- sending ------------------------------------------------------------------------------------
def enqueue(job_id: int, *, countdown: float | None = None) -> None:
    """Send `sync.run_job` once the current transaction commits (tasks take ids)."""
    transaction.on_commit(lambda: _send(job_id, countdown))


def _send(job_id: int, countdown: float | None) -> None:
    # By name: a process that has the task registered applies it (eagerly in tests), any other
    # publishes it to the broker with the task's route.
    celery_app.signature(RUN_JOB, args=(job_id,), countdown=countdown).apply_async()


def enqueue_trailing(connection_id: int, job_id: int) -> None:
    """The job queued behind one that just ran (requests made while it ran) goes next."""
    trailing = (
        SyncJob.objects.filter(connection_id=connection_id, status=Status.QUEUED, dry_run=False)
        .exclude(pk=job_id)
        .values_list("pk", flat=True)
        .first()
    )
    if trailing:
        enqueue(trailing)


def resend_lost() -> list[int]:
    """Send again the jobs whose message may be gone: a running job whose lease ran out, and a
    queued job nothing runs before. `claim` makes a duplicate message harmless."""
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


# --- → queued -----------------------------------------------------------------------------------
def queue(connection: Connection, *, kind: str, trigger: str) -> tuple[SyncJob | None, bool]:
    """The connection's waiting job (upgraded to a full sync if `kind` asks for one), or a new
    queued job: (job, created). None when races kept both from happening five times over."""
    for _attempt in range(5):
        waiting = waiting_job(connection.pk)
        if waiting is not None:
            return _join(waiting, kind), False
        try:
            with transaction.atomic():
                job = SyncJob.objects.create(connection=connection, kind=kind, trigger=trigger)
        except IntegrityError:
            continue  # someone queued one between our look and our insert: join it
        return job, True
    return waiting_job(connection.pk), False


def queue_preview(connection: Connection, *, trigger: str) -> SyncJob:
    """A dry run: the one-queued-job constraint leaves previews out, so it never joins."""
    return SyncJob.objects.create(
        connection=connection, kind=SyncJob.Kind.FULL, trigger=trigger, dry_run=True
    )


def waiting_job(connection_id: int) -> SyncJob | None:
    return SyncJob.objects.filter(
        connection_id=connection_id, status=Status.QUEUED, dry_run=False
    ).first()


def waiting_preview(connection_id: int) -> SyncJob | None:
    return SyncJob.objects.filter(
        connection_id=connection_id, status=Status.QUEUED, dry_run=True
    ).first()


def _join(job: SyncJob, kind: str) -> SyncJob:
    if kind == SyncJob.Kind.FULL and job.kind != SyncJob.Kind.FULL:
        SyncJob.objects.filter(pk=job.pk).update(kind=SyncJob.Kind.FULL)
        job.kind = SyncJob.Kind.FULL
    return job


# --- queued → running ---------------------------------------------------------------------------
def claim(job_id: int) -> SyncJob | Outcome:
    """Take a queued job (or one whose worker died: its lease ran out) for this worker."""
    job = SyncJob.objects.select_related("connection__service").filter(pk=job_id).first()
    if job is None or job.status not in (Status.QUEUED, Status.RUNNING):
        return Outcome(job.status if job else "gone")
    if not job.connection.is_active:
        finish(job, Status.CANCELLED, error=f"connection is {job.connection.status}")
        return Outcome(Status.CANCELLED)
    now = timezone.now()
    claimable = Q(status=Status.QUEUED) | Q(
        status=Status.RUNNING, heartbeat_at__lt=lease_expired_before()
    )
    try:
        with transaction.atomic():
            # A job whose worker died blocks the connection until its lease runs out.
            SyncJob.objects.filter(stale_running(job.connection_id)).exclude(pk=job.pk).update(
                status=Status.FAILED, error="worker lost", finished_at=now
            )
            taken = (
                SyncJob.objects.filter(pk=job.pk)
                .filter(claimable)
                .update(status=Status.RUNNING, heartbeat_at=now, started_at=job.started_at or now)
            )
    except IntegrityError:
        taken = 0
    if not taken:
        return Outcome("busy", retry_in=float(conf.get("DAYFLOW_SYNC_BUSY_RETRY")))
    job.refresh_from_db()
    return job


def lease_expired_before() -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=int(conf.get("DAYFLOW_SYNC_JOB_LEASE")))


def stale_running(connection_id: int) -> Q:
    return Q(connection_id=connection_id, status=Status.RUNNING) & (
        Q(heartbeat_at__lt=lease_expired_before()) | Q(heartbeat_at__isnull=True)
    )


# --- running → a final status, paused, or queued again ------------------------------------------
def finish(job: SyncJob, status: str, *, error: str = "", final: bool = True) -> None:
    """Record where the job stopped (`final=False`: paused, it may go on later)."""
    now = timezone.now()
    SyncJob.objects.filter(pk=job.pk).update(
        status=status, error=error[:2000], control="", finished_at=now if final else None
    )
    job.refresh_from_db()
    if status in AUDITED:
        record(
            f"sync.job.{status}",
            connection=job.connection,
            resource=f"sync job {job.pk}",
            details={"kind": job.kind, "counters": job.counters(), "error": error[:500]},
            success=status != Status.FAILED,
        )
    if final and not job.dry_run:  # however it ended: the next scheduled sync is a step away
        # the interval of the connection the audit record just read, else one more read
        known = job.connection.sync_interval if SyncJob.connection.is_cached(job) else None
        schedule.sync_finished(job.connection_id, now, minutes=known)


def requeue(job: SyncJob, wait: float, reason: str) -> Outcome:
    """Back in the queue, for the task to retry after `wait` seconds."""
    try:
        with transaction.atomic():
            SyncJob.objects.filter(pk=job.pk).update(status=Status.QUEUED, error=reason[:2000])
    except IntegrityError:
        # A trailing job is already queued: it will do this job's remaining work.
        finish(job, Status.CANCELLED, error=f"{reason}; superseded by the queued job")
        return Outcome(Status.CANCELLED)
    return Outcome(Status.QUEUED, retry_in=max(float(wait), 1.0))


def retry(job: SyncJob, reason: str) -> Outcome:
    """A transient error: requeue with backoff, or fail after DAYFLOW_SYNC_MAX_ATTEMPTS."""
    attempts = int(job.report.get("attempts", 0)) + 1
    if attempts > int(conf.get("DAYFLOW_SYNC_MAX_ATTEMPTS")):
        finish(job, Status.FAILED, error=f"gave up after {attempts - 1} retries: {reason}")
        return Outcome(Status.FAILED)
    SyncJob.objects.filter(pk=job.pk).update(report={**job.report, "attempts": attempts})
    wait = backoff.exponential(attempts, base=TRANSIENT_BACKOFF_BASE)
    return requeue(job, wait, f"transient: {reason}")


# --- the user's controls ------------------------------------------------------------------------
def pause_job(job_id: int) -> bool:
    """Ask a job to stop at its next checkpoint and wait; a queued job pauses at once."""
    if _move(job_id, Status.QUEUED, Status.PAUSED):
        return True
    return _ask(job_id, SyncJob.Control.PAUSE)


def resume_job(job_id: int) -> bool:
    """Put a paused job back in the queue."""
    return _move(job_id, Status.PAUSED, Status.QUEUED, enqueue_it=True)


def cancel_job(job_id: int) -> bool:
    """Cancel a job: at once when it waits, at its next checkpoint when it runs."""
    for waiting in WAITING:
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


def stop_jobs(connection_id: int) -> None:
    """Waiting jobs are cancelled now; a running one stops at its next checkpoint."""
    jobs = SyncJob.objects.filter(connection_id=connection_id)
    jobs.filter(status__in=WAITING).update(status=Status.CANCELLED, finished_at=timezone.now())
    jobs.filter(status=Status.RUNNING).update(control=SyncJob.Control.CANCEL)


def _move(job_id: int, old: str, new: str, *, enqueue_it: bool = False) -> bool:
    try:
        with transaction.atomic():
            moved = SyncJob.objects.filter(pk=job_id, status=old).update(
                status=new, control="", **_finish_fields(new)
            )
    except IntegrityError:
        # Queued again while another job already waits: that job will do the same work.
        SyncJob.objects.filter(pk=job_id, status=old).update(
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
