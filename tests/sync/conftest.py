from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from integrations.models import Connection, Service
from sync import engine
from sync.models import SyncJob
from tests.sync.fakes import FakeProvider, FakeService


@pytest.fixture
def remote() -> FakeService:
    return FakeService(page_size=50)


@pytest.fixture
def fake_provider(use_provider, remote):
    """Every engine run in the test talks to `remote`."""
    use_provider(lambda connection: FakeProvider(connection, remote))
    return remote


@pytest.fixture
def run_sync(connection, fake_provider) -> Callable[..., SyncJob]:
    """Given a connection and the fake service, run one sync job to its end in-process."""

    def run(kind: str = SyncJob.Kind.INCREMENTAL, **job_fields) -> SyncJob:
        job = SyncJob.objects.create(connection=connection, kind=kind, **job_fields)
        engine.run_job(job.pk)
        job.refresh_from_db()
        return job

    return run


def connect(user, key: str, field_mapping: dict, label: str, **more) -> Connection:
    """A connection of `user` to the service `key`; saving it makes its sync links
    (`sync.links.reconcile`)."""
    return Connection.objects.create(
        user=user,
        service=Service.objects.get(key=key),
        external_account_id=label,
        label=label,
        field_mapping=field_mapping,
        **more,
    )


def task_fields(title: str, **extra) -> dict:
    fields = {
        "title": title,
        "notes": "",
        "status": "open",
        "due": None,
        "priority": 0,
        "completed_at": None,
    }
    fields.update(extra)
    return fields


def when(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, tzinfo=dt.UTC)
