"""Keeps the Service table in step with the provider registry."""

from __future__ import annotations

from typing import Any

from integrations.models import Service
from integrations.providers import PROVIDERS


def sync_services(**kwargs: Any) -> None:
    """Create or refresh one Service row per registered provider (staff's `enabled` is kept)."""
    for key, provider in PROVIDERS.items():
        Service.objects.update_or_create(
            key=key,
            defaults={
                "display_name": provider.name,
                "kind": provider.kind.value,
                "auth_style": provider.auth.value,
                "capabilities": provider.capabilities(),
            },
        )


def enabled_services():
    return Service.objects.filter(enabled=True, key__in=list(PROVIDERS))
