"""The garbage collector, for processes that import much and then run long (or run one sync).

A DayFlow process imports some 1,400 modules (Django and its apps, Celery, the providers):
about 100,000 objects that live as long as the process. Python's cyclic collector walks every
one of them at each full collection: a few times while the process starts, and again as it
exits. That was a third of a process that runs one sync, outside the sync itself
(`benchmarks/sync_engine.py`'s start-up-only process: 0.88 s before, 0.57 s after;
docs/performance.md).

- While the process starts (`starting`, called by `dayflow/__init__.py`, the first of our
  modules any of our processes imports) young collections are rarer: what start-up makes is
  not garbage.
- Once every app is ready (`StartedConfig`, the last of INSTALLED_APPS), what start-up made is
  frozen (`gc.freeze`): no later collection walks it again, the one at exit included, and a
  forked worker child does not write to those pages. The thresholds the process started with
  come back.

A process that imports `dayflow` and never sets Django up keeps the start-up thresholds: the
collector still runs there, less often.
"""

from __future__ import annotations

import gc

from django.apps import AppConfig

# Young collections every 10,000 net allocations instead of 700; the full one never during start-up.
STARTING_THRESHOLD = (10_000, 50, 100)
_usual: tuple[int, int, int] | None = None


def starting() -> None:
    """Collect less while the process imports (once: a second call changes nothing)."""
    global _usual
    if _usual is None:
        _usual = gc.get_threshold()
        gc.set_threshold(*STARTING_THRESHOLD)


def started() -> None:
    """Freeze what start-up made and collect as usual from here on."""
    gc.freeze()
    if _usual is not None:
        gc.set_threshold(*_usual)


class StartedConfig(AppConfig):
    """The last app: its `ready()` runs once every other app's has."""

    name = "dayflow.collector"
    label = "dayflow_started"
    verbose_name = "DayFlow start-up"

    def ready(self) -> None:
        started()
