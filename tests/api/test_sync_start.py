"""`sync.api.starting.start_sync`, which every API route that starts a sync calls: the same
`Idempotency-Key` returns the same job; a key reused for another request, or malformed, is a
400; a connection that cannot sync is a 409 (ConnectionActionRefused); each start is audited."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine
from rest_framework.exceptions import ValidationError

from audit.models import AuditEvent
from integrations.actions import ConnectionActionRefused
from integrations.models import Connection
from sync.api.starting import FULL, PREVIEW, SYNC, start_sync
from sync.models import SyncJob, SyncStart

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)


def request(user, key: str | None = None):
    return SimpleNamespace(
        user=user, headers={"Idempotency-Key": key} if key else {}, META={}, auth=None
    )


def test_each_mode_starts_its_kind_of_job_and_is_audited(connection, user, celery_sent):
    synced, started = start_sync(request(user), connection, SYNC)
    preview, _ = start_sync(request(user), connection, PREVIEW)

    assert started
    assert (synced.kind, synced.dry_run, synced.trigger) == ("incremental", False, "api")
    assert preview.dry_run
    assert start_sync(request(user), connection, FULL)[0].kind == "full"  # joins, upgraded
    assert AuditEvent.objects.filter(action="sync.requested").count() == 3


def test_the_same_key_returns_the_same_job(connection, user, celery_sent):
    first, started = start_sync(request(user, "k-1"), connection, PREVIEW)
    again, started_again = start_sync(request(user, "k-1"), connection, PREVIEW)

    assert (again.pk, started, started_again) == (first.pk, True, False)
    assert SyncJob.objects.count() == 1


def test_a_key_lives_a_day(connection, user, celery_sent):
    with time_machine.travel(NOW, tick=False):
        first, _ = start_sync(request(user, "k-1"), connection, PREVIEW)
    with time_machine.travel(NOW + dt.timedelta(hours=25), tick=False):
        later, started = start_sync(request(user, "k-1"), connection, PREVIEW)
    assert started
    assert later.pk != first.pk


def test_keys_are_per_person(connection, user, other_user, service, celery_sent):
    theirs = Connection.objects.create(
        user=other_user, service=service, external_account_id="b", field_mapping={"project_id": "p"}
    )
    mine, _ = start_sync(request(user, "same"), connection, PREVIEW)
    their_job, started = start_sync(request(other_user, "same"), theirs, PREVIEW)
    assert started
    assert their_job.pk != mine.pk


@pytest.mark.parametrize("key", ["has space", "x" * 256, "tab\there", "ünïcode"])
def test_a_malformed_key_is_a_400(connection, user, celery_sent, key):
    with pytest.raises(ValidationError):
        start_sync(request(user, key), connection, SYNC)
    assert not SyncJob.objects.exists()


def test_a_key_reused_for_another_request_is_a_400(connection, user, celery_sent):
    start_sync(request(user, "k-1"), connection, PREVIEW)
    with pytest.raises(ValidationError):
        start_sync(request(user, "k-1"), connection, FULL)
    assert SyncStart.objects.get().mode == PREVIEW


def test_a_connection_that_cannot_sync_is_refused(connection, user, celery_sent):
    Connection.objects.filter(pk=connection.pk).update(status="paused")
    connection.refresh_from_db()
    with pytest.raises(ConnectionActionRefused):
        start_sync(request(user, "k-1"), connection, SYNC)
    assert not SyncStart.objects.exists()
