"""The engine end to end over the real CalDAV provider against the real Radicale server
(tests/radicale.py): full and incremental syncs both ways, echo suppression, conflicts,
deletions, the mass-deletion guard and a crash between the PUT and the link save."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest

from dayflow.models import Event
from integrations.clients import provider_for
from integrations.models import Connection
from sync import engine, jobs
from sync.engine.crash import CRASH_HOOKS
from sync.models import Conflict, ItemLink, JournalEntry, SyncJob
from tests.radicale import RadicaleCalendar, connect_caldav, request

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def ics(uid: str, title: str, day: int = 10) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other client//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;TZID=Europe/Paris:202603{day:02d}T090000\r\n"
        f"DTEND;TZID=Europe/Paris:202603{day:02d}T100000\r\n"
        f"SUMMARY:{title}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


class Server:
    """What another CalDAV client does to the calendar."""

    def __init__(self, calendar: RadicaleCalendar, connection: Connection) -> None:
        self.calendar = calendar
        self.connection = connection

    def put(self, title: str, uid: str = "", day: int = 10) -> str:
        uid = uid or f"other-{uuid.uuid4().hex[:8]}"
        url = f"{self.calendar.url}{uid}.ics"
        status = request(
            self.calendar.account,
            "PUT",
            url,
            ics(uid, title, day),
            {"Content-Type": "text/calendar"},
        )
        assert status in (201, 204)
        return uid

    def delete(self, uid: str) -> None:
        status = request(self.calendar.account, "DELETE", f"{self.calendar.url}{uid}.ics")
        assert status in (200, 204)

    def events(self) -> dict[str, dict]:
        """Every event on the server, by remote id, as the provider reads it."""
        page = provider_for(self.connection).pull(None)
        return {item.remote_id: {**item.fields, "_etag": item.version} for item in page.items}

    def titles(self) -> list[str]:
        return sorted(fields["title"] for fields in self.events().values())


@pytest.fixture
def caldav(user, radicale_calendar: RadicaleCalendar) -> Server:
    connection = connect_caldav(user, radicale_calendar)
    return Server(radicale_calendar, connection)


def sync(server: Server, **job_fields) -> SyncJob:
    job = SyncJob.objects.create(connection=server.connection, **job_fields)
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status in ("succeeded", "needs_confirmation"), job.error
    return job


def local_event(user, title: str, day: int = 12) -> Event:
    return Event.objects.create(
        user=user,
        title=title,
        start=dt.datetime(2026, 3, day, 14, tzinfo=PARIS),
        end=dt.datetime(2026, 3, day, 15, tzinfo=PARIS),
        timezone="Europe/Paris",
    )


def test_full_and_incremental_both_ways_and_no_echo(caldav, user):
    uid = caldav.put("Standup")
    local_event(user, "Dentist")

    first = sync(caldav)

    standup = Event.objects.get(title="Standup")
    assert (standup.timezone, standup.start.astimezone(PARIS).hour) == ("Europe/Paris", 9)
    assert caldav.titles() == ["Dentist", "Standup"]
    assert (first.local_created, first.remote_created) == (1, 1)
    etags = {rid: e["_etag"] for rid, e in caldav.events().items()}
    versions = dict(Event.objects.values_list("pk", "version"))

    echo = sync(caldav)

    assert echo.processed == 0
    assert {rid: e["_etag"] for rid, e in caldav.events().items()} == etags
    assert dict(Event.objects.values_list("pk", "version")) == versions

    caldav.put("Standup (moved)", uid=uid, day=11)
    dentist = Event.objects.get(title="Dentist")
    dentist.location = "Rue de Rivoli"
    dentist.save()
    sync(caldav)

    moved = Event.objects.get(pk=standup.pk)
    assert (moved.title, moved.start.astimezone(PARIS).day) == ("Standup (moved)", 11)
    events = caldav.events()
    assert any(e.get("location") == "Rue de Rivoli" for e in events.values())
    assert sync(caldav).processed == 0


def test_deletions_both_ways(caldav, user, settings):
    settings.DAYFLOW_SYNC_MASS_DELETE_MIN = 100
    gone = caldav.put("Deleted on the server")
    caldav.put("Stays")
    local_event(user, "Deleted in DayFlow")
    sync(caldav)

    caldav.delete(gone)
    Event.objects.get(title="Deleted in DayFlow").soft_delete()
    job = sync(caldav)

    assert list(Event.objects.values_list("title", flat=True)) == ["Stays"]
    assert caldav.titles() == ["Stays"]
    assert (job.local_deleted, job.remote_deleted) == (1, 1)


@pytest.mark.parametrize(
    ("strategy", "local_title", "remote_title"),
    [("manual", "mine", "theirs"), ("source", "theirs", "theirs"), ("latest", "mine", "mine")],
)
def test_conflicts_under_each_strategy(caldav, strategy, local_title, remote_title):
    caldav.connection.conflict_resolution = strategy
    caldav.connection.save()
    uid = caldav.put("original")
    sync(caldav)
    caldav.put("theirs", uid=uid)
    event = Event.objects.get()
    event.title = "mine"
    event.save()  # after the server's edit: DayFlow's is the newer one

    sync(caldav)

    assert Event.objects.get().title == local_title
    assert caldav.titles() == [remote_title]
    assert Conflict.objects.filter(status="open").exists() is (strategy == "manual")
    if strategy != "manual":
        assert JournalEntry.objects.filter(reason=f"lost:{strategy}").exists()


def test_the_mass_deletion_guard(caldav):
    uids = [caldav.put(f"event {i}", day=10 + i) for i in range(5)]
    sync(caldav)
    for uid in uids[:3]:
        caldav.delete(uid)

    job = sync(caldav)

    assert job.status == "needs_confirmation"
    assert Event.objects.count() == 5
    jobs.confirm_job(job.pk)
    engine.run_job(job.pk)
    assert Event.objects.count() == 2


class Killed(BaseException):
    """SIGKILL in-process: no handler of the engine runs (test_crash.py sends the real one)."""


def test_a_crash_between_the_put_and_the_link_save_leaves_no_duplicate(caldav, user, settings):
    local_event(user, "Pushed once")
    job = SyncJob.objects.create(connection=caldav.connection)

    def die() -> None:
        raise Killed

    CRASH_HOOKS["after_remote_create"] = die
    try:
        with pytest.raises(Killed):
            engine.run_job(job.pk)
    finally:
        CRASH_HOOKS.clear()
    assert caldav.titles() == ["Pushed once"]
    settings.DAYFLOW_SYNC_JOB_LEASE = 0

    engine.run_job(job.pk)

    job.refresh_from_db()
    assert job.status == "succeeded"
    assert caldav.titles() == ["Pushed once"]
    assert ItemLink.objects.get().remote_id == next(iter(caldav.events()))
    assert sync(caldav).processed == 0
