"""Each kind of notice is raised by what the other apps already announce, once."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.signals import user_login_failed

from audit.writer import record
from integrations.models import Connection
from integrations.tokens import mark_needs_reauth
from notifications.models import Kind, Notification
from sync import jobs
from sync.models import Conflict, ItemLink, SyncJob

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def _notices(kind: str) -> list[Notification]:
    return list(Notification.objects.filter(kind=kind).order_by("id"))


def test_a_connection_needing_reconnecting_raises_one_notice_linking_to_the_dashboard(
    connection, user
):
    mark_needs_reauth(connection, "401 from the service")
    mark_needs_reauth(connection, "401 again")  # already needs it: no second notice

    [notice] = _notices(Kind.RECONNECT)
    assert notice.user == user
    assert notice.connection == connection
    assert notice.link == "/integrations/"
    assert "Reconnect" in notice.title
    assert notice.read_at is None


def _failed_job(connection: Connection, error: str = "boom") -> SyncJob:
    job = SyncJob.objects.create(connection=connection, status=SyncJob.Status.RUNNING)
    jobs.finish(job, SyncJob.Status.FAILED, error=error)
    return job


def test_three_failed_syncs_in_a_row_raise_once_per_streak(connection):
    with time_machine.travel(T0, tick=True):
        _failed_job(connection)
        _failed_job(connection)
        assert not _notices(Kind.FAILURES)
        third = _failed_job(connection, error="the service said 500")
        _failed_job(connection)  # the same streak goes on: nothing new

    [notice] = _notices(Kind.FAILURES)
    assert notice.link == f"/sync/jobs/{third.pk}/"
    assert "the service said 500" in notice.body


def test_a_success_ends_the_streak_so_the_next_three_failures_raise_again(connection):
    with time_machine.travel(T0, tick=True):
        for _ in range(3):
            _failed_job(connection)
        ok = SyncJob.objects.create(connection=connection, status=SyncJob.Status.RUNNING)
        jobs.finish(ok, SyncJob.Status.SUCCEEDED)
        for _ in range(3):
            _failed_job(connection)

    assert len(_notices(Kind.FAILURES)) == 2


def test_a_job_held_by_the_mass_deletion_guard_raises_a_notice_linking_to_the_job(connection):
    job = SyncJob.objects.create(connection=connection, status=SyncJob.Status.RUNNING)
    jobs.finish(job, SyncJob.Status.NEEDS_CONFIRMATION, final=False)

    [notice] = _notices(Kind.MASS_DELETION)
    assert notice.link == f"/sync/jobs/{job.pk}/"
    assert notice.connection == connection


def _conflict(connection: Connection, n: int) -> Conflict:
    link = ItemLink.objects.create(connection=connection, item_type="task", remote_id=f"r{n}")
    return Conflict.objects.create(
        link=link, local={"title": f"Mine {n}"}, remote={"title": f"Theirs {n}"}, fields=["title"]
    )


def test_new_conflicts_are_batched_into_one_notice_an_hour_per_connection(connection, user):
    with time_machine.travel(T0, tick=False):
        _conflict(connection, 1)
    with time_machine.travel(T0 + dt.timedelta(minutes=20), tick=False):
        _conflict(connection, 2)
        _conflict(connection, 3)
    [notice] = _notices(Kind.CONFLICTS)
    assert notice.count == 3
    assert notice.title.startswith("3 new conflicts")
    assert notice.link == f"/sync/conflicts/?connection={connection.pk}"

    with time_machine.travel(T0 + dt.timedelta(minutes=61), tick=False):
        _conflict(connection, 4)
    assert [n.count for n in _notices(Kind.CONFLICTS)] == [3, 1]


def test_a_new_api_token_raises_a_security_alert(user):
    record("api_token.created", actor=user, details={"name": "laptop script"})

    [notice] = _notices(Kind.SECURITY)
    assert notice.user == user
    assert "laptop script" in notice.body


def test_a_changed_password_raises_a_security_alert_but_a_login_does_not(user, client):
    client.login(username="alice", password="pw-alice-123")
    assert not _notices(Kind.SECURITY)

    user.set_password("a-new-long-password-1")
    user.save()

    [notice] = _notices(Kind.SECURITY)
    assert notice.title == "Your password was changed"


def _fail_login(username: str) -> None:
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=None)


def test_five_failed_logins_within_15_minutes_raise_one_alert(user):
    with time_machine.travel(T0, tick=True):
        for _ in range(4):
            _fail_login("alice")
        assert not _notices(Kind.SECURITY)
        _fail_login("alice")
        _fail_login("alice")
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=True):
        for _ in range(4):
            _fail_login("alice")

    [notice] = _notices(Kind.SECURITY)
    assert notice.user == user
    assert "5 times" in notice.body


def test_failed_logins_for_a_name_nobody_has_raise_nothing(user):
    for _ in range(6):
        _fail_login("mallory")
    assert not Notification.objects.exists()
