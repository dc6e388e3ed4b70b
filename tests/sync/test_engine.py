"""The engine end to end against the in-memory fake service (tests/sync/fakes.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from audit.models import AuditEvent
from dayflow.models import Event, Task
from integrations.models import Connection
from integrations.providers.errors import AuthExpired, Permanent, RateLimited, Transient
from sync import engine, jobs
from sync.engine import phases, providers
from sync.models import Conflict, ItemLink, JournalEntry, SyncCursor, SyncJob
from tests.sync.conftest import task_fields

pytestmark = pytest.mark.django_db

Status = SyncJob.Status


def set_strategy(connection, strategy: str, direction: str = "two_way") -> None:
    connection.conflict_resolution = strategy
    connection.sync_direction = direction
    connection.save()


def linked_task(connection, remote, title: str, run_sync) -> tuple[Task, str]:
    """Given an item created at the service and synced, its local copy and remote id."""
    remote_id = remote.add(**task_fields(title))
    run_sync()
    return Task.objects.get(title=title), remote_id


# --- first and full syncs ------------------------------------------------------------------------
def test_first_sync_imports_remote_items_and_pushes_local_ones(connection, remote, run_sync, user):
    remote.add(**task_fields("from service", priority=3, due=dt.date(2026, 3, 1)))
    Task.objects.create(user=user, title="from dayflow", notes="n")

    job = run_sync()

    assert job.status == Status.SUCCEEDED
    imported = Task.objects.get(title="from service")
    assert (imported.priority, imported.due_date) == (3, dt.date(2026, 3, 1))
    assert [s.fields["title"] for s in remote.items.values()] == ["from service", "from dayflow"]
    local = Task.objects.get(title="from dayflow")
    assert remote.by_dayflow_id()[f"dayflow-task-{local.pk}"]
    assert (job.local_created, job.remote_created, job.processed) == (1, 1, 2)
    assert ItemLink.objects.filter(connection=connection).count() == 2
    assert SyncCursor.objects.get(connection=connection).value.startswith("seq:")


def test_a_sync_right_after_a_sync_makes_zero_writes(connection, remote, run_sync, user):
    remote.add(**task_fields("a"))
    Task.objects.create(user=user, title="b")
    run_sync()
    writes, versions = remote.writes(), sorted(Task.objects.values_list("version", flat=True))

    again = run_sync()

    assert remote.writes() == writes
    assert sorted(Task.objects.values_list("version", flat=True)) == versions
    assert again.processed == 0
    assert JournalEntry.objects.filter(job=again).count() == 0


def test_first_sync_matches_items_already_carrying_dayflows_id(connection, remote, run_sync, user):
    task = Task.objects.create(user=user, title="same")
    remote.add(dayflow_id=f"dayflow-task-{task.pk}", **task_fields("same"))

    run_sync(kind=SyncJob.Kind.FULL)

    assert Task.objects.count() == 1
    assert len(remote.items) == 1
    assert remote.calls["create"] == 0
    link = ItemLink.objects.get(connection=connection)
    assert link.task_id == task.pk


def test_dry_run_reports_and_changes_nothing(connection, remote, run_sync, user):
    remote.add(**task_fields("remote one"))
    remote.add(**task_fields("remote two"))
    Task.objects.create(user=user, title="local one")

    job = run_sync(kind=SyncJob.Kind.FULL, dry_run=True)

    assert job.status == Status.SUCCEEDED
    assert job.report["preview"]["local"]["create"] == 2
    assert job.report["preview"]["remote"]["create"] == 1
    assert Task.objects.count() == 1
    assert len(remote.items) == 2
    assert not ItemLink.objects.exists()
    assert not SyncCursor.objects.filter(connection=connection).exclude(value="").exists()


# --- incremental changes one side at a time ------------------------------------------------------
def test_remote_edit_is_applied_locally_and_local_edit_remotely(connection, remote, run_sync):
    task, remote_id = linked_task(connection, remote, "t", run_sync)
    other, other_id = linked_task(connection, remote, "u", run_sync)

    remote.edit(remote_id, title="t edited at service")
    other.title = "u edited in dayflow"
    other.save()
    job = run_sync()

    task.refresh_from_db()
    assert task.title == "t edited at service"
    assert remote.items[other_id].fields["title"] == "u edited in dayflow"
    assert (job.local_updated, job.remote_updated) == (1, 1)
    assert run_sync().processed == 0


def test_deletions_follow_both_ways(connection, remote, run_sync):
    task, remote_id = linked_task(connection, remote, "gone remotely", run_sync)
    other, other_id = linked_task(connection, remote, "gone locally", run_sync)
    linked_task(connection, remote, "stays", run_sync)
    linked_task(connection, remote, "stays too", run_sync)

    remote.remove(remote_id)
    other.soft_delete()
    job = run_sync()

    assert Task.all_objects.get(pk=task.pk).is_deleted
    assert other_id not in remote.items
    assert (job.local_deleted, job.remote_deleted) == (1, 1)
    assert not ItemLink.objects.filter(task__in=[task, other]).exists()
    assert run_sync().processed == 0


def test_cursor_expiry_falls_back_to_a_full_listing(connection, remote, run_sync):
    task, remote_id = linked_task(connection, remote, "a", run_sync)
    linked_task(connection, remote, "b", run_sync)
    linked_task(connection, remote, "c", run_sync)
    remote.edit(remote_id, title="a2")
    remote.min_seq = remote.seq + 1

    job = run_sync()

    assert job.status == Status.SUCCEEDED
    task.refresh_from_db()
    assert task.title == "a2"


# --- conflicts -----------------------------------------------------------------------------------
def both_edited(connection, remote, run_sync, local: dict, theirs: dict):
    task, remote_id = linked_task(connection, remote, "t", run_sync)
    for name, value in local.items():
        setattr(task, name, value)
    task.save()
    remote.edit(remote_id, **theirs)
    return task, remote_id


def test_manual_strategy_records_a_conflict_and_touches_neither_side(connection, remote, run_sync):
    task, remote_id = both_edited(
        connection, remote, run_sync, {"title": "mine"}, {"title": "theirs"}
    )

    job = run_sync()
    again = run_sync()

    task.refresh_from_db()
    assert task.title == "mine"
    assert remote.items[remote_id].fields["title"] == "theirs"
    conflict = Conflict.objects.get()
    assert (conflict.fields, conflict.local["title"], conflict.remote["title"]) == (
        ["title"],
        "mine",
        "theirs",
    )
    assert job.conflicts == 1
    assert again.conflicts == 1
    assert Conflict.objects.count() == 1


@pytest.mark.parametrize(
    ("strategy", "local_newer", "winner"),
    [
        ("source", True, "theirs"),
        ("latest", True, "mine"),
        ("latest", False, "theirs"),
    ],
)
def test_winning_strategies_apply_the_winner_and_journal_the_loser(
    connection, remote, run_sync, strategy, local_newer, winner
):
    set_strategy(connection, strategy)
    task, remote_id = both_edited(
        connection, remote, run_sync, {"title": "mine"}, {"title": "theirs"}
    )
    remote.items[remote_id].updated_at = task.updated_at + dt.timedelta(
        seconds=-60 if local_newer else 60
    )

    job = run_sync()

    task.refresh_from_db()
    assert task.title == winner
    assert remote.items[remote_id].fields["title"] == winner
    loser = JournalEntry.objects.get(job=job, reason=f"lost:{strategy}")
    assert loser.before["title"] == ("theirs" if winner == "mine" else "mine")
    assert run_sync().processed == 0


def test_merge_combines_different_fields_and_falls_back_to_manual_on_a_clash(
    connection, remote, run_sync
):
    set_strategy(connection, "merge")
    task, remote_id = both_edited(connection, remote, run_sync, {"title": "mine"}, {"priority": 4})

    run_sync()

    task.refresh_from_db()
    assert (task.title, task.priority) == ("mine", 4)
    assert (
        remote.items[remote_id].fields["title"],
        remote.items[remote_id].fields["priority"],
    ) == (
        "mine",
        4,
    )
    task.notes = "local notes"
    task.save()
    remote.edit(remote_id, notes="remote notes", status="done")
    run_sync()
    task.refresh_from_db()
    assert (task.notes, task.status) == ("local notes", "open")
    assert Conflict.objects.get(status="open").fields == ["notes"]


def test_an_edit_beats_a_delete(connection, remote, run_sync):
    task, remote_id = linked_task(connection, remote, "edited remotely", run_sync)
    other, other_id = linked_task(connection, remote, "edited locally", run_sync)
    linked_task(connection, remote, "x", run_sync)
    linked_task(connection, remote, "y", run_sync)
    task.soft_delete()
    remote.edit(remote_id, title="edited at service")
    other.title = "edited in dayflow"
    other.save()
    remote.remove(other_id)

    run_sync()

    task = Task.objects.get(pk=task.pk)
    assert task.title == "edited at service"
    assert Task.objects.filter(pk=other.pk).exists()
    recreated = remote.by_dayflow_id()[f"dayflow-task-{other.pk}"]
    assert remote.items[recreated].fields["title"] == "edited in dayflow"


# --- directions and item types ---------------------------------------------------------------
def test_one_way_imports_and_never_writes_to_the_service(connection, remote, run_sync, user):
    set_strategy(connection, "manual", direction="one_way")
    remote_id = remote.add(**task_fields("imported"))
    Task.objects.create(user=user, title="local only")

    run_sync()
    task = Task.objects.get(title="imported")
    task.title = "mine"
    task.save()
    remote.edit(remote_id, title="theirs")
    run_sync()

    assert remote.writes() == 0
    task.refresh_from_db()
    assert task.title == "theirs"


def test_sync_tasks_off_leaves_tasks_alone(connection, remote, run_sync, user):
    connection.sync_tasks = False
    connection.save()
    remote.add(**task_fields("task"))
    remote.add(
        "event",
        title="standup",
        start=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
        end=dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC),
        all_day=False,
        timezone="Europe/Paris",
    )
    Task.objects.create(user=user, title="local task")

    run_sync()

    assert list(Task.objects.values_list("title", flat=True)) == ["local task"]
    event = Event.objects.get()
    assert (event.title, event.timezone, event.start.hour) == ("standup", "Europe/Paris", 9)
    assert remote.writes() == 0


# --- the mass-deletion guard ---------------------------------------------------------------------
def test_mass_deletion_waits_for_confirmation_and_changes_nothing(connection, remote, run_sync):
    ids = [linked_task(connection, remote, f"t{i}", run_sync)[1] for i in range(4)]
    for remote_id in ids[:3]:
        remote.remove(remote_id)

    job = run_sync()

    assert job.status == Status.NEEDS_CONFIRMATION
    assert job.report["guard"]["deletions"] == 3
    assert Task.objects.count() == 4
    assert AuditEvent.objects.filter(action="sync.job.needs_confirmation").exists()

    from sync.jobs import confirm_job

    confirm_job(job.pk)
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    assert Task.objects.count() == 1


@pytest.mark.parametrize(
    ("side", "kind"), [("remote", "full"), ("remote", "incremental"), ("local", "incremental")]
)
def test_a_side_that_suddenly_looks_empty_is_always_guarded(
    connection, remote, run_sync, side, kind
):
    ids = [linked_task(connection, remote, f"t{i}", run_sync)[1] for i in range(2)]
    for remote_id in ids:
        if side == "remote":
            remote.remove(remote_id)
    if side == "local":
        for task in Task.objects.all():
            task.soft_delete()

    job = run_sync(kind=kind)

    assert job.status == Status.NEEDS_CONFIRMATION
    assert job.report["guard"]["side_empty"] is True
    assert Task.all_objects.filter(deleted_at__isnull=True).count() == (
        2 if side == "remote" else 0
    )
    assert len(remote.items) == (0 if side == "remote" else 2)


# --- control: pause, resume, cancel at checkpoints --------------------------------------------
@pytest.mark.parametrize(
    ("control", "status"), [("pause", Status.PAUSED), ("cancel", Status.CANCELLED)]
)
def test_pause_and_cancel_take_effect_at_the_next_checkpoint(
    connection, remote, fake_provider, control, status, settings
):
    settings.DAYFLOW_SYNC_BATCH = 5
    for i in range(20):
        remote.add(**task_fields(f"t{i}"))
    job = SyncJob.objects.create(connection=connection, kind="full")

    apply_batch = phases.apply_batch

    def asking(run, batch):  # the user asks during the run, as from another process
        apply_batch(run, batch)
        SyncJob.objects.filter(pk=job.pk).update(control=control)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(phases, "apply_batch", asking)
        engine.run_job(job.pk)
    job.refresh_from_db()

    assert job.status == status
    assert Task.objects.count() == 5
    assert job.processed == 5
    if control == "pause":
        from sync.jobs import resume_job

        assert resume_job(job.pk)
        engine.run_job(job.pk)
        job.refresh_from_db()
        assert job.status == Status.SUCCEEDED
        assert Task.objects.count() == 20
        assert len(remote.items) == 20


# --- errors from the service ------------------------------------------------------------------
def test_rate_limited_requeues_the_job_after_the_wait(connection, remote, fake_provider):
    remote.fail_next("pull", RateLimited("slow down", retry_after=42))
    job = SyncJob.objects.create(connection=connection)

    outcome = engine.run_job(job.pk)

    job.refresh_from_db()
    assert (outcome.retry_in, job.status) == (42, Status.QUEUED)
    assert engine.run_job(job.pk).status == Status.SUCCEEDED


def test_transient_errors_retry_with_backoff_then_fail(connection, remote, fake_provider, settings):
    settings.DAYFLOW_SYNC_MAX_ATTEMPTS = 2
    job = SyncJob.objects.create(connection=connection)
    waits = []
    for _ in range(3):
        remote.fail_next("pull", Transient("503"))
        waits.append(engine.run_job(job.pk).retry_in)
    job.refresh_from_db()
    assert waits == [30, 60, None]
    assert job.status == Status.FAILED


def test_auth_expired_marks_the_connection_for_reauth(connection, remote, fake_provider):
    remote.fail_next("pull", AuthExpired("invalid_grant"))
    job = SyncJob.objects.create(connection=connection)

    engine.run_job(job.pk)

    connection.refresh_from_db()
    job.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert job.status == Status.FAILED
    audited = AuditEvent.objects.filter(
        connection_id=connection.pk, action="connection.needs_reauth"
    )
    assert audited.count() == 1
    assert audited.get().success is False


def test_auth_expired_after_the_refresh_already_flipped_the_status_is_audited_once(
    connection, remote, fake_provider
):
    from integrations.tokens import mark_needs_reauth

    mark_needs_reauth(connection, "invalid_grant")  # what the token refresh does first
    remote.fail_next("pull", AuthExpired("invalid_grant"))

    engine.run_job(SyncJob.objects.create(connection=connection).pk)

    assert AuditEvent.objects.filter(action="connection.needs_reauth").count() == 1


@pytest.mark.parametrize(
    "error",
    [
        Permanent("GET /calendars/x: 400 invalid calendar id", status=400),
        Permanent("GET calendars/x: not a usable address (MissingSchema)"),
    ],
)
def test_a_permanent_error_stops_the_connection_instead_of_retrying(
    connection, remote, fake_provider, error
):
    from sync.services import request_sync

    # given a connection whose settings the service refuses
    remote.fail_next("pull", error)
    job = SyncJob.objects.create(connection=connection)
    # when it syncs
    outcome = engine.run_job(job.pk)
    # then the job fails once, without a retry, and the connection shows why and stops
    job.refresh_from_db()
    connection.refresh_from_db()
    assert (outcome.status, outcome.retry_in, job.status) == (Status.FAILED, None, Status.FAILED)
    assert connection.status == Connection.Status.ERROR
    assert connection.last_error == str(error)
    assert connection.next_sync_at is None  # no longer scheduled
    assert request_sync(connection.pk, trigger=SyncJob.Trigger.SCHEDULE) is None


def test_an_unexpected_error_fails_the_job_and_leaves_the_connection_connected(
    connection, remote, fake_provider
):
    remote.fail_next("pull", RuntimeError("a bug of ours"))

    engine.run_job(SyncJob.objects.create(connection=connection).pk)

    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED


def test_a_permanent_error_leaves_a_connection_paused_meanwhile_paused(
    connection, remote, fake_provider
):
    from integrations.tokens import set_status

    job = jobs.claim(SyncJob.objects.create(connection=connection).pk)  # the job runs…
    set_status(Connection.objects.get(pk=connection.pk), Connection.Status.PAUSED)
    remote.fail_next("pull", Permanent("400 invalid", status=400))  # …the user paused meanwhile

    engine.run_claimed(job, providers.provider_for(job.connection))

    connection.refresh_from_db()
    assert connection.status == Connection.Status.PAUSED


def test_a_permanent_error_on_one_item_is_recorded_and_the_job_goes_on(
    connection, remote, run_sync, user
):
    Task.objects.create(user=user, title="bad")
    Task.objects.create(user=user, title="good")
    remote.fail_next("create", Permanent("title too long", status=400))

    job = run_sync()

    assert job.status == Status.SUCCEEDED
    assert job.errors == 1
    assert [s.fields["title"] for s in remote.items.values()] == ["good"]
    assert ItemLink.objects.get(task__title="bad").last_error.endswith("title too long")
    run_sync()
    assert sorted(s.fields["title"] for s in remote.items.values()) == ["bad", "good"]


def test_job_start_and_finish_are_audited(connection, remote, run_sync):
    job = run_sync()
    actions = set(
        AuditEvent.objects.filter(connection_id=connection.pk).values_list("action", flat=True)
    )
    assert {"sync.job.started", "sync.job.succeeded"} <= actions
    assert job.finished_at is not None
