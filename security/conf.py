"""The monitoring rules' thresholds and the alerts' retention, each with a default (override in
dayflow/settings.py). docs/architecture.md ("Monitoring") lists them with their rules."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Forged webhook deliveries (a 401) from one IP.
    "SECURITY_SIGNATURE_FAILURES": 5,
    "SECURITY_SIGNATURE_WINDOW_SECONDS": 600,
    # OAuth callbacks whose state does not match the one this person's session started.
    "SECURITY_STATE_MISMATCHES": 3,
    "SECURITY_STATE_WINDOW_SECONDS": 3600,
    # Failed sign-ins for one username, and from one IP across usernames (spraying).
    "SECURITY_LOGIN_FAILURES": 5,
    "SECURITY_LOGIN_WINDOW_SECONDS": 900,
    "SECURITY_LOGIN_FAILURES_PER_IP": 20,
    # Token refreshes that failed for other reasons than a refused grant, per connection.
    "SECURITY_REFRESH_FAILURES": 3,
    "SECURITY_REFRESH_WINDOW_SECONDS": 3600,
    # A connection's last hour against the median hourly rate of its previous days.
    "SECURITY_USAGE_FACTOR": 10,
    "SECURITY_USAGE_DAYS": 7,
    "SECURITY_USAGE_MIN_DAYS": 3,
    "SECURITY_USAGE_MIN_CALLS": 200,
    "SECURITY_USAGE_MIN_RATE_LIMITED": 5,
    # Audit events read per evaluation (the rest wait for the next run, a minute later).
    "SECURITY_EVALUATE_BATCH": 2000,
    # Events younger than this wait for the next run: ids are taken before commit, so a younger
    # id may still be in flight below the watermark.
    "SECURITY_EVALUATE_LAG_SECONDS": 10,
    # Alerts last seen longer ago than this are deleted.
    "SECURITY_ALERT_RETENTION_DAYS": 365,
}


def get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])
