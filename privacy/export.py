"""Building a person's export: a zip of one JSON file per part (`privacy.parts`)."""

from __future__ import annotations

import json
import os
import secrets
import zipfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from dayflow.celery import app as celery_app
from privacy.models import ExportRequest
from privacy.parts import PARTS

BUILD = "privacy.build_export"  # queued by name: the task module imports this one


class ExportInProgress(Exception):
    """The person already has an export being built: one at a time."""

    def __init__(self) -> None:
        super().__init__("An export of your data is already being built. Wait for it to finish.")


def exports_dir() -> Path:
    # Under VAR_DIR, outside STATIC_ROOT and any served directory: only the view serves a file,
    # after checking its owner and its expiry.
    return Path(settings.DAYFLOW_EXPORT_DIR)


def request_export(user: Any) -> ExportRequest:
    """A new export waiting to be built (its task is sent once the row is committed)."""

    if ExportRequest.objects.for_user(user).filter(status__in=ExportRequest.IN_PROGRESS).exists():
        raise ExportInProgress
    try:
        with transaction.atomic():
            export = ExportRequest.objects.create(user=user)
    except IntegrityError as exc:  # a concurrent request won the race
        raise ExportInProgress from exc
    transaction.on_commit(lambda: celery_app.signature(BUILD, args=(export.pk,)).apply_async())
    return export


def build(export: ExportRequest) -> None:
    """Write the archive and mark the export ready, with its expiry."""
    folder = exports_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{export.pk}-{secrets.token_hex(16)}.zip"
    partial = path.with_suffix(".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for part in PARTS.values():
            rows = list(part.records(export.user))
            archive.writestr(part.filename, json.dumps(rows, cls=DjangoJSONEncoder, indent=1))
    os.chmod(partial, 0o600)
    partial.replace(path)
    now = timezone.now()
    export.file_path = str(path)
    export.size = path.stat().st_size
    export.status = ExportRequest.Status.READY
    export.finished_at = now
    export.expires_at = now + settings.DAYFLOW_EXPORT_LIFETIME
    export.save(update_fields=["file_path", "size", "status", "finished_at", "expires_at"])


def is_expired(export: ExportRequest, now: Any = None) -> bool:
    now = now or timezone.now()
    return export.status == ExportRequest.Status.EXPIRED or (
        export.expires_at is not None and export.expires_at <= now
    )


def remove_file(export: ExportRequest) -> None:
    if export.file_path:
        Path(export.file_path).unlink(missing_ok=True)


def expire(export: ExportRequest) -> None:
    remove_file(export)
    export.status = ExportRequest.Status.EXPIRED
    export.file_path = ""
    export.save(update_fields=["status", "file_path"])
