"""The fixed-window decision every throttle shares (dayflow/limits.py), each limit's default in
one place with settings overriding it, and the cap on audit rows of failed sign-ins."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from audit import capped
from audit.models import AuditEvent
from dayflow import limits

START = 600 * 3_000_000  # a window start for 600 s windows


@pytest.mark.parametrize(
    ("count", "limit", "now", "allowed", "retry_after"),
    [
        (1, 5, START, True, 600),
        (5, 5, START + 1, True, 599),
        (6, 5, START + 1, False, 599),
        (6, 5, START + 599.5, False, 1),  # never 0: the client waits at least a second
        (1, 0, START, False, 600),  # a limit of 0 refuses everything
    ],
)
def test_the_decision(count, limit, now, allowed, retry_after):
    verdict = limits.decide(count, limit, now, 600)
    assert (verdict.allowed, verdict.retry_after) == (allowed, retry_after)


@pytest.mark.django_db
def test_hit_counts_per_client_and_window_and_peek_does_not():
    assert limits.peek("x", "a", 2, 600, now=START).allowed
    assert [limits.hit("x", "a", 2, 600, now=START + n).allowed for n in range(3)] == [
        True,
        True,
        False,
    ]
    assert not limits.peek("x", "a", 2, 600, now=START + 5).allowed
    assert limits.hit("x", "b", 2, 600, now=START + 5).allowed  # another client
    assert limits.hit("y", "a", 2, 600, now=START + 5).allowed  # another limit
    assert limits.hit("x", "a", 2, 600, now=START + 600).allowed  # the next window


def test_every_limit_has_a_default_and_a_setting_overrides_it(settings):
    assert all(isinstance(value, int) and value > 0 for value in limits.DEFAULTS.values())
    assert (
        limits.get("DAYFLOW_LOGIN_FAILURES_PER_IP")
        == limits.DEFAULTS["DAYFLOW_LOGIN_FAILURES_PER_IP"]
    )
    settings.DAYFLOW_LOGIN_FAILURES_PER_IP = 7
    assert limits.get("DAYFLOW_LOGIN_FAILURES_PER_IP") == 7


@pytest.mark.django_db
def test_failed_sign_ins_write_capped_audit_rows_and_a_count_row(client, settings):
    settings.DAYFLOW_AUDIT_REJECTIONS_PER_CLIENT = 10
    settings.DAYFLOW_AUDIT_REJECTIONS_WINDOW_SECONDS = 600
    settings.DAYFLOW_LOGIN_FAILURES_PER_USERNAME = 1000
    settings.DAYFLOW_LOGIN_FAILURES_PER_IP = 1000
    now = dt.datetime.fromtimestamp(START + 10, tz=dt.UTC)
    with time_machine.travel(now, tick=False):
        for n in range(40):
            client.post(
                "/accounts/login/",
                {"username": f"user{n}", "password": "Winter2026!"},
                REMOTE_ADDR="203.0.113.5",
            )
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 10

    with time_machine.travel(now + dt.timedelta(seconds=600), tick=False):
        capped.flush()
    [count] = AuditEvent.objects.filter(action=capped.DROPPED)
    assert (count.details["action"], count.details["dropped"]) == ("auth.login_failed", 30)
    assert count.ip_address == "203.0.113.5"
