"""Beat schedules, one PeriodicTask per connection, kept in step with its settings."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from integrations.models import MAX_SYNC_INTERVAL, Connection, sync_interval_problem
from integrations.tokens import set_status

logger = logging.getLogger(__name__)

TASK = "sync.scheduled"


def task_name(connection_id: int) -> str:
    return f"sync connection {connection_id}"


def update_schedule(connection: Connection) -> PeriodicTask | None:
    """Create or retime the connection's incremental sync schedule, or remove it when the
    connection is not scheduled (paused, needing reauth, manual, auto_sync off, disconnected,
    or needing setup: no scheduled job runs, nor fails, before the user picked a container).

    An unchanged schedule is not saved again: until beat has run a task once, it counts the
    wait from the row's `date_changed`, so every save (any settings save, even a bookkeeping
    one) restarted the wait for the next sync.
    """
    if not connection.is_scheduled:
        remove_schedule(connection.pk)
        return None
    every = connection.sync_interval
    if _too_long(every):
        # Beat builds timedelta(minutes=every): an absurd interval raises OverflowError there
        # and stops beat, so such a connection is not scheduled at all.
        _refuse(connection, sync_interval_problem(every))
        return None
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=max(every, settings.DAYFLOW_MIN_SYNC_INTERVAL), period=IntervalSchedule.MINUTES
    )
    wanted = {
        "task": TASK,
        "interval": interval,
        "args": json.dumps([connection.pk]),
        "queue": "sync",
        "enabled": True,
    }
    task = PeriodicTask.objects.filter(name=task_name(connection.pk)).first()
    if task is None:
        return PeriodicTask.objects.create(name=task_name(connection.pk), **wanted)
    changed = [name for name, value in wanted.items() if getattr(task, name) != value]
    if changed:
        for name in changed:
            setattr(task, name, wanted[name])
        task.save()
    return task


def _too_long(every: object) -> bool:
    """Not a schedule beat can hold; a short one (a row older than the minimum) is clamped."""
    return not isinstance(every, int) or every > MAX_SYNC_INTERVAL


def _refuse(connection: Connection, problem: str) -> None:
    logger.error(
        "sync: connection %s not scheduled: sync interval %r %s",
        connection.pk,
        connection.sync_interval,
        problem,
    )
    remove_schedule(connection.pk)
    error = f"Not synced on a schedule: the sync interval {problem}."
    set_status(connection, Connection.Status.ERROR, last_error=error)


def remove_schedule(connection_id: int) -> None:
    PeriodicTask.objects.filter(name=task_name(connection_id)).delete()


def reconcile_schedules(**kwargs) -> None:
    """Bring every connection's schedule in step (after migrations, e.g. on deploy)."""
    scheduled = set()
    for connection in Connection.objects.select_related("service"):
        if update_schedule(connection) is not None:
            scheduled.add(task_name(connection.pk))
    stale = PeriodicTask.objects.filter(task=TASK).exclude(name__in=scheduled)
    stale.delete()
    every_five, _ = IntervalSchedule.objects.get_or_create(every=5, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.update_or_create(
        name="sync recover jobs",
        defaults={"task": "sync.recover_jobs", "interval": every_five, "queue": "sync"},
    )
