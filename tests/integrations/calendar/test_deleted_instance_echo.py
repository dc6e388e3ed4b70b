"""Deleting one overridden instance of a series in DayFlow changes its master on the service
(an EXDATE on CalDAV, a cancelled occurrence on Graph): the engine records that write as its
own, so the next sync writes nothing and a later edit of the series is no conflict.

One scenario per calendar provider: CalDAV against the real Radicale, Google and Outlook
against their fakes (fake_google.py, fake_graph.py)."""

from __future__ import annotations

import pytest

from dayflow.models import Event
from integrations.clients import provider_for
from integrations.providers import caldav
from sync.models import Conflict, JournalEntry
from sync.repair import undo_job
from tests.integrations.calendar.runs import run_ok as run
from tests.radicale import RadicaleCalendar, request

pytestmark = pytest.mark.django_db
DELETED = "2026-03-30T09:00:00+02:00"  # the original start of the instance DayFlow deletes
SERIES = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//EN\r\n"
    "BEGIN:VEVENT\r\nUID:series-1\r\nDTSTAMP:20260101T000000Z\r\nSEQUENCE:2\r\n"
    "DTSTART;TZID=Europe/Berlin:20260323T090000\r\nDTEND;TZID=Europe/Berlin:20260323T093000\r\n"
    "RRULE:FREQ=WEEKLY;COUNT=6;BYDAY=MO\r\nEXDATE;TZID=Europe/Berlin:20260406T090000\r\n"
    "SUMMARY:Weekly sync\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:series-1\r\nDTSTAMP:20260101T000000Z\r\n"
    "RECURRENCE-ID;TZID=Europe/Berlin:20260330T090000\r\n"
    "DTSTART;TZID=Europe/Berlin:20260331T100000\r\nDTEND;TZID=Europe/Berlin:20260331T103000\r\n"
    "SUMMARY:Weekly sync (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def delete_the_moved_instance() -> Event:
    """DayFlow deletes the overridden instance; returns its master as it is now."""
    Event.objects.get(title="Weekly sync (moved)").soft_delete()
    return Event.objects.get(title="Weekly sync")


def assert_second_sync_is_silent(connection, writes) -> None:
    """A sync with no change anywhere: no journal row, no write, no new local version."""
    journal = JournalEntry.objects.count()
    versions = dict(Event.all_objects.values_list("pk", "version"))
    before = writes()
    job = run(connection)
    assert (job.processed, JournalEntry.objects.count()) == (0, journal)
    assert writes() == before
    assert dict(Event.all_objects.values_list("pk", "version")) == versions


def assert_series_edit_goes_through(connection, remote_title) -> None:
    """Under "Ask me", an edit of the series after the deletion sync is no conflict."""
    assert connection.conflict_resolution == "manual"
    master = Event.objects.get(title="Weekly sync")
    master.title = "Weekly sync (renamed)"
    master.save()
    run(connection)
    assert not Conflict.objects.exists()
    assert remote_title() == "Weekly sync (renamed)"
    master.refresh_from_db()
    assert DELETED in master.exdates


# --- CalDAV, on the real Radicale ---------------------------------------------------------
@pytest.fixture
def caldav_writes(monkeypatch) -> list[tuple[str, str]]:
    """Every PUT and DELETE the CalDAV provider sends."""
    sent: list[tuple[str, str]] = []
    original = caldav.DavSession.request

    def spy(self, method, url, *args, **kwargs):
        if method in ("PUT", "DELETE"):
            sent.append((method, url))
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(caldav.DavSession, "request", spy)
    return sent


def synced_caldav_series(connection, calendar: RadicaleCalendar) -> str:
    url = calendar.url + "series-1.ics"
    status = request(calendar.account, "PUT", url, SERIES, {"Content-Type": "text/calendar"})
    assert status == 201
    run(connection)
    return url


def caldav_master(connection, url: str) -> dict:
    return provider_for(connection).get(url).fields


