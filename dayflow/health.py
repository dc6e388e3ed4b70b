"""`/healthz`: database and broker status as JSON (200 when both answer, 503 otherwise)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dayflow.celery import app as celery_app
from dayflow.models import Heartbeat


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def broker_status() -> str:
    try:
        with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_status(), "broker": broker_status()}
    healthy = all(value == "ok" for value in checks.values())
    heartbeat = None
    if checks["database"] == "ok":
        beat = Heartbeat.objects.filter(name="beat").first()
        heartbeat = beat.last_seen_at.isoformat() if beat else None
    body = {"status": "ok" if healthy else "error", **checks, "worker_heartbeat": heartbeat}
    return JsonResponse(body, status=200 if healthy else 503)
