"""Data protection in the background: building exports, removing expired ones, erasing accounts.
Each task takes an id, re-fetches its row and returns quietly when it is gone or done."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dayflow import backoff
from integrations import locks
from privacy import erasure as erasure_steps
from privacy import export as exports
from privacy.models import ErasureRequest, ExportRequest

logger = logging.getLogger(__name__)
STUCK_AFTER = dt.timedelta(hours=6)
RETRY_CAP_SECONDS = 6 * 3600
ERASURE_LOCK_SECONDS = 3600


@shared_task(name="privacy.build_export")
def build_export(export_id: int) -> None:
    with transaction.atomic():
        started = ExportRequest.objects.filter(
            pk=export_id, status=ExportRequest.Status.PENDING
        ).update(status=ExportRequest.Status.RUNNING)
    export = ExportRequest.objects.select_related("user").filter(pk=export_id).first()
    if not started or export is None:
        return
    try:
        exports.build(export)
    except Exception:
        logger.exception("privacy: export %s failed", export_id)
        export.status = ExportRequest.Status.FAILED
        export.finished_at = timezone.now()
        export.save(update_fields=["status", "finished_at"])


@shared_task(name="privacy.remove_expired_exports")
def remove_expired_exports() -> int:
    """Beat: delete the files of expired exports (the rows stay, marked expired, until the
    account goes), and fail exports stuck building for STUCK_AFTER (their worker died), which
    would otherwise bar their owner from asking again."""
    now = timezone.now()
    expired = ExportRequest.objects.filter(status=ExportRequest.Status.READY, expires_at__lte=now)
    count = 0
    for export in expired:
        exports.expire(export)
        count += 1
    ExportRequest.objects.filter(
        status__in=ExportRequest.IN_PROGRESS, created_at__lte=now - STUCK_AFTER
    ).update(status=ExportRequest.Status.FAILED, finished_at=now)
    return count


@shared_task(name="privacy.erase_account")
def erase_account(erasure_id: int) -> None:
    # One run at a time per erasure (a message delivered twice, a resume while a retry waits).
    try:
        with locks.exclusive(f"privacy:erasure:{erasure_id}", ttl=ERASURE_LOCK_SECONDS, wait=0):
            _erase(erasure_id)
    except locks.LockTimeout:
        logger.info("privacy: erasure %s is already running", erasure_id)


def _erase(erasure_id: int) -> None:
    erasure = ErasureRequest.objects.select_related("user").filter(pk=erasure_id).first()
    if erasure is None or erasure.status == ErasureRequest.Status.DONE:
        return
    try:
        erasure_steps.run(erasure)
    except erasure_steps.ServiceDown as exc:
        erasure.attempts += 1
        erasure.status = ErasureRequest.Status.WAITING
        erasure.last_error = f"{exc} did not confirm the revocation"[:200]
        erasure.save(
            update_fields=["attempts", "status", "last_error", "counts", "steps_done", "updated_at"]
        )
        wait = backoff.delay(
            erasure.attempts,
            base=settings.DAYFLOW_ERASURE_RETRY_SECONDS,
            cap=RETRY_CAP_SECONDS,
            jitter=backoff.equal_jitter(),
        )
        logger.warning("privacy: erasure %s waits %.0fs for %s", erasure_id, wait, exc)
        erase_account.apply_async((erasure_id,), countdown=wait)


@shared_task(name="privacy.resume_erasures")
def resume_erasures() -> int:
    """Beat: send again the erasures no run has touched for longer than a retry can wait
    (a worker died mid-run, or a delayed retry was lost with its worker)."""
    quiet_since = timezone.now() - dt.timedelta(seconds=RETRY_CAP_SECONDS + ERASURE_LOCK_SECONDS)
    stale = ErasureRequest.objects.exclude(status=ErasureRequest.Status.DONE).filter(
        updated_at__lte=quiet_since
    )
    ids = list(stale.values_list("pk", flat=True))
    for pk in ids:
        erase_account.delay(pk)
    return len(ids)
