"""Beat's scheduler: django-celery-beat's database scheduler, plus beat's own heartbeat."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django_celery_beat.schedulers import DatabaseScheduler

from dayflow.models import Heartbeat
from dayflow.tasks import HEARTBEAT_TASK

logger = logging.getLogger(__name__)


class Scheduler(DatabaseScheduler):
    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        result = super().apply_async(entry, producer, advance, **kwargs)
        # Noted here, in beat's own process, so a dead worker cannot make beat look dead too.
        if entry.task == HEARTBEAT_TASK:
            note_beat_alive()
        return result


def note_beat_alive() -> None:
    try:
        Heartbeat.record(Heartbeat.BEAT)
    except DatabaseError:
        logger.warning("beat sent the heartbeat task but could not record its own heartbeat")
