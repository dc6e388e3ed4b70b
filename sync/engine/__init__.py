"""The sync engine: one connection's two-way sync, run as a `SyncJob`.

`run_job(job_id)` is the entry point (called by the `sync.run_job` task). A run is a plan and
its application, in phases that hand each other values (`phases.py`):

1. pull every remote page since the stored cursor (`pull.py`: a full listing without one, or
   when the service says the cursor expired: deletions are then found by difference);
2. collect the local changes since the last complete sync and pair them with the pulled items
   and their links (`plan.py`);
3. decide every pair with `sync.decisions.decide` (pure);
4. the mass-deletion guard, or a dry run's report, stop here without changing anything;
5. apply in batches: remote writes one by one, each followed by its link in a small
   transaction (`remote.py`), local writes in bulk (`local.py`); between batches, a checkpoint
   (`run.py`) honours pause and cancel and saves the progress counters.

Where the job goes afterwards (succeeded, failed, requeued, paused…) is `sync.jobs`; how the
engine reaches the service is `providers.py`.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from audit.writer import record
from integrations.models import Connection
from integrations.providers.base import Provider
from integrations.providers.errors import (
    AuthExpired,
    Permanent,
    ProviderError,
    RateLimited,
    Transient,
)
from integrations.tokens import mark_needs_reauth, set_status
from sync import jobs, links
from sync.engine import phases
from sync.engine.providers import provider_for
from sync.engine.run import Run, Stop, save_progress
from sync.models import SyncJob

log = logging.getLogger(__name__)

Status = SyncJob.Status


def run_job(job_id: int) -> jobs.Outcome:
    """Claim and run one job. Returns its final status, or a wait for the task to retry after.

    The provider comes from `providers.factory()` (the connection's own unless one was
    installed).
    """
    job = jobs.claim(job_id)
    if isinstance(job, jobs.Outcome):
        return job
    connection = job.connection
    record(
        "sync.job.started",
        connection=connection,
        resource=f"sync job {job.pk}",
        details={"kind": job.kind, "trigger": job.trigger, "dry_run": job.dry_run},
    )
    outcome = run_claimed(job, provider_for(connection))
    jobs.enqueue_trailing(connection.pk, job.pk)
    return outcome


def run_claimed(job: SyncJob, provider: Provider) -> jobs.Outcome:
    """Run a job this worker claimed, and move it to where the run ended."""
    run = Run.start(job, provider)
    try:
        phases.sync(run)
    except Stop as stop:
        save_progress(run)
        jobs.finish(job, stop.status, final=stop.status != Status.PAUSED)
        return jobs.Outcome(stop.status)
    except RateLimited as error:
        save_progress(run)
        # Counted per hour by the monitoring (security.evaluate.check_usage).
        record(
            "sync.job.rate_limited",
            connection=job.connection,
            resource=f"sync job {job.pk}",
            details={"retry_after": round(float(error.retry_after or 0), 1)},
            success=False,
        )
        return jobs.requeue(job, error.retry_after, f"rate limited: {error}")
    except Transient as error:
        save_progress(run)
        _note_error(job.connection_id, str(error))
        return jobs.retry(job, str(error))
    except AuthExpired as error:
        save_progress(run)
        _needs_reauth(job.connection, error)
        jobs.finish(job, Status.FAILED, error=str(error))
        return jobs.Outcome(Status.FAILED)
    except Exception as error:
        log.exception("sync job %s failed", job.pk)
        save_progress(run)
        jobs.finish(job, Status.FAILED, error=f"{type(error).__name__}: {error}")
        if isinstance(error, Permanent):  # the next run would fail the same way
            _stop_on_error(job.connection, str(error))
        elif isinstance(error, ProviderError):  # the service's answer, worded by the provider
            _note_error(job.connection_id, str(error))
        return jobs.Outcome(Status.FAILED)
    notes = getattr(provider, "notes", None)
    if notes:
        run.note_report(notes=list(notes))
    run.phase = SyncJob.Phase.DONE
    save_progress(run)
    jobs.finish(job, Status.SUCCEEDED)
    if not job.dry_run:
        now = timezone.now()
        Connection.objects.filter(pk=job.connection_id).update(last_sync_at=now, last_error="")
        links.first_synced(run.settings.links, at=now)
    return jobs.Outcome(Status.SUCCEEDED)


def _note_error(connection_id: int, error: str) -> None:
    """What stopped the last sync, on the connection's row (its page shows it)."""
    Connection.objects.filter(pk=connection_id).update(last_error=error[:2000])


def _stop_on_error(connection: Connection, error: str) -> None:
    """No retry can fix it (settings the service refuses, an address that is not one): the
    connection stops syncing, its page shows why, and saving its settings starts it again."""
    connection.refresh_from_db(fields=["status"])  # paused or disconnected meanwhile: stays so
    if connection.status == Connection.Status.CONNECTED:
        set_status(connection, Connection.Status.ERROR, last_error=error[:2000])


def _needs_reauth(connection: Connection, error: AuthExpired) -> None:
    connection.refresh_from_db(fields=["status"])  # the token refresh may have flipped it already
    mark_needs_reauth(connection, str(error)[:2000])
