"""`/healthz`: the database, the broker, and the last heartbeat of the worker and of beat.

503 when the database or the broker does not answer; otherwise 200, with status "degraded"
when a heartbeat is missing or older than DAYFLOW_HEARTBEAT_STALE_SECONDS.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
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
        url = settings.CELERY_BROKER_URL
        # The URL's own transport, or ours for the filesystem (dayflow/broker.py); never the
        # app's configured one for another URL.
        transport = (
            settings.CELERY_BROKER_TRANSPORT if url.startswith("filesystem") else url.split(":")[0]
        )
        with celery_app.connection_for_write(url=url, transport=transport) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def heartbeat_status(last_seen: datetime | None, now: datetime, stale_after: timedelta) -> str:
    if last_seen is None:
        return "missing"
    return "stale" if now - last_seen > stale_after else "ok"


def heartbeat_report(name: str, last_seen: datetime | None, now: datetime) -> dict:
    stale_after = timedelta(seconds=settings.DAYFLOW_HEARTBEAT_STALE_SECONDS)
    # Another host's clock may run a little ahead of ours: an age is never negative.
    age = None if last_seen is None else max(0, int((now - last_seen).total_seconds()))
    return {
        name: heartbeat_status(last_seen, now, stale_after),
        f"{name}_heartbeat": last_seen.isoformat() if last_seen else None,
        f"{name}_age_seconds": age,
    }


def heartbeats(now: datetime) -> dict:
    seen = dict(Heartbeat.objects.values_list("name", "last_seen_at"))
    return {
        **heartbeat_report(Heartbeat.WORKER, seen.get(Heartbeat.WORKER), now),
        **heartbeat_report(Heartbeat.BEAT, seen.get(Heartbeat.BEAT), now),
    }


def unknown_heartbeats() -> dict:
    return {
        f"{name}{suffix}": value
        for name in (Heartbeat.WORKER, Heartbeat.BEAT)
        for suffix, value in (("", "unknown"), ("_heartbeat", None), ("_age_seconds", None))
    }


def overall_status(checks: dict) -> str:
    if any(checks[name] != "ok" for name in ("database", "broker")):
        return "error"
    return "ok" if checks[Heartbeat.WORKER] == checks[Heartbeat.BEAT] == "ok" else "degraded"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_status(), "broker": broker_status()}
    checks |= heartbeats(timezone.now()) if checks["database"] == "ok" else unknown_heartbeats()
    status = overall_status(checks)
    return JsonResponse({"status": status, **checks}, status=503 if status == "error" else 200)
