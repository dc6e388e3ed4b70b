"""Retention: how long the inbox, the journal, finished jobs and the audit trail are kept.

Each policy is a number of days (settings.DAYFLOW_RETENTION_DAYS, each overridable from the
environment), one beat task, and a `purge_*` function that removes what is older in bounded
batches (DAYFLOW_RETENTION_BATCH rows, at most DAYFLOW_RETENTION_MAX_BATCHES per run; the next
day's run goes on where this one stopped). docs/architecture.md, "Audit chain and retention".
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from celery import shared_task
from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit import chain
from sync.models import JournalEntry, SyncJob
from webhooks.models import Delivery

logger = logging.getLogger(__name__)

INBOX, JOURNAL, JOBS, AUDIT = "inbox", "journal", "jobs", "audit"


def days(policy: str) -> int:
    return settings.DAYFLOW_RETENTION_DAYS[policy]


def cutoff(policy: str) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days(policy))


def _in_batches(batch: Callable[[int], int]) -> int:
    size = settings.DAYFLOW_RETENTION_BATCH
    removed = 0
    for _ in range(settings.DAYFLOW_RETENTION_MAX_BATCHES):
        done = batch(size)
        removed += done
        if done < size:
            break
    return removed


def _delete_first(rows: QuerySet, size: int) -> int:
    ids = list(rows.order_by("pk").values_list("pk", flat=True)[:size])
    if not ids:
        return 0
    rows.model.objects.filter(pk__in=ids).delete()
    return len(ids)


# --- the webhook inbox ----------------------------------------------------------------------
def expired_deliveries() -> QuerySet[Delivery]:
    """Every delivery received before the limit, whatever its status: one still waiting after
    that long is not worth processing (the next sync reads the service anyway)."""
    return Delivery.objects.filter(received_at__lt=cutoff(INBOX))


def purge_inbox() -> int:
    return _in_batches(lambda size: _delete_first(expired_deliveries(), size))


# --- the journal ----------------------------------------------------------------------------
def undo_still_needs() -> Q:
    """The journal entries `repair.undo_job` could still revert: not reverted yet, of a job that
    offers undo (succeeded, not a preview), and the newest write to its item (a newer write to
    the same link or DayFlow item makes undo skip it as "changed since the job")."""
    newer = JournalEntry.objects.filter(id__gt=OuterRef("id"))
    newer_on_link = newer.filter(link_id=OuterRef("link_id"))
    newer_on_item = newer.filter(
        connection_id=OuterRef("connection_id"),
        item_type=OuterRef("item_type"),
        local_id=OuterRef("local_id"),
    )
    return (
        Q(reverted_at__isnull=True)
        & Q(job__status=SyncJob.Status.SUCCEEDED)
        & Q(job__dry_run=False)
        & ~Exists(newer_on_link)
        & ~Exists(newer_on_item)
    )


def expired_journal() -> QuerySet[JournalEntry]:
    return JournalEntry.objects.filter(created_at__lt=cutoff(JOURNAL)).exclude(undo_still_needs())


def purge_journal() -> int:
    return _in_batches(lambda size: _delete_first(expired_journal(), size))


# --- finished jobs --------------------------------------------------------------------------
FINISHED = (SyncJob.Status.SUCCEEDED, SyncJob.Status.FAILED, SyncJob.Status.CANCELLED)


def expired_jobs() -> QuerySet[SyncJob]:
    """Finished jobs whose end (or start, if never stamped) is older than the limit. Their
    journal entries and conflicts stay (job set to null) and follow their own policies; a
    journal entry without its job cannot be undone, so the journal policy takes it next."""
    return (
        SyncJob.objects.filter(status__in=FINISHED)
        .alias(ended=Coalesce("finished_at", "created_at"))
        .filter(ended__lt=cutoff(JOBS))
    )


def purge_jobs() -> int:
    return _in_batches(lambda size: _delete_first(expired_jobs(), size))


# --- the audit trail ------------------------------------------------------------------------
def purge_audit() -> int:
    """Cut the chain's oldest events at a checkpoint (`audit.chain.cut`)."""
    return _in_batches(lambda size: chain.cut(cutoff(AUDIT), batch=size))


POLICIES: dict[str, Callable[[], int]] = {
    INBOX: purge_inbox,
    JOURNAL: purge_journal,
    JOBS: purge_jobs,
    AUDIT: purge_audit,
}


def _run(policy: str) -> int:
    removed = POLICIES[policy]()
    logger.info("retention %s (%s days): %s rows removed", policy, days(policy), removed)
    return removed


@shared_task(name="dayflow.retention.inbox")
def retain_inbox() -> int:
    return _run(INBOX)


@shared_task(name="dayflow.retention.journal")
def retain_journal() -> int:
    return _run(JOURNAL)


@shared_task(name="dayflow.retention.jobs")
def retain_jobs() -> int:
    return _run(JOBS)


@shared_task(name="dayflow.retention.audit")
def retain_audit() -> int:
    return _run(AUDIT)
