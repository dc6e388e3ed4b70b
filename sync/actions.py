"""Which actions a sync job allows now, and the typed error of a job action refused.

The one table the job page, the admin and the coming API ask; keyed by status values so the
model can import it (`SyncJob.allowed_actions`), and a test checks that it covers every
`SyncJob.Status`. The transitions themselves stay atomic in `sync.services`: a job whose
status changed between the look and the write still refuses there.
"""

from __future__ import annotations

from typing import Any

from integrations.actions import ActionRefused

PAUSE = "pause"
RESUME = "resume"
CANCEL = "cancel"
CONFIRM = "confirm"
UNDO = "undo"
ACTIONS = (PAUSE, RESUME, CANCEL, CONFIRM, UNDO)

ALLOWED: dict[str, frozenset[str]] = {
    "queued": frozenset({PAUSE, CANCEL}),
    "running": frozenset({PAUSE, CANCEL}),
    "paused": frozenset({RESUME, CANCEL}),
    "needs_confirmation": frozenset({CONFIRM, CANCEL}),
    "succeeded": frozenset({UNDO}),
    "cancelled": frozenset(),
    "failed": frozenset(),
}


class JobActionRefused(ActionRefused):
    """A job action its status does not allow (or no longer allows: a lost race)."""


def job_actions(status: str, *, dry_run: bool) -> frozenset[str]:
    allowed = ALLOWED.get(status, frozenset())
    # A preview wrote nothing, so there is nothing to undo.
    return allowed - {UNDO} if dry_run else allowed


def require(job: Any, action: str) -> None:
    """Raise JobActionRefused unless the job allows `action` now."""
    if action not in job_actions(job.status, dry_run=job.dry_run):
        raise JobActionRefused(action, f"Job {job.pk} cannot {action} now")
