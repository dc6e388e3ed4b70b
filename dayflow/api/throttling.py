"""Throttles: per user and per token (rates in settings.REST_FRAMEWORK), and a stricter scope
for starting syncs, which cost calls to the services. A 429 carries `Retry-After`."""

from __future__ import annotations

from typing import Any

from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle


class PerUser(UserRateThrottle):
    scope = "user"


class PerToken(SimpleRateThrottle):
    """A token's own budget, so one runaway script does not spend its owner's whole one."""

    scope = "token"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        token = getattr(request, "auth", None)
        if getattr(token, "pk", None) is None:
            return None  # a session: PerUser alone
        return self.cache_format % {"scope": self.scope, "ident": token.pk}


class SyncStart(UserRateThrottle):
    """Starting a sync, a preview or a full resync; set on those views only."""

    scope = "sync_start"
