"""Beat's scheduler: django-celery-beat's database scheduler, plus beat's own heartbeat, made to
survive a schedule row it cannot turn into a timedelta.

django-celery-beat builds each interval row's schedule as `timedelta(**{period: every})`;
`every` is an unbounded integer, so one absurd row raises OverflowError (or, a little below
timedelta's limit, overflows the datetime arithmetic of every tick). Its scheduler skips only
ValueError, so beat died and run.py stopped every process with it. Here such a row is
disabled and logged, and beat keeps the other schedules.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import schedules
from django.db import DatabaseError
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

from dayflow.models import Heartbeat
from dayflow.tasks import HEARTBEAT_TASK

logger = logging.getLogger(__name__)

# Far above any schedule we write (a connection syncs at least weekly), far below overflow.
LONGEST_INTERVAL = dt.timedelta(days=366)


class SafeModelEntry(ModelEntry):
    def __init__(self, model, app=None) -> None:
        try:
            super().__init__(model, app=app)
            _check_interval(self.schedule)
        except (OverflowError, ValueError) as exc:
            logger.error("beat: schedule %r disabled: %s", model.name, exc)
            self._disable(model)
            raise ValueError(f"schedule {model.name!r} disabled") from exc


def _check_interval(schedule: object) -> None:
    if isinstance(schedule, schedules.schedule) and schedule.run_every > LONGEST_INTERVAL:
        raise ValueError(f"interval {schedule.run_every} is longer than {LONGEST_INTERVAL}")


class Scheduler(DatabaseScheduler):
    Entry = SafeModelEntry

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
