"""The sync app's settings, each with a default (override in dayflow/settings.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # A run that would delete more than this share of a connection's linked items (and at
    # least DAYFLOW_SYNC_MASS_DELETE_MIN of them) waits for the user's confirmation.
    "DAYFLOW_SYNC_MASS_DELETE_SHARE": 0.5,
    "DAYFLOW_SYNC_MASS_DELETE_MIN": 3,
    # Items per batch: a checkpoint (progress, lease, pause/cancel) runs between batches.
    "DAYFLOW_SYNC_BATCH": 200,
    # Seconds after its last checkpoint before a running job counts as its worker's loss.
    "DAYFLOW_SYNC_JOB_LEASE": 300,
    # Seconds a job waits before it asks again while another job of its connection runs.
    "DAYFLOW_SYNC_BUSY_RETRY": 15,
    # Transient errors a job retries (dayflow.backoff, from 30 s) before it fails.
    "DAYFLOW_SYNC_MAX_ATTEMPTS": 5,
    # Local changes are looked for from the last complete sync's start minus this many
    # seconds: another process's clock (or commit) may lag behind the worker's.
    "DAYFLOW_SYNC_CLOCK_SKEW": 2,
    # Seconds a sync waits after a person's change to a DayFlow item before it runs, so that a
    # burst of edits costs one job (later edits join the job waiting). None: a change waits for
    # the next scheduled sync instead.
    "DAYFLOW_SYNC_LOCAL_DELAY": 1.0,
}


def get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])
