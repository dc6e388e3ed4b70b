"""At sync, a CalDAV server's refusal is reported as what it is, on the job and as the
connection's last error: a 403 is a forbidden path (not a wrong password), a TLS failure is
named."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integrations.models import Connection, Credential, Service
from sync import engine
from sync.models import SyncJob
from tests.integrations.calendar.scripted_dav import ScriptedServer, scripted_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as scripted:
        yield scripted


def sync(user, server_url: str, calendar: str, *, run: bool = True) -> tuple[SyncJob, Connection]:
    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="fastmail"),
        external_account_id="me",
        field_mapping={"calendars": [calendar]},
    )
    Credential.objects.create(
        connection=connection, server_url=server_url, username="me", app_password="pw"
    )
    job = SyncJob.objects.create(connection=connection, kind=SyncJob.Kind.INCREMENTAL)
    if run:
        engine.run_job(job.pk)
    job.refresh_from_db()
    connection.refresh_from_db()
    return job, connection


def test_a_forbidden_calendar_is_reported_as_forbidden(user, server: ScriptedServer):
    # given a calendar the server forbids to this account
    server.answers["/cal/"] = (403, {"Content-Type": "text/html"}, b"<html>no</html>")
    # when the connection syncs
    job, connection = sync(user, server.url, server.url + "cal/")
    # then the job and the connection say the path is forbidden; the password is not blamed
    assert job.status == SyncJob.Status.FAILED
    assert "forbidden (403)" in job.error
    assert "forbidden (403)" in connection.last_error
    assert connection.status == Connection.Status.ERROR  # not needs_reauth; no retry helps


def test_a_tls_failure_at_sync_is_named_on_the_connection(user, server: ScriptedServer):
    # given an https calendar on a server that speaks plain HTTP
    base = f"https://127.0.0.1:{server.port}/"
    # when the connection syncs
    job, connection = sync(user, base, base + "cal/")
    # then it is retried later, and the connection says why
    assert job.status == SyncJob.Status.QUEUED
    assert "TLS" in connection.last_error


@pytest.mark.parametrize("calendar", ["c" * 200_000, "calendars/work/"])
def test_a_calendar_that_is_not_an_address_stops_the_connection(user, server, calendar):
    # given settings saved before they were bounded: a calendar that is not an address
    job, connection = sync(user, server.url, server.url + "cal/", run=False)
    Connection.objects.filter(pk=connection.pk).update(field_mapping={"calendars": [calendar]})
    # when the connection syncs
    engine.run_job(job.pk)
    # then the job fails once, and the connection shows why and stops syncing
    job.refresh_from_db()
    connection.refresh_from_db()
    assert job.status == SyncJob.Status.FAILED
    assert connection.status == Connection.Status.ERROR
    assert "use an http:// or https:// address" in connection.last_error
    assert len(connection.last_error) <= 2000
