"""The one backoff formula, as a table."""

import pytest

from dayflow import backoff


@pytest.mark.parametrize(
    ("attempt", "base", "cap", "expected"),
    [
        (1, 30, None, 30),
        (2, 30, None, 60),
        (4, 30, None, 240),
        (0, 30, None, 30),  # an attempt number below 1 waits the base, never less
        (1, 0.5, 30, 0.5),
        (7, 0.5, 30, 30),  # 32 s capped
        (20, 900, 86400, 86400),
    ],
)
def test_exponential(attempt, base, cap, expected):
    assert backoff.exponential(attempt, base=base, cap=cap) == expected


@pytest.mark.parametrize(("draw", "expected"), [(0.0, 5.0), (0.5, 7.5), (1.0, 10.0)])
def test_equal_jitter_keeps_between_half_and_the_whole(draw, expected):
    assert backoff.equal_jitter(lambda: draw)(10.0) == expected


@pytest.mark.parametrize(("draw", "expected"), [(0.0, 5.0), (0.5, 10.0), (1.0, 15.0)])
def test_spread_jitter_keeps_between_half_and_one_and_a_half(draw, expected):
    assert backoff.spread_jitter(lambda: draw)(10.0) == expected


def test_delay_applies_the_jitter_after_the_cap():
    assert backoff.delay(10, base=1, cap=8, jitter=backoff.equal_jitter(lambda: 0.0)) == 4.0
