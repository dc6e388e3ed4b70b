"""The webhooks app's settings, each with a default (override in dayflow/settings.py)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "WEBHOOKS_MAX_BODY_BYTES": 1024 * 1024,
    "WEBHOOKS_ALERT_THRESHOLD": 5,
    "WEBHOOKS_ALERT_WINDOW_SECONDS": 600,
    # Graph's maximum subscription lifetime for Outlook events differs by doc version
    # (4230 minutes in one, 10,080 with the API rejecting over 10,070 in another).
    "WEBHOOKS_GRAPH_MAX_MINUTES": 4230,
    # Google documents no default or maximum for Calendar channels: we ask for this one.
    "WEBHOOKS_GOOGLE_CHANNEL_TTL_SECONDS": 7 * 24 * 3600,
    # Renew a subscription when it would expire within this many seconds.
    "WEBHOOKS_RENEW_MARGIN_SECONDS": 12 * 3600,
    "WEBHOOKS_PROCESS_MAX_RETRIES": 5,
    # A delivery still "received" after this long was never picked up: enqueue it again.
    "WEBHOOKS_STALE_SECONDS": 300,
    # Failed registrations and renewals are retried by beat after base * 2**(failures-1),
    # capped at the maximum.
    "WEBHOOKS_RETRY_BASE_SECONDS": 15 * 60,
    "WEBHOOKS_RETRY_MAX_SECONDS": 24 * 3600,
    # A removed subscription's URL still answers (2xx, or 410 for ClickUp) for this long, so
    # late deliveries and the senders' retries are not rejected as unknown.
    "WEBHOOKS_REMOVED_GRACE_SECONDS": 7 * 24 * 3600,
    # Rejected deliveries (404/413/400) always get a log line; at most this many audit rows
    # per client IP per WEBHOOKS_ALERT_WINDOW_SECONDS.
    "WEBHOOKS_REJECTION_AUDITS_PER_IP": 20,
    # The signing secret of the Linear OAuth app's own webhook (Linear's console → the app →
    # Webhooks), which posts to /api/webhooks/linear/ for every organization that authorized us.
    "WEBHOOKS_LINEAR_APP_SECRET": os.environ.get("LINEAR_WEBHOOK_SECRET", ""),
    # How long a process remembers which subscription a URL names (webhooks/lookup.py).
    "WEBHOOKS_LOOKUP_CACHE_SECONDS": 5,
}


def get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])
