"""`manage.py security_evaluate`: the monitoring rules run now, over the audit events written
since the last run, as the beat runs them."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.core.management import call_command

from audit.models import AuditEvent
from security.models import SecurityAlert

pytestmark = pytest.mark.django_db


def evaluate() -> str:
    out = io.StringIO()
    call_command("security_evaluate", stdout=out)
    return out.getvalue()


def test_the_rules_run_now_and_open_one_alert_for_a_burst(
    settings, django_capture_on_commit_callbacks
):
    for _ in range(6):  # forged deliveries from one IP, as the webhook views write them
        AuditEvent.objects.create(
            action="webhook.rejected",
            success=False,
            ip_address="203.0.113.9",
            details={"status": 401, "service": "clickup"},
        )

    with django_capture_on_commit_callbacks(execute=True):
        printed = evaluate()

    assert printed == (
        "security rules: 1 alert(s) opened from the audit events, 0 from the usage check\n"
    )
    assert SecurityAlert.objects.count() == 1
    assert len(mail.outbox) == 1  # staff told once, as from the beat
    assert evaluate() == (
        "security rules: 0 alert(s) opened from the audit events, 0 from the usage check\n"
    )
