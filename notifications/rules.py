"""When to raise a notice: pure decisions over plain data, each with a table test
(tests/notifications/test_rules.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

FAILURES_IN_A_ROW = 3
CONFLICT_BATCH = dt.timedelta(hours=1)
LOGIN_FAILURES = 5
LOGIN_WINDOW = dt.timedelta(minutes=15)


def repeated_failures(statuses_newest_first: Sequence[str]) -> bool:
    """The last finished jobs of a connection, newest first: raise exactly when the streak of
    failures reaches FAILURES_IN_A_ROW, so one streak raises once however long it runs."""
    streak = 0
    for status in statuses_newest_first:
        if status != "failed":
            break
        streak += 1
    return streak == FAILURES_IN_A_ROW


def conflict_notice(last_notice_at: dt.datetime | None, now: dt.datetime) -> str:
    """ "new": raise a notice; "add": count the conflict in the notice raised within the hour."""
    if last_notice_at is None or now - last_notice_at >= CONFLICT_BATCH:
        return "new"
    return "add"


def failed_logins_alert(failures_in_window: int, alerted_in_window: bool) -> bool:
    """LOGIN_FAILURES failed logins within LOGIN_WINDOW raise one alert per window."""
    return failures_in_window >= LOGIN_FAILURES and not alerted_in_window


def counted(number: int, noun: str) -> str:
    return f"{number} {noun if number == 1 else noun + 's'}"
