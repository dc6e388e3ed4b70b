"""Celery tasks of security monitoring: evaluation (beat, every minute), the hourly usage check,
the staff email of a new alert (takes its id) and the alerts' retention (beat, daily)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.utils import timezone

from security import conf
from security import evaluate as evaluation
from security.models import SecurityAlert

EVALUATE = "security.evaluate"
CHECK_USAGE = "security.check_usage"
EMAIL_STAFF = "security.email_staff"
DELETE_OLD_ALERTS = "security.delete_old_alerts"


@shared_task(name=EVALUATE)
def evaluate() -> int:
    return tell_staff(evaluation.evaluate())


@shared_task(name=CHECK_USAGE)
def check_usage() -> int:
    return tell_staff(evaluation.check_usage())


def tell_staff(alert_ids: list[int]) -> int:
    """One email per new alert, each its own task, once the alerts are committed."""
    for alert_id in alert_ids:
        transaction.on_commit(lambda pk=alert_id: email_staff.delay(pk))
    return len(alert_ids)


@shared_task(name=EMAIL_STAFF)
def email_staff(alert_id: int) -> bool:
    alert = SecurityAlert.objects.filter(pk=alert_id).first()
    if alert is None or alert.staff_emailed_at is not None:
        return False
    lines = [
        f"Rule: {alert.rule}",
        f"Severity: {alert.get_severity_display()}",
        f"Subject: {alert.subject}",
        f"First seen: {alert.first_seen:%Y-%m-%d %H:%M:%S} UTC",
        *(f"{key.replace('_', ' ').capitalize()}: {value}" for key, value in alert.details.items()),
        "",
        f"See and acknowledge it: {settings.PUBLIC_URL}{evaluation.admin_link(alert)}",
    ]
    mail_admins(f"Security alert ({alert.severity}): {alert.rule}", "\n".join(lines) + "\n")
    # Marked once sent: a retry after a crash may send twice, never zero times.
    SecurityAlert.objects.filter(pk=alert.pk).update(staff_emailed_at=timezone.now())
    return True


@shared_task(name=DELETE_OLD_ALERTS)
def delete_old_alerts() -> int:
    days = conf.get("SECURITY_ALERT_RETENTION_DAYS")
    cutoff = timezone.now() - dt.timedelta(days=days)
    deleted, _ = SecurityAlert.objects.filter(last_seen__lt=cutoff).delete()
    return deleted
