"""Which subscription (or service) a delivery's URL names, remembered for a few seconds.

Every delivery needs this lookup, and a burst sends thousands to the same URL: a short
per-process memory saves a query and a decryption per delivery. Subscriptions change rarely,
and a change (a new Google channel, a recreated Graph subscription) comes with a new URL; a
removed one keeps working here for at most WEBHOOKS_LOOKUP_CACHE_SECONDS.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from integrations.models import Service
from webhooks import conf
from webhooks.models import WebhookSubscription

MAX_ENTRIES = 10_000
_memory: dict[tuple[str, str], tuple[float, Any]] = {}
_lock = threading.Lock()


def subscription(key: str, public_id: str) -> WebhookSubscription | None:
    """The live-or-pending subscription of `key` at `public_id`, or None."""
    return _remembered((key, public_id), lambda: _subscription(key, public_id))


def service_id(key: str) -> int | None:
    """The id of the enabled service `key`, or None."""
    return _remembered((key, ""), lambda: _service_id(key))


def forget() -> None:
    with _lock:
        _memory.clear()


def _remembered(entry: tuple[str, str], load: Any) -> Any:
    ttl = conf.get("WEBHOOKS_LOOKUP_CACHE_SECONDS")
    now = time.monotonic()
    found = _memory.get(entry)
    if found is not None and found[0] > now:
        return found[1]
    value = load()
    if ttl > 0:
        with _lock:
            if len(_memory) >= MAX_ENTRIES:
                _memory.clear()
            _memory[entry] = (now + ttl, value)
    return value


def _subscription(key: str, public_id: str) -> WebhookSubscription | None:
    found = list(
        WebhookSubscription.objects.select_related("service")
        .filter(public_id=public_id, service__key=key, service__enabled=True)
        .exclude(status=WebhookSubscription.Status.REMOVED)
        .order_by()[:1]
    )
    return found[0] if found else None


def _service_id(key: str) -> int | None:
    found = Service.objects.filter(key=key, enabled=True).values_list("pk", flat=True)[:1]
    return found[0] if found else None
