"""Signing helpers written from each service's documented algorithm (no service publishes a
fixed example), and fixture loading."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from audit.models import AuditEvent
from integrations.models import Connection
from sync.models import SyncJob
from webhooks.models import Delivery, WebhookSubscription

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"


def fixture(service: str, event: str) -> dict[str, Any]:
    return json.loads((FIXTURES / service / f"{event}.json").read_text())


def raw(payload: dict[str, Any]) -> bytes:
    # Deliberately not the compact form: signatures cover the raw bytes as sent.
    return json.dumps(payload, indent=1).encode()


def hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def b64_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def meta(headers: dict[str, str]) -> dict[str, str]:
    """Headers as Django's test client takes them (HTTP_X_SIGNATURE=…)."""
    return {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}


def url(service: str, sub: WebhookSubscription | None = None) -> str:
    return f"/api/webhooks/{service}/" + (f"{sub.public_id}/" if sub else "")


def jobs(connection: Connection) -> int:
    return SyncJob.objects.filter(connection=connection).count()


def deliveries(**filters) -> int:
    return Delivery.objects.filter(**filters).count()


def rejections(reason: str | None = None) -> list[AuditEvent]:
    events = AuditEvent.objects.filter(action="webhook.rejected", success=False)
    return [e for e in events if reason is None or e.details.get("reason") == reason]
