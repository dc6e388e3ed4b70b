"""The rules that decide when a notice is raised, as tables."""

from __future__ import annotations

import datetime as dt

import pytest

from notifications import rules

T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)

REPEATED_FAILURES = [
    # the last finished jobs, newest first → raise?
    ([], False),
    (["failed"], False),
    (["failed", "failed"], False),
    (["failed", "failed", "failed"], True),
    (["failed", "failed", "failed", "succeeded"], True),
    (["failed", "failed", "failed", "failed"], False),  # the same streak raised at its third
    (["failed", "failed", "succeeded", "failed"], False),
    (["succeeded", "failed", "failed", "failed"], False),  # the streak is over
]


@pytest.mark.parametrize(("statuses", "raise_it"), REPEATED_FAILURES)
def test_repeated_failures_raise_once_per_streak_at_the_third(statuses, raise_it):
    assert rules.repeated_failures(statuses) is raise_it


CONFLICT_NOTICES = [
    (None, T0, "new"),
    (T0, T0 + dt.timedelta(minutes=1), "add"),
    (T0, T0 + dt.timedelta(minutes=59, seconds=59), "add"),
    (T0, T0 + dt.timedelta(hours=1), "new"),
    (T0, T0 + dt.timedelta(days=2), "new"),
]


@pytest.mark.parametrize(("last", "now", "decision"), CONFLICT_NOTICES)
def test_conflicts_make_at_most_one_notice_an_hour(last, now, decision):
    assert rules.conflict_notice(last, now) == decision


FAILED_LOGINS = [
    (0, False, False),
    (4, False, False),
    (5, False, True),
    (6, False, True),
    (5, True, False),
    (9, True, False),
]


@pytest.mark.parametrize(("failures", "alerted", "raise_it"), FAILED_LOGINS)
def test_five_failed_logins_in_the_window_raise_one_alert(failures, alerted, raise_it):
    assert rules.failed_logins_alert(failures, alerted) is raise_it
