"""End to end: the sync engine with the Google Calendar provider, against a fake of the
events API (tests/integrations/calendar/fake_google.py) at the HTTP seam."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dayflow.models import Event
from sync import engine
from sync.models import SyncJob
from tests.integrations.calendar.runs import run

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def test_two_way_sync_with_a_series_then_edits_then_nothing_to_do(google_engine, user) -> None:
    connection, fake = google_engine
    # given a series with a moved instance and an exception date at Google, and a local event
    fake.add(
        {
            "id": "series1",
            "summary": "Weekly sync",
            "start": {"dateTime": "2026-03-23T09:00:00+01:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2026-03-23T09:30:00+01:00", "timeZone": "Europe/Berlin"},
            "recurrence": [
                "RRULE:FREQ=WEEKLY;BYDAY=MO",
                "EXDATE;TZID=Europe/Berlin:20260406T090000",
            ],
        }
    )
    fake.add(
        {
            "id": "series1_20260330T070000Z",
            "summary": "Weekly sync (moved)",
            "start": {"dateTime": "2026-03-31T10:00:00+02:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2026-03-31T10:30:00+02:00", "timeZone": "Europe/Berlin"},
            "recurringEventId": "series1",
            "originalStartTime": {
                "dateTime": "2026-03-30T09:00:00+02:00",
                "timeZone": "Europe/Berlin",
            },
        }
    )
    local = Event.objects.create(
        user=user,
        title="Wake up",
        start=dt.datetime(2026, 5, 1, 7, tzinfo=dt.UTC),
        end=dt.datetime(2026, 5, 1, 7, 15, tzinfo=dt.UTC),
        timezone="",  # floating
    )
    # when the engine syncs
    first = run(connection)
    # then the series arrived as master plus exception, and the local event went out flagged
    assert first.status == SyncJob.Status.SUCCEEDED, first.error
    master = Event.objects.get(title="Weekly sync")
    assert (master.rrule, master.exdates) == (
        "FREQ=WEEKLY;BYDAY=MO",
        ["2026-04-06T09:00:00+02:00"],
    )
    assert Event.objects.get(title="Weekly sync (moved)").series_id == master.pk
    (sent,) = [e for e in fake.events.values() if e.get("summary") == "Wake up"]
    assert sent["extendedProperties"]["private"] == {
        "dayflowId": f"dayflow-event-{local.pk}",
        "dayflowFloating": "1",
    }
    # and when DayFlow renames the master, only the master is rewritten, with If-Match
    master.title = "Weekly sync (renamed)"
    master.save()
    writes = fake.writes
    second = run(connection)
    assert second.status == SyncJob.Status.SUCCEEDED, second.error
    assert fake.writes == writes + 1
    assert fake.events["series1"]["summary"] == "Weekly sync (renamed)"
    assert fake.events["series1_20260330T070000Z"]["summary"] == "Weekly sync (moved)"
    # and then nothing echoes back: further syncs write nothing on either side
    writes, versions = fake.writes, sorted(Event.objects.values_list("version", flat=True))
    run(connection)
    last = run(connection)
    assert (fake.writes, last.processed) == (writes, 0)
    assert sorted(Event.objects.values_list("version", flat=True)) == versions


def test_a_series_made_in_dayflow_reaches_google_with_its_instance(google_engine, user) -> None:
    connection, fake = google_engine
    master = Event.objects.create(
        user=user,
        title="Piano",
        start=dt.datetime(2026, 10, 19, 17, tzinfo=BERLIN),
        end=dt.datetime(2026, 10, 19, 18, tzinfo=BERLIN),
        timezone="Europe/Berlin",
        rrule="FREQ=WEEKLY;BYDAY=MO",
        exdates=["2026-11-02T17:00:00+01:00"],
    )
    Event.objects.create(
        user=user,
        title="Piano (recital)",
        start=dt.datetime(2026, 10, 26, 19, tzinfo=BERLIN),
        end=dt.datetime(2026, 10, 26, 21, tzinfo=BERLIN),
        timezone="Europe/Berlin",
        series=master,
        recurrence_id="2026-10-26T17:00:00+01:00",
    )

    jobs = [run(connection) for _ in range(4)]

    assert all(job.status == SyncJob.Status.SUCCEEDED for job in jobs)
    (series,) = [e for e in fake.events.values() if e.get("recurrence")]
    assert series["start"] == {"dateTime": "2026-10-19T17:00:00+02:00", "timeZone": "Europe/Berlin"}
    assert series["recurrence"] == [
        "RRULE:FREQ=WEEKLY;BYDAY=MO",
        "EXDATE;TZID=Europe/Berlin:20261102T170000",
    ]
    (instance,) = [e for e in fake.events.values() if e.get("recurringEventId")]
    assert instance["summary"] == "Piano (recital)"
    assert instance["originalStartTime"]["dateTime"] == "2026-10-26T17:00:00+01:00"
    assert instance["recurringEventId"] == series["id"]
    assert jobs[-1].processed == 0


def test_a_full_resync_finds_an_event_deleted_while_the_token_was_gone(google_engine, user) -> None:
    connection, fake = google_engine
    for number in range(3):
        fake.add(
            {
                "id": f"single{number}",
                "summary": f"Meeting {number}",
                "start": {"dateTime": f"2026-06-0{number + 1}T09:00:00+02:00"},
                "end": {"dateTime": f"2026-06-0{number + 1}T10:00:00+02:00"},
            }
        )
    assert run(connection).status == SyncJob.Status.SUCCEEDED
    # when an event disappears without a trace (no cancelled tombstone: after a 410 Gone,
    # Google's full listing simply no longer has it) and a full resync runs
    del fake.events["single1"]
    full = SyncJob.objects.create(connection=connection, kind=SyncJob.Kind.FULL)
    engine.run_job(full.pk)
    full.refresh_from_db()
    # then the deletion is found by difference, and only that event goes
    assert full.status == SyncJob.Status.SUCCEEDED, full.error
    assert sorted(Event.objects.values_list("title", flat=True)) == ["Meeting 0", "Meeting 2"]
    assert Event.all_objects.get(title="Meeting 1").is_deleted
