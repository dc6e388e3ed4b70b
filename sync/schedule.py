"""Beat schedules, one PeriodicTask per connection, kept in step with its settings."""

from __future__ import annotations

import json

from django_celery_beat.models import IntervalSchedule, PeriodicTask

from integrations.models import UserIntegration

TASK = "sync.scheduled"


def task_name(connection_id: int) -> str:
    return f"sync connection {connection_id}"


def update_schedule(connection: UserIntegration) -> PeriodicTask | None:
    """Create or retime the connection's incremental sync schedule, or remove it when the
    connection is not scheduled (paused, needing reauth, manual, auto_sync off, disconnected).
    """
    if not connection.is_scheduled:
        remove_schedule(connection.pk)
        return None
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=connection.sync_interval, period=IntervalSchedule.MINUTES
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=task_name(connection.pk),
        defaults={
            "task": TASK,
            "interval": interval,
            "args": json.dumps([connection.pk]),
            "queue": "sync",
            "enabled": True,
        },
    )
    return task


def remove_schedule(connection_id: int) -> None:
    PeriodicTask.objects.filter(name=task_name(connection_id)).delete()


def reconcile_schedules(**kwargs) -> None:
    """Bring every connection's schedule in step (after migrations, e.g. on deploy)."""
    scheduled = set()
    for connection in UserIntegration.objects.select_related("service"):
        if update_schedule(connection) is not None:
            scheduled.add(task_name(connection.pk))
    stale = PeriodicTask.objects.filter(task=TASK).exclude(name__in=scheduled)
    stale.delete()
    every_five, _ = IntervalSchedule.objects.get_or_create(every=5, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.update_or_create(
        name="sync recover jobs",
        defaults={"task": "sync.recover_jobs", "interval": every_five, "queue": "sync"},
    )
