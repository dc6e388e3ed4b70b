"""Two workers asked to sync the same connection at the same moment run it once."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

from sync import engine, jobs, services
from sync.models import SyncJob
from tests.sync.conftest import task_fields
from tests.sync.fakes import FakeProvider, FakeService


class SlowProvider(FakeProvider):
    """Holds the job open long enough for the second worker to try to take it."""

    def pull(self, cursor, collection=""):
        time.sleep(0.3)
        return super().pull(cursor, collection)


def run_in_workers(job_ids: list[int]) -> list[jobs.Outcome]:
    """Each job in a thread of its own, all started at once (the caller installs SlowProvider)."""
    outcomes: list[jobs.Outcome] = []
    start = threading.Barrier(len(job_ids))

    def worker(job_id: int) -> None:
        try:
            start.wait()
            outcomes.append(engine.run_job(job_id))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(job_id,)) for job_id in job_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_workers_with_the_same_message_run_the_job_once(connection, monkeypatch, use_provider):
    monkeypatch.setattr("sync.tasks.run_job.apply_async", lambda *a, **k: None)
    remote = FakeService()
    use_provider(lambda c: SlowProvider(c, remote))
    remote.add(**task_fields("imported once"))
    job = services.request_sync(connection.pk, trigger="webhook")
    assert services.request_sync(connection.pk, trigger="webhook").pk == job.pk

    outcomes = run_in_workers([job.pk, job.pk])

    assert sorted(outcome.status for outcome in outcomes) == ["busy", "succeeded"]
    assert remote.calls["pull"] == 1
    assert SyncJob.objects.get(pk=job.pk).local_created == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_second_job_of_the_connection_waits_for_the_first(connection, use_provider):
    remote = FakeService()
    use_provider(lambda c: SlowProvider(c, remote))
    remote.add(**task_fields("imported once"))
    first = SyncJob.objects.create(connection=connection)
    running = run_in_workers([first.pk])  # warm-up: sync once
    assert running[0].status == "succeeded"
    a = SyncJob.objects.create(connection=connection)
    a_outcome: list[jobs.Outcome] = []
    thread = threading.Thread(target=lambda: a_outcome.extend(run_in_workers([a.pk])))
    thread.start()
    time.sleep(0.1)  # a is running now
    b = SyncJob.objects.create(connection=connection)
    b_outcome = engine.run_job(b.pk)
    thread.join()

    assert b_outcome.status == "busy"
    assert a_outcome[0].status == "succeeded"
    assert engine.run_job(b.pk).status == ("succeeded")
