"""Starting a sync from the API: the one function every API route that starts one calls
(`POST /api/integrations` with a connection, `POST /api/integrations/sync`). It asks
`sync.services.sync_now` as the pages do, audits the request, and honours `Idempotency-Key`:
the same key from the same person within a day returns the same job."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import serializers

from audit.writer import record
from integrations.models import Connection
from sync import services
from sync.models import SyncJob, SyncStart

SYNC, PREVIEW, FULL = "sync", "preview", "full"
MODES = (SYNC, PREVIEW, FULL)
KEY_LIFETIME = dt.timedelta(hours=24)
IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces, as Stripe's keys are


def idempotency_key(request: Any) -> str:
    """The request's key, "" when none; a 400 when it is not a printable key of 255 or less."""
    key = request.headers.get(IDEMPOTENCY_HEADER, "")
    if key and not _KEY.fullmatch(key):
        raise serializers.ValidationError(
            {IDEMPOTENCY_HEADER: ["Use 1 to 255 printable ASCII characters, no spaces."]}
        )
    return key


def start_sync(request: Any, connection: Connection, mode: str) -> tuple[SyncJob, bool]:
    """(the job, whether this request started it). ConnectionActionRefused (409) when the
    connection cannot sync now; a 400 when the key was used for another request."""
    key = idempotency_key(request)
    if key:
        earlier = _earlier(request.user, key)
        if earlier is not None:
            return _same_request(earlier, connection, mode), False
    job = services.sync_now(
        connection,
        trigger=SyncJob.Trigger.API,
        preview=mode == PREVIEW,
        kind=SyncJob.Kind.FULL if mode == FULL else SyncJob.Kind.INCREMENTAL,
    )
    record(
        "sync.requested",
        request=request,
        connection=connection,
        details={"job": job.pk, "mode": mode},
    )
    if key:
        try:
            with transaction.atomic():
                SyncStart.objects.create(
                    user=request.user, key=key, connection=connection, mode=mode, job=job
                )
        except IntegrityError:  # the same key raced in: answer with the job it got
            earlier = _earlier(request.user, key)
            if earlier is not None:
                return _same_request(earlier, connection, mode), False
    return job, True


def _earlier(user: Any, key: str) -> SyncStart | None:
    fresh = timezone.now() - KEY_LIFETIME
    SyncStart.objects.filter(user=user, key=key, created_at__lt=fresh).delete()
    return SyncStart.objects.select_related("job").filter(user=user, key=key).first()


def _same_request(earlier: SyncStart, connection: Connection, mode: str) -> SyncJob:
    if (earlier.connection_id, earlier.mode) != (connection.pk, mode):
        raise serializers.ValidationError(
            {IDEMPOTENCY_HEADER: ["This key was used for another request."]}
        )
    return earlier.job
