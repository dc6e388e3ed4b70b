"""A run records its phase and how many items its plan applies, where a page following it
reads them (the database), as it goes: pulling, deciding, writing to the service, writing to
DayFlow, done."""

from __future__ import annotations

import pytest

from dayflow.models import Task
from sync import engine
from sync.engine import local, phases
from sync.models import SyncJob
from tests.sync.conftest import task_fields
from tests.sync.fakes import FakeProvider

pytestmark = pytest.mark.django_db


def stored(job_id: int) -> tuple[str, int, int]:
    return tuple(SyncJob.objects.filter(pk=job_id).values_list("phase", "planned", "processed")[0])


def test_a_run_records_each_phase_as_it_goes(connection, remote, use_provider, user, monkeypatch):
    Task.objects.create(user=user, title="Write the report")
    remote.add(**task_fields("Buy groceries"))
    job = SyncJob.objects.create(connection=connection, kind="full")
    seen: list[tuple[str, int, int]] = []

    class Watching(FakeProvider):
        def _call(self, operation: str) -> None:
            seen.append((operation, *stored(job.pk)))
            super()._call(operation)

    write = local.LocalWriter.write

    def writing_locally(self, pairs):
        seen.append(("local", *stored(job.pk)))
        return write(self, pairs)

    monkeypatch.setattr(local.LocalWriter, "write", writing_locally)
    plan = phases.plan

    def deciding(run, pulled, watermark):
        seen.append(("plan", *stored(job.pk)))
        return plan(run, pulled, watermark)

    monkeypatch.setattr(phases, "plan", deciding)
    use_provider(lambda c: Watching(c, remote))

    engine.run_job(job.pk)

    assert seen[0] == ("pull", "pulling", 0, 0)
    assert ("plan", "deciding", 0, 0) in seen
    assert ("create", "writing_remote", 2, 0) in seen
    assert ("local", "writing_local", 2, 0) in seen
    assert stored(job.pk) == ("done", 2, 2)


def test_a_preview_stops_after_deciding(connection, remote, fake_provider):
    remote.add(**task_fields("Buy groceries"))
    job = SyncJob.objects.create(connection=connection, dry_run=True)

    engine.run_job(job.pk)

    assert stored(job.pk) == ("done", 1, 0)
