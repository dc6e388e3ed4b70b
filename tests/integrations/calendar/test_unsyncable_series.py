"""A series we cannot represent is never taken for deleted: the local copy stays, and the job
reports an error for it (engine + provider, end to end)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import responses

from dayflow.models import Event
from integrations.models import Connection, Credential, Service
from integrations.providers.caldav import CalDAVProvider
from sync import engine
from sync.models import ItemLink, SyncJob
from tests.radicale import RadicaleCalendar, request

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def run(connection, kind: str = SyncJob.Kind.INCREMENTAL) -> SyncJob:
    job = SyncJob.objects.create(connection=connection, kind=kind)
    engine.run_job(job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.parametrize("kind", [SyncJob.Kind.FULL, SyncJob.Kind.INCREMENTAL])
def test_google_series_that_becomes_unrepresentable_is_kept_and_reported(
    google_engine, kind: str
) -> None:
    # given a linked weekly series
    connection, fake = google_engine
    series = {
        "id": "series1",
        "summary": "Weekly sync",
        "start": {"dateTime": "2026-03-23T09:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-03-23T09:30:00+01:00", "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO"],
    }
    fake.add(series)
    assert run(connection).status == SyncJob.Status.SUCCEEDED
    local = Event.objects.get(title="Weekly sync")
    # when another app adds an extra date (RDATE) we cannot hold, and a sync runs
    fake.add({**series, "recurrence": [*series["recurrence"], "RDATE;VALUE=DATE:20260501"]})
    job = run(connection, kind)
    # then the local series is still there, and the job and the link carry the error
    assert job.status == SyncJob.Status.SUCCEEDED, job.error
    assert Event.objects.filter(pk=local.pk, deleted_at__isnull=True).exists()
    assert job.errors == 1
    assert job.report["unsyncable"] == [
        {"remote_id": "primary/series1", "error": job.report["unsyncable"][0]["error"]}
    ]
    assert "Weekly sync" in job.report["unsyncable"][0]["error"]
    assert "RDATE" in ItemLink.objects.get(remote_id="primary/series1").last_error


def test_caldav_series_with_exceptions_that_gains_an_rdate_is_kept(
    caldav_connection, radicale_calendar: RadicaleCalendar, use_provider
) -> None:
    # given a linked CalDAV series with one moved instance, pulled fully once
    use_provider(lambda conn: CalDAVProvider(conn))
    provider = CalDAVProvider(caldav_connection)
    start = dt.datetime(2026, 3, 23, 9, tzinfo=BERLIN)
    master = provider.create(
        {
            "title": "Standup",
            "start": start,
            "end": start + dt.timedelta(minutes=15),
            "timezone": "Europe/Berlin",
            "rrule": "FREQ=WEEKLY;BYDAY=MO",
        },
        dayflow_id="x1",
    )
    provider.create(
        {
            "title": "Standup (moved)",
            "start": start + dt.timedelta(days=8),
            "end": start + dt.timedelta(days=8, minutes=15),
            "timezone": "Europe/Berlin",
            "recurrence_id": "2026-03-30T09:00:00+02:00",
            "series_remote_id": master.remote_id,
        }
    )
    assert run(caldav_connection).status == SyncJob.Status.SUCCEEDED
    assert Event.objects.filter(title__startswith="Standup").count() == 2
    # when another client adds an RDATE to the master
    body = provider.session.request("GET", master.remote_id).body.decode()
    body = body.replace(
        "RRULE:FREQ=WEEKLY;BYDAY=MO\r\n",
        "RRULE:FREQ=WEEKLY;BYDAY=MO\r\nRDATE:20260404T070000Z\r\n",
        1,
    )
    assert "RDATE" in body
    status = request(
        radicale_calendar.account, "PUT", master.remote_id, body, {"Content-Type": "text/calendar"}
    )
    assert status in (201, 204)
    job = run(caldav_connection)
    full = run(caldav_connection, SyncJob.Kind.FULL)
    # then neither the series nor its exception is deleted locally; both are reported
    assert Event.objects.filter(title__startswith="Standup", deleted_at__isnull=True).count() == 2
    for done in (job, full):
        assert done.status == SyncJob.Status.SUCCEEDED, done.error
        assert {e["remote_id"] for e in done.report["unsyncable"]} == {
            master.remote_id,
            f"{master.remote_id}#2026-03-30T09:00:00+02:00",
        }


@pytest.fixture
def graph(use_provider, http_for, user):
    from integrations.providers.outlook.provider import OutlookProvider
    from tests.integrations.calendar.fake_graph import FakeGraphCalendar

    connection = Connection.objects.create(
        user=user, service=Service.objects.get(key="outlook"), external_account_id="alice"
    )
    Credential.objects.create(connection=connection, access_token="tok-live")
    use_provider(lambda conn: OutlookProvider(conn, http=http_for("outlook")))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield connection, FakeGraphCalendar(mocked)


def test_outlook_full_listing_does_not_delete_a_series_it_cannot_read(graph) -> None:
    # given a linked weekly series and a single event
    connection, fake = graph
    zone = "W. Europe Standard Time"
    weekly = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        "range": {"type": "noEnd", "startDate": "2026-03-23", "recurrenceTimeZone": zone},
    }
    fake.add(
        {
            "subject": "Weekly sync",
            "start": {"dateTime": "2026-03-23T09:00:00", "timeZone": zone},
            "end": {"dateTime": "2026-03-23T09:30:00", "timeZone": zone},
            "recurrence": weekly,
        },
        event_id="series",
    )
    fake.add(
        {
            "subject": "Dentist",
            "start": {"dateTime": "2026-03-25T13:00:00", "timeZone": zone},
            "end": {"dateTime": "2026-03-25T14:00:00", "timeZone": zone},
        },
        event_id="single",
    )
    assert run(connection).status == SyncJob.Status.SUCCEEDED
    local = Event.objects.get(title="Weekly sync")
    # when its pattern becomes one Graph has and we cannot express, and a full listing runs
    odd = {**weekly, "pattern": {**weekly["pattern"], "type": "hourlyish"}}
    fake._store({**fake.events["series"], "recurrence": odd})
    job = run(connection, SyncJob.Kind.FULL)
    # then the local series stays, and the job says why it was not synced
    assert job.status == SyncJob.Status.SUCCEEDED, job.error
    assert Event.objects.filter(pk=local.pk).exists()
    assert job.errors == 1
    assert [e["remote_id"] for e in job.report["unsyncable"]] == ["series"]
    assert "hourlyish" in ItemLink.objects.get(remote_id="series").last_error