def test_caldav_deleting_an_instance_then_syncing_again_writes_nothing(
    caldav_connection, radicale_calendar: RadicaleCalendar, caldav_writes
) -> None:
    # given a series with a moved instance, synced
    url = synced_caldav_series(caldav_connection, radicale_calendar)
    # when DayFlow deletes the moved instance and syncs
    master = delete_the_moved_instance()
    version = master.version
    run(caldav_connection)
    # then the server's master excludes that date, with a higher SEQUENCE
    exdates = [DELETED, "2026-04-06T09:00:00+02:00"]
    assert caldav_master(caldav_connection, url)["exdates"] == exdates
    master_text = provider_for(caldav_connection).session.request("GET", url).body.decode()
    assert "SEQUENCE:3" in master_text.split("BEGIN:VEVENT")[1]
    # and the local master learnt it without counting as a local change
    master.refresh_from_db()
    assert master.exdates == exdates
    assert master.version == version
    # and a sync with nothing new writes nothing on either side
    assert_second_sync_is_silent(caldav_connection, lambda: len(caldav_writes))


def test_caldav_editing_the_series_after_deleting_an_instance_is_no_conflict(
    caldav_connection, radicale_calendar: RadicaleCalendar
) -> None:
    url = synced_caldav_series(caldav_connection, radicale_calendar)
    delete_the_moved_instance()
    run(caldav_connection)

    assert_series_edit_goes_through(
        caldav_connection, lambda: caldav_master(caldav_connection, url)["title"]
    )
    assert DELETED in caldav_master(caldav_connection, url)["exdates"]


def test_caldav_editing_the_master_and_deleting_an_instance_in_one_sync(
    caldav_connection, radicale_calendar: RadicaleCalendar, caldav_writes
) -> None:
    # given a series whose moved instance now takes place before the series starts, so DayFlow
    # lists it before its master among the local changes
    early = SERIES.replace(
        "DTSTART;TZID=Europe/Berlin:20260331T100000", "DTSTART;TZID=Europe/Berlin:20260320T100000"
    )
    early = early.replace(
        "DTEND;TZID=Europe/Berlin:20260331T103000", "DTEND;TZID=Europe/Berlin:20260320T103000"
    )
    url = radicale_calendar.url + "series-1.ics"
    headers = {"Content-Type": "text/calendar"}
    assert request(radicale_calendar.account, "PUT", url, early, headers) == 201
    run(caldav_connection)
    # when DayFlow renames the master and deletes the instance before the next sync
    master = delete_the_moved_instance()
    master.title = "Weekly sync (renamed)"
    master.save()
    job = run(caldav_connection)
    # then both reach the server, without a conflict
    assert job.conflicts == 0
    remote = caldav_master(caldav_connection, url)
    assert (remote["title"], remote["exdates"][0]) == ("Weekly sync (renamed)", DELETED)
    # and the next sync writes nothing on either side
    assert_second_sync_is_silent(caldav_connection, lambda: len(caldav_writes))


def test_caldav_undoing_the_deletion_brings_the_instance_back_without_the_exdate(
    caldav_connection, radicale_calendar: RadicaleCalendar
) -> None:
    url = synced_caldav_series(caldav_connection, radicale_calendar)
    delete_the_moved_instance()
    deletion = run(caldav_connection)

    report = undo_job(deletion.pk)

    # then the master's new exception date is reverted on both sides with the instance
    assert (report.reverted, report.skipped) == (2, [])
    items = {i.fields["title"]: i.fields for i in provider_for(caldav_connection).pull(None).items}
    assert items["Weekly sync"]["exdates"] == ["2026-04-06T09:00:00+02:00"]
    assert items["Weekly sync (moved)"]["recurrence_id"] == DELETED
    master = Event.objects.get(title="Weekly sync")
    assert master.exdates == ["2026-04-06T09:00:00+02:00"]
    assert Event.objects.get(title="Weekly sync (moved)").series_id == master.pk
    assert run(caldav_connection).conflicts == 0
    assert caldav_master(caldav_connection, url)["exdates"] == ["2026-04-06T09:00:00+02:00"]


# --- Outlook, against the fake of Graph -------------------------------------------------------
WINDOWS_BERLIN = "W. Europe Standard Time"


