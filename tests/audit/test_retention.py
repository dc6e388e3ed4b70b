"""Retention with time travel: each policy removes only what is older than its limit, in
bounded batches; the journal keeps what undo still needs; the audit chain is cut at a
checkpoint and still verifies."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from audit import chain
from audit.models import AuditCheckpoint, AuditEvent
from audit.writer import record
from dayflow import retention
from dayflow.models import Task
from sync import repair
from sync.models import Conflict, ItemLink, JournalEntry, SyncJob
from tests.sync.conftest import fake_provider, remote, run_sync, task_fields  # noqa: F401
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 5, 7, 0, tzinfo=dt.UTC)


def day(n: float) -> time_machine.travel:
    return time_machine.travel(T0 + dt.timedelta(days=n), tick=True)


def test_the_policies_default_to_the_issue_s_limits_and_run_daily(settings):
    assert settings.DAYFLOW_RETENTION_DAYS == {
        "inbox": 30,
        "journal": 90,
        "jobs": 180,
        "audit": 365,
    }
    for policy in retention.POLICIES:
        entry = settings.CELERY_BEAT_SCHEDULE[f"retention-{policy}"]
        assert (entry["task"], entry["schedule"]) == (f"dayflow.retention.{policy}", 86400.0)


# --- the webhook inbox ----------------------------------------------------------------------
def test_the_inbox_keeps_30_days(service):
    for n, age in enumerate((0, 1, 29.9)):
        with day(age):
            Delivery.objects.create(service=service, delivery_id=f"d{n}", status="processed")

    with day(31.5):
        assert retention.retain_inbox() == 2

    assert list(Delivery.objects.values_list("delivery_id", flat=True)) == ["d2"]


def test_each_run_is_bounded(service, settings):
    settings.DAYFLOW_RETENTION_BATCH = 2
    settings.DAYFLOW_RETENTION_MAX_BATCHES = 2
    with day(0):
        for n in range(7):
            Delivery.objects.create(service=service, delivery_id=f"d{n}")

    with day(40):
        assert retention.purge_inbox() == 4
        assert retention.purge_inbox() == 3
        assert retention.purge_inbox() == 0


# --- the journal ----------------------------------------------------------------------------
def test_the_journal_keeps_90_days_and_what_undo_still_needs(connection, remote, run_sync):  # noqa: F811
    with day(0):
        remote.add(**task_fields("kept"))
        edited = remote.add(**task_fields("edited"))
        renamed = remote.add(**task_fields("renamed"))
        first = run_sync()  # imports the three: three creations in DayFlow
    with day(0.5):
        preview = SyncJob.objects.create(
            connection=connection, status=SyncJob.Status.SUCCEEDED, dry_run=True
        )
        JournalEntry.objects.create(
            job=preview, connection=connection, item_type="task", side="local", op="update"
        )
    with day(1):
        remote.edit(edited, title="edited once")
        second = run_sync()  # supersedes the creation of "edited"
    with day(80):
        remote.edit(renamed, title="renamed again")
        recent = run_sync()  # supersedes the creation of "renamed"

    with day(91.5):
        removed = retention.retain_journal()

    # Gone: the two superseded creations and the preview's entry (a preview has no undo).
    assert removed == 3
    left = set(JournalEntry.objects.values_list("job_id", "op"))
    assert left == {(first.pk, "create"), (second.pk, "update"), (recent.pk, "update")}
    with day(92):
        report = repair.undo_job(second.pk)
    assert (report.reverted, report.skipped) == (1, [])
    assert Task.objects.get(pk=ItemLink.objects.get(remote_id=edited).task_id).title == "edited"


def test_reverted_and_orphaned_entries_go_after_90_days(connection, remote, run_sync):  # noqa: F811
    with day(0):
        remote.add(**task_fields("a"))
        job = run_sync()
        JournalEntry.objects.create(
            job=None, connection=connection, item_type="task", side="local", op="update"
        )
        repair.undo_job(job.pk)

    with day(89):
        assert retention.purge_journal() == 0
    with day(91):
        assert retention.purge_journal() == 2
    assert not JournalEntry.objects.exists()


# --- finished jobs --------------------------------------------------------------------------
def test_finished_jobs_go_after_180_days_and_active_ones_stay(connection):
    statuses = SyncJob.Status
    with day(0):
        old = SyncJob.objects.create(connection=connection, status=statuses.FAILED, finished_at=T0)
        SyncJob.objects.create(connection=connection, status=statuses.CANCELLED)  # never stamped
        running = SyncJob.objects.create(connection=connection, status=statuses.RUNNING)
        paused = SyncJob.objects.create(connection=connection, status=statuses.PAUSED)
        entry = JournalEntry.objects.create(
            job=old, connection=connection, item_type="task", side="local", op="create"
        )
        link = ItemLink.objects.create(connection=connection, item_type="task", remote_id="r")
        conflict = Conflict.objects.create(link=link, job=old, local={}, remote={}, fields=[])
    with day(100):
        recent = SyncJob.objects.create(
            connection=connection,
            status=statuses.SUCCEEDED,
            finished_at=T0 + dt.timedelta(days=100),
        )

    with day(181):
        assert retention.retain_jobs() == 2

    assert set(SyncJob.objects.values_list("pk", flat=True)) == {running.pk, paused.pk, recent.pk}
    entry.refresh_from_db()
    conflict.refresh_from_db()
    assert (entry.job_id, conflict.job_id) == (None, None)  # they follow their own policies


# --- the audit trail ------------------------------------------------------------------------
def _events(at: float, count: int, user) -> list[AuditEvent]:
    with day(at):
        return [record(f"test.at{at}.{n}", actor=user) for n in range(count)]


def test_the_audit_chain_is_cut_at_a_checkpoint_and_still_verifies(user, settings):
    settings.DAYFLOW_RETENTION_BATCH = 2
    old = _events(0, 3, user)
    young = _events(200, 2, user)

    with day(366):
        assert retention.retain_audit() == 3
        later = record("test.later", actor=user)

    assert [e.pk for e in AuditEvent.objects.order_by("id")] == [
        *(e.pk for e in young),
        later.pk,
    ]
    checkpoint = AuditCheckpoint.objects.order_by("-last_event_id").first()
    assert (checkpoint.last_event_id, checkpoint.chain_hash) == (old[-1].pk, old[-1].chain_hash)
    assert AuditCheckpoint.objects.count() == 2  # one per batch
    verdict = chain.verify()
    assert (verdict.ok, verdict.rows_checked, verdict.since_checkpoint) == (True, 3, old[-1].pk)


def test_after_a_cut_a_removed_event_is_still_found(user):
    _events(0, 2, user)
    young = _events(200, 2, user)
    with day(366):
        retention.purge_audit()

    AuditEvent.objects.filter(pk=young[0].pk).update(action="test.forged")

    assert chain.verify().first_bad_id == young[0].pk


def test_a_tampered_old_event_is_kept_as_evidence_not_cut(user):
    old = _events(0, 3, user)
    AuditEvent.objects.filter(pk=old[1].pk).update(details={"forged": True})

    with day(366):
        assert retention.purge_audit() == 0

    assert AuditEvent.objects.count() == 3
    assert not AuditCheckpoint.objects.exists()


def test_nothing_younger_than_a_year_is_cut(user):
    _events(0, 2, user)
    _events(1, 2, user)

    with day(365.5):
        assert retention.purge_audit() == 2

    assert AuditEvent.objects.count() == 2


def test_a_chain_cut_to_nothing_still_verifies_and_goes_on(user):
    old = _events(0, 3, user)

    with day(400):
        assert retention.purge_audit() == 3
        assert chain.verify().ok
        record("test.after", actor=user)

    verdict = chain.verify()
    assert (verdict.ok, verdict.rows_checked, verdict.since_checkpoint) == (True, 1, old[-1].pk)
