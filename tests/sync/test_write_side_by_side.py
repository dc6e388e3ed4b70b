"""The engine with a provider writing side by side (`write_concurrency` > 1, no batch): every
write recorded as a single write is, a failure its item's own, a rate limit stops the run
after recording what was written, and the next run finishes without duplicates."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from dayflow.models import Task
from integrations.providers.base import RemoteItem
from integrations.providers.errors import Permanent, RateLimited
from sync import engine
from sync.engine import remote as remote_writes
from sync.models import ItemLink, SyncJob
from tests.sync.fakes import FakeProvider, FakeService

pytestmark = pytest.mark.django_db


class SideBySideFake(FakeProvider):
    write_concurrency = 3

    def __init__(self, connection: Any, service: FakeService, plan: dict) -> None:
        super().__init__(connection, service)
        self.plan = plan

    def create(self, fields: dict[str, Any], **kwargs: Any) -> RemoteItem:
        with self.plan["lock"]:  # the in-memory fake itself is not thread-safe
            self.plan["threads"].add(threading.get_ident())
            self.plan["creates"] += 1
            self.plan["looked_up"].append(getattr(self._thread, "looked_up", None))
            if self.plan["creates"] in self.plan["refuse"]:
                raise Permanent("refused", status=400, service="fake")
            if self.plan["creates"] in self.plan["limit"]:
                raise RateLimited("429", retry_after=30, service="fake")
            return super().create(fields, **kwargs)


@pytest.fixture
def plan(use_provider, remote) -> dict:
    state = {
        "lock": threading.Lock(),
        "threads": set(),
        "creates": 0,
        "refuse": set(),
        "limit": set(),
        "looked_up": [],
    }
    use_provider(lambda connection: SideBySideFake(connection, remote, state))
    return state


@pytest.fixture
def sync(connection, plan):
    def run() -> SyncJob:
        job = SyncJob.objects.create(connection=connection, kind=SyncJob.Kind.INCREMENTAL)
        engine.run_job(job.pk)
        job.refresh_from_db()
        return job

    return run


def test_new_tasks_go_side_by_side_and_each_is_linked(sync, plan, remote, user, connection):
    Task.objects.bulk_create([Task(user=user, title=f"T{n}") for n in range(45)])
    job = sync()
    assert job.status == SyncJob.Status.SUCCEEDED
    assert job.remote_created == 45
    assert len(remote.items) == 45
    links = ItemLink.objects.filter(connection=connection)
    assert links.count() == 45
    assert all(link.remote_id for link in links)
    assert len(plan["threads"]) > 1  # written on several threads


def test_a_refused_create_is_that_items_failure_alone(sync, plan, remote, user, connection):
    plan["refuse"] = {7}
    Task.objects.bulk_create([Task(user=user, title=f"T{n}") for n in range(20)])
    job = sync()
    assert job.errors == 1
    assert len(remote.items) == 19
    assert ItemLink.objects.filter(connection=connection).exclude(last_error="").count() == 1


def test_a_rate_limit_stops_the_run_and_the_next_finishes_without_duplicates(
    sync, plan, remote, user, connection
):
    plan["limit"] = {12}
    Task.objects.bulk_create([Task(user=user, title=f"T{n}") for n in range(50)])
    job = SyncJob.objects.create(connection=connection)
    outcome = engine.run_job(job.pk)
    assert outcome.retry_in == 30  # the job waits for the service, as after a single write
    made = len(remote.items)
    assert 11 <= made < 50  # what was written before the 429 is kept and linked
    linked = ItemLink.objects.filter(connection=connection).exclude(remote_id="").count()
    assert linked == made
    assert engine.run_job(job.pk).status == SyncJob.Status.SUCCEEDED
    assert len(remote.items) == 50
    assert len(remote.by_dayflow_id()) == 50


def test_rounds_keep_their_order_around_a_write_that_goes_alone():
    class Pair:
        def __init__(self, alone: bool) -> None:
            self.alone = alone

    pairs = [Pair(a) for a in (False, False, True, False, False, False, True)]
    original = remote_writes._batchable
    try:
        remote_writes._batchable = lambda pair: not pair.alone
        steps = remote_writes._steps(pairs, 2, in_order=True)
    finally:
        remote_writes._batchable = original
    shape = [s if isinstance(s, int) else [i for i, _ in s] for s in steps]
    assert shape == [[0, 1], 2, [3, 4], [5], 6]


def test_a_provider_declares_how_many_writes_a_round_holds():
    assert remote_writes.writes_per_batch(FakeProvider) == 1
    assert remote_writes.writes_per_batch(SideBySideFake) == 3 * remote_writes.WRITES_PER_THREAD


def test_creates_go_looked_up_the_intents_a_stopped_run_left_found_while_planning(
    plan, remote, user, connection
):
    plan["limit"] = {1}  # the first create is turned away: the run stops, its intents saved
    Task.objects.bulk_create([Task(user=user, title=f"T{n}") for n in range(4)])
    job = SyncJob.objects.create(connection=connection)
    engine.run_job(job.pk)
    assert plan["looked_up"] == [True]  # the provider looks nothing up itself
    assert ItemLink.objects.filter(connection=connection, remote_id="").count() == 4
    plan["looked_up"].clear()
    finds = remote.calls["find"]
    assert engine.run_job(job.pk).status == SyncJob.Status.SUCCEEDED
    assert remote.calls["find"] == finds + 4  # the engine looked for each left intent once
    assert plan["looked_up"] == [True] * 4
    assert len(remote.items) == 4
