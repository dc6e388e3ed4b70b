"""Which subscription (or service) a delivery's URL names, remembered for a few seconds.

Every delivery needs this lookup, and a burst sends thousands to the same URL: a short
per-process memory saves a query and a decryption per delivery. Subscriptions change rarely,
and a change (a new Google channel, a recreated Graph subscription) comes with a new URL; a
removed one keeps working here for at most WEBHOOKS_LOOKUP_CACHE_SECONDS.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from django.utils import timezone

from integrations.crypto import DecryptionError
from integrations.models import Service
from webhooks import conf
from webhooks.models import WebhookSubscription

MAX_ENTRIES = 10_000
_memory: dict[tuple[str, str], tuple[float, Any]] = {}
_lock = threading.Lock()


def subscription(key: str, public_id: str) -> WebhookSubscription | None:
    """The subscription of `key` at `public_id`, or None: live, pending, or removed within
    WEBHOOKS_REMOVED_GRACE_SECONDS (late deliveries are then acknowledged, not rejected).

    A pending one is not remembered: Notion's handshake stores its secret, possibly in another
    process, and the signed events that follow must see it.
    """
    return _remembered(
        (key, public_id),
        lambda: _subscription(key, public_id),
        keep=lambda sub: sub is None or sub.status != WebhookSubscription.Status.PENDING,
    )


def service_id(key: str) -> int | None:
    """The id of the enabled service `key`, or None."""
    return _remembered((key, ""), lambda: _service_id(key))


def forget() -> None:
    with _lock:
        _memory.clear()


def _remembered(entry: tuple[str, str], load: Any, keep: Any = None) -> Any:
    ttl = conf.get("WEBHOOKS_LOOKUP_CACHE_SECONDS")
    now = time.monotonic()
    found = _memory.get(entry)
    if found is not None and found[0] > now:
        return found[1]
    value = load()
    if ttl > 0 and (keep is None or keep(value)):
        with _lock:
            if len(_memory) >= MAX_ENTRIES:
                _memory.clear()
            _memory[entry] = (now + ttl, value)
    return value


def _subscription(key: str, public_id: str) -> WebhookSubscription | None:
    grace = dt.timedelta(seconds=conf.get("WEBHOOKS_REMOVED_GRACE_SECONDS"))
    subs = (
        WebhookSubscription.objects.select_related("service")
        .filter(public_id=public_id, service__key=key, service__enabled=True)
        .exclude(status=WebhookSubscription.Status.REMOVED, updated_at__lt=timezone.now() - grace)
        .order_by()
    )
    try:
        found = list(subs[:1])
    except DecryptionError:
        # Its secret was written under a key no longer configured: the subscription is still
        # known (its URL is ours), and reading the secret raises again where the receiver
        # can answer and audit it.
        found = list(subs.defer("secret")[:1])
    return found[0] if found else None


def _service_id(key: str) -> int | None:
    found = Service.objects.filter(key=key, enabled=True).values_list("pk", flat=True)[:1]
    return found[0] if found else None
