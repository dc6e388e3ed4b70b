"""End to end: the sync engine with the CalDAV provider against the real Radicale."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dayflow.models import Event
from integrations.clients import provider_for
from sync.models import SyncJob
from tests.integrations.calendar.runs import run
from tests.radicale import RadicaleCalendar, request

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
SERIES = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//EN\r\n"
    "BEGIN:VEVENT\r\nUID:series-1\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20260323T090000\r\nDTEND;TZID=Europe/Berlin:20260323T093000\r\n"
    "RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=MO\r\nEXDATE;TZID=Europe/Berlin:20260406T090000\r\n"
    "SUMMARY:Weekly sync\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:series-1\r\nDTSTAMP:20260101T000000Z\r\n"
    "RECURRENCE-ID;TZID=Europe/Berlin:20260330T090000\r\n"
    "DTSTART;TZID=Europe/Berlin:20260331T100000\r\nDTEND;TZID=Europe/Berlin:20260331T103000\r\n"
    "SUMMARY:Weekly sync (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_two_way_sync_of_a_series_and_a_local_event_then_nothing_to_do(
    caldav_connection, radicale_calendar: RadicaleCalendar, user
) -> None:
    # given a series with a moved and a deleted instance on the server, and a local event
    status = request(
        radicale_calendar.account,
        "PUT",
        radicale_calendar.url + "series-1.ics",
        SERIES,
        {"Content-Type": "text/calendar"},
    )
    assert status == 201
    local = Event.objects.create(
        user=user,
        title="Dentist",
        start=dt.datetime(2026, 3, 25, 14, tzinfo=BERLIN),
        end=dt.datetime(2026, 3, 25, 15, tzinfo=BERLIN),
        timezone="Europe/Berlin",
    )
    # when the engine syncs
    first = run(caldav_connection)
    # then the series came in as a master with its exception, and the local event went out
    assert first.status == SyncJob.Status.SUCCEEDED, first.error
    master = Event.objects.get(title="Weekly sync")
    assert (master.rrule, master.exdates, master.timezone) == (
        "FREQ=WEEKLY;COUNT=4;BYDAY=MO",
        ["2026-04-06T09:00:00+02:00"],
        "Europe/Berlin",
    )
    moved = Event.objects.get(title="Weekly sync (moved)")
    assert moved.recurrence_id == "2026-03-30T09:00:00+02:00"
    assert moved.series_id == master.pk
    provider = provider_for(caldav_connection)
    pulled = {i.fields["title"]: i for i in provider.pull(None).items}
    assert pulled["Dentist"].dayflow_id == f"dayflow-event-{local.pk}"
    assert pulled["Dentist"].fields["start"] == dt.datetime(2026, 3, 25, 14, tzinfo=BERLIN)
    # and a second sync finds nothing to write on either side
    second = run(caldav_connection)
    assert second.status == SyncJob.Status.SUCCEEDED, second.error
    assert second.processed == 0


def test_edits_on_each_side_reach_the_other_and_the_series_stays_whole(
    caldav_connection, radicale_calendar: RadicaleCalendar
) -> None:
    # given the series synced once
    request(
        radicale_calendar.account,
        "PUT",
        radicale_calendar.url + "series-1.ics",
        SERIES,
        {"Content-Type": "text/calendar"},
    )
    assert run(caldav_connection).status == SyncJob.Status.SUCCEEDED
    # when DayFlow renames the master
    master = Event.objects.get(title="Weekly sync")
    master.title = "Weekly sync (renamed)"
    master.save()
    job = run(caldav_connection)
    # then the server's resource has the new master and still the moved instance
    assert job.status == SyncJob.Status.SUCCEEDED, job.error
    items = {i.remote_id: i.fields for i in provider_for(caldav_connection).pull(None).items}
    titles = sorted(f["title"] for f in items.values())
    assert titles == ["Weekly sync (moved)", "Weekly sync (renamed)"]
    (got_master,) = [f for f in items.values() if f["rrule"]]
    assert got_master["exdates"] == ["2026-04-06T09:00:00+02:00"]
    # and our own write is not echoed back: the next sync writes nothing on either side (it
    # only records the exception's new etag, which it shares with the rewritten resource)
    versions = sorted(Event.objects.values_list("version", flat=True))
    etags = sorted(i.version for i in provider_for(caldav_connection).pull(None).items)
    assert run(caldav_connection).status == SyncJob.Status.SUCCEEDED
    assert sorted(Event.objects.values_list("version", flat=True)) == versions
    assert sorted(i.version for i in provider_for(caldav_connection).pull(None).items) == etags
    assert run(caldav_connection).processed == 0


def test_a_series_made_in_dayflow_reaches_the_server_as_one_resource(
    caldav_connection, user
) -> None:
    # given a series with an exception date and a moved instance, made in DayFlow
    master = Event.objects.create(
        user=user,
        title="Series",
        start=dt.datetime(2026, 3, 23, 9, tzinfo=BERLIN),
        end=dt.datetime(2026, 3, 23, 10, tzinfo=BERLIN),
        timezone="Europe/Berlin",
        rrule="FREQ=WEEKLY;BYDAY=MO",
        exdates=["2026-04-06T09:00:00+02:00"],
    )
    Event.objects.create(
        user=user,
        title="Moved",
        start=dt.datetime(2026, 3, 31, 9, tzinfo=BERLIN),
        end=dt.datetime(2026, 3, 31, 10, tzinfo=BERLIN),
        timezone="Europe/Berlin",
        series=master,
        recurrence_id="2026-03-30T09:00:00+02:00",
    )
    # when the engine syncs a few times (the instance waits one run for its master's link;
    # the next run records the etag the master's resource got from the instance's write)
    jobs = [run(caldav_connection) for _ in range(4)]
    # then the server holds one resource: the master with its EXDATE and the moved instance
    assert all(job.status == SyncJob.Status.SUCCEEDED for job in jobs)
    items = provider_for(caldav_connection).pull(None).items
    resources = {i.remote_id.split("#")[0] for i in items}
    assert len(resources) == 1
    by_title = {i.fields["title"]: i for i in items}
    assert by_title["Series"].fields["exdates"] == ["2026-04-06T09:00:00+02:00"]
    assert by_title["Moved"].fields["series_remote_id"] == by_title["Series"].remote_id
    assert by_title["Moved"].fields["recurrence_id"] == "2026-03-30T09:00:00+02:00"
    assert jobs[-1].processed == 0
