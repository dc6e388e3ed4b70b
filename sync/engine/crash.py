"""A seam for the crash tests: hooks that may kill the process at an exact point of a run."""

from __future__ import annotations

from collections.abc import Callable

CRASH_HOOKS: dict[str, Callable[[], None]] = {}


def crash_point(name: str) -> None:
    hook = CRASH_HOOKS.get(name)
    if hook is not None:
        hook()
