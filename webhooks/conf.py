"""The webhooks app's settings, each with a default (override in dayflow/settings.py).

A service's own webhook settings live with its webhook hooks: WEBHOOKS_GRAPH_MAX_MINUTES in
integrations/providers/graph_webhook.py, WEBHOOKS_GOOGLE_CHANNEL_TTL_SECONDS in
integrations/providers/google_calendar/webhook.py, WEBHOOKS_LINEAR_APP_SECRET (from
LINEAR_WEBHOOK_SECRET in dayflow/settings.py) read by LinearProvider.app_webhook_secret().
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "WEBHOOKS_MAX_BODY_BYTES": 1024 * 1024,
    "WEBHOOKS_ALERT_WINDOW_SECONDS": 600,
    # Renew a subscription when it would expire within this many seconds.
    "WEBHOOKS_RENEW_MARGIN_SECONDS": 12 * 3600,
    "WEBHOOKS_PROCESS_MAX_RETRIES": 5,
    # A delivery still "received" after this long was never picked up: enqueue it again.
    "WEBHOOKS_STALE_SECONDS": 300,
    # Failed registrations and renewals are retried by beat after base * 2**(failures-1),
    # capped at the maximum.
    "WEBHOOKS_RETRY_BASE_SECONDS": 15 * 60,
    "WEBHOOKS_RETRY_MAX_SECONDS": 24 * 3600,
    # A removed subscription's URL still answers (its provider's webhook_removed_status) for
    # this long, so late deliveries and the senders' retries are not rejected as unknown.
    "WEBHOOKS_REMOVED_GRACE_SECONDS": 7 * 24 * 3600,
    # Rejected deliveries (404/413/400) always get a log line; at most this many audit rows
    # per client IP per WEBHOOKS_ALERT_WINDOW_SECONDS.
    "WEBHOOKS_REJECTION_AUDITS_PER_IP": 20,
    # How long a process remembers which subscription a URL names (webhooks/lookup.py).
    "WEBHOOKS_LOOKUP_CACHE_SECONDS": 5,
}


def get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])
