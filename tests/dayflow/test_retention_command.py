"""`manage.py apply_retention`: runs the policies now (all or one) and prints what each removed;
`--dry-run` prints what each would remove and removes nothing. Time travel, no real dates."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from audit.writer import record
from security.models import SecurityAlert
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def at(days_ago: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days_ago)


@pytest.fixture
def old_rows(service):
    for n, days_ago in enumerate((45, 31, 3)):
        with time_machine.travel(at(days_ago), tick=False):
            Delivery.objects.create(service=service, delivery_id=f"d{n}")
    for days_ago in (500, 400, 5):
        with time_machine.travel(at(days_ago), tick=False):
            record("test.event", resource=f"{days_ago} days ago")
    for days_ago in (370, 2):
        SecurityAlert.objects.create(
            rule="signature_failures",
            severity="high",
            subject_key=f"ip:{days_ago}",
            first_seen=at(days_ago),
            last_seen=at(days_ago),
            acknowledged_at=at(days_ago),
        )


def run(*args: str) -> list[str]:
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("apply_retention", *args, stdout=out)
    return out.getvalue().splitlines()


def test_a_dry_run_counts_and_removes_nothing(old_rows):
    assert run("--dry-run") == [
        "inbox (30 days): 2 rows past the limit (dry run: nothing removed)",
        "journal (90 days): 0 rows past the limit (dry run: nothing removed)",
        "jobs (180 days): 0 rows past the limit (dry run: nothing removed)",
        "audit (365 days): 2 rows past the limit (dry run: nothing removed)",
        "alerts (365 days): 1 rows past the limit (dry run: nothing removed)",
    ]
    assert (Delivery.objects.count(), AuditEvent.objects.count()) == (3, 3)
    assert SecurityAlert.objects.count() == 2


def test_every_policy_runs_now_and_says_what_it_removed(old_rows):
    assert run() == [
        "inbox (30 days): 2 rows removed",
        "journal (90 days): 0 rows removed",
        "jobs (180 days): 0 rows removed",
        "audit (365 days): 2 rows removed",
        "alerts (365 days): 1 rows removed",
    ]
    assert list(Delivery.objects.values_list("delivery_id", flat=True)) == ["d2"]
    assert list(AuditEvent.objects.values_list("resource", flat=True)) == ["5 days ago"]
    assert SecurityAlert.objects.get().subject_key == "ip:2"
    assert run("--dry-run", "--policy", "inbox") == [
        "inbox (30 days): 0 rows past the limit (dry run: nothing removed)"
    ]


def test_one_policy_only(old_rows, settings):
    settings.DAYFLOW_RETENTION_DAYS = {**settings.DAYFLOW_RETENTION_DAYS, "inbox": 40}

    assert run("--policy", "inbox") == ["inbox (40 days): 1 rows removed"]

    assert Delivery.objects.count() == 2
    assert AuditEvent.objects.count() == 3


def test_an_unknown_policy_is_refused(old_rows):
    with pytest.raises(CommandError, match="invalid choice"):
        run("--policy", "everything")

    assert Delivery.objects.count() == 3
