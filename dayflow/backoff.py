"""The one backoff formula: how long to wait before the next try, everywhere we retry.

Exponential (the first retry waits `base`, each next one twice as long), capped, and spread
with jitter so that many retries started by one outage do not come back together. See
https://aws.amazon.com/builders-library/timeouts-retries-and-backoff-with-jitter/.
"""

from __future__ import annotations

import random
from collections.abc import Callable

Jitter = Callable[[float], float]


def exponential(attempt: int, *, base: float, cap: float | None = None) -> float:
    """Seconds before retry number `attempt` (1-based): base, 2·base, 4·base, … up to `cap`."""
    delay = base * 2 ** max(attempt - 1, 0)
    return delay if cap is None else min(cap, delay)


def equal_jitter(rng: Callable[[], float] = random.random) -> Jitter:
    """Between half the delay and the whole of it: spread out, never zero."""
    return lambda delay: delay / 2 + rng() * delay / 2


def spread_jitter(rng: Callable[[], float] = random.random) -> Jitter:
    """Between half and one and a half times the delay: the same mean, spread both ways."""
    return lambda delay: delay * (0.5 + rng())


def delay(
    attempt: int, *, base: float, cap: float | None = None, jitter: Jitter | None = None
) -> float:
    """`exponential`, then `jitter` applied to it when one is given."""
    wait = exponential(attempt, base=base, cap=cap)
    return jitter(wait) if jitter else wait
