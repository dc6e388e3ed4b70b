"""Beat schedules, one PeriodicTask per connection, kept in step with its settings."""

from __future__ import annotations

import json

from django_celery_beat.models import IntervalSchedule, PeriodicTask

from integrations.models import UserIntegration

TASK = "sync.scheduled"


def task_name(connection_id: int) -> str:
    return f"sync connection {connection_id}"


def update_schedule(connection: UserIntegration) -> PeriodicTask | None:
    """Create, retime, enable or disable the connection's incremental sync schedule.

    Connections that are not scheduled (paused, needing reauth, manual, auto_sync off) keep no
    enabled task; a connection that never had one gets none.
    """
    existing = PeriodicTask.objects.filter(name=task_name(connection.pk)).first()
    if not connection.is_scheduled:
        if existing is not None and existing.enabled:
            existing.enabled = False
            existing.save(update_fields=["enabled"])
        return existing
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