def synced_outlook_series(connection, fake) -> None:
    weekly = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        "range": {"type": "numbered", "startDate": "2026-03-23", "numberOfOccurrences": 6},
    }
    fake.add(
        {
            "subject": "Weekly sync",
            "start": {"dateTime": "2026-03-23T09:00:00", "timeZone": WINDOWS_BERLIN},
            "end": {"dateTime": "2026-03-23T09:30:00", "timeZone": WINDOWS_BERLIN},
            "recurrence": weekly,
        },
        event_id="series",
    )
    fake.add(
        {
            "type": "exception",
            "seriesMasterId": "series",
            "originalStart": "2026-03-30T07:00:00Z",
            "subject": "Weekly sync (moved)",
            "start": {"dateTime": "2026-03-31T10:00:00", "timeZone": WINDOWS_BERLIN},
            "end": {"dateTime": "2026-03-31T10:30:00", "timeZone": WINDOWS_BERLIN},
        },
        event_id="moved",
    )
    run(connection)


def test_outlook_deleting_an_instance_then_syncing_again_writes_nothing(graph_engine) -> None:
    connection, fake = graph_engine
    synced_outlook_series(connection, fake)
    # when DayFlow deletes the moved instance and syncs
    master = delete_the_moved_instance()
    version = master.version
    run(connection)
    # then Outlook cancelled that occurrence, and the local master learnt it quietly
    assert fake.events["series"]["cancelledOccurrences"] == ["OID.series.2026-03-30"]
    master.refresh_from_db()
    assert (master.exdates, master.version) == ([DELETED], version)
    # and a sync with nothing new writes nothing on either side
    assert_second_sync_is_silent(connection, lambda: fake.writes)


def test_outlook_editing_the_series_after_deleting_an_instance_is_no_conflict(
    graph_engine,
) -> None:
    connection, fake = graph_engine
    synced_outlook_series(connection, fake)
    delete_the_moved_instance()
    run(connection)

    assert_series_edit_goes_through(connection, lambda: fake.events["series"]["subject"])
    assert fake.events["series"]["cancelledOccurrences"] == ["OID.series.2026-03-30"]


# --- Google, against the fake of the events API -----------------------------------------------
def synced_google_series(connection, fake) -> None:
    when = {"timeZone": "Europe/Berlin"}
    fake.add(
        {
            "id": "series1",
            "summary": "Weekly sync",
            "start": {"dateTime": "2026-03-23T09:00:00+01:00", **when},
            "end": {"dateTime": "2026-03-23T09:30:00+01:00", **when},
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=6;BYDAY=MO"],
        }
    )
    fake.add(
        {
            "id": "series1_20260330T070000Z",
            "summary": "Weekly sync (moved)",
            "start": {"dateTime": "2026-03-31T10:00:00+02:00", **when},
            "end": {"dateTime": "2026-03-31T10:30:00+02:00", **when},
            "recurringEventId": "series1",
            "originalStartTime": {"dateTime": "2026-03-30T09:00:00+02:00", **when},
        }
    )
    run(connection)


def test_google_deleting_an_instance_then_syncing_again_writes_nothing(google_engine) -> None:
    connection, fake = google_engine
    synced_google_series(connection, fake)
    # when DayFlow deletes the moved instance and syncs
    master = delete_the_moved_instance()
    version = master.version
    run(connection)
    # then Google keeps the instance as a cancelled exception of the series
    cancelled = fake.events["series1_20260330T070000Z"]
    assert (cancelled["status"], cancelled["recurringEventId"]) == ("cancelled", "series1")
    master.refresh_from_db()
    assert master.version == version
    # and a sync with nothing new writes nothing on either side
    assert_second_sync_is_silent(connection, lambda: fake.writes)
    assert not Event.objects.filter(title="Weekly sync (moved)").exists()


def test_google_editing_the_series_after_deleting_an_instance_is_no_conflict(
    google_engine,
) -> None:
    connection, fake = google_engine
    synced_google_series(connection, fake)
    delete_the_moved_instance()
    run(connection)

    master = Event.objects.get(title="Weekly sync")
    master.title = "Weekly sync (renamed)"
    master.save()
    run(connection)
    assert not Conflict.objects.exists()
    assert fake.events["series1"]["summary"] == "Weekly sync (renamed)"
    assert fake.events["series1_20260330T070000Z"]["status"] == "cancelled"
    # and the cancelled exception Google kept did not come back as a new instance
    assert not Event.objects.filter(series=master).exists()
