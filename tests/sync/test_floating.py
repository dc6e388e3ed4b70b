"""Floating times (no zone: the same wall clock wherever the user is) through the engine and the
real CalDAV provider on Radicale. DayFlow's Event keeps them as the wall clock stored as if UTC
with timezone "" (sync/fields.py), so saving one never hits Django's naive-datetime warning."""

from __future__ import annotations

import datetime as dt

import pytest

from dayflow.models import Event
from sync import engine
from sync.models import ItemLink, SyncJob
from tests.radicale import RadicaleCalendar, connect_caldav, request
from tests.sync.test_e2e_caldav import Server

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("error::RuntimeWarning")]

NINE = dt.datetime(2026, 3, 10, 9, 0)


def floating_ics(uid: str, title: str, start: dt.datetime) -> str:
    stamp = "%Y%m%dT%H%M%S"  # no TZID and no Z: floating (RFC 5545 §3.3.5, form #1)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other client//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART:{start.strftime(stamp)}\r\n"
        f"DTEND:{(start + dt.timedelta(hours=1)).strftime(stamp)}\r\n"
        f"SUMMARY:{title}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@pytest.fixture
def caldav(user, radicale_calendar: RadicaleCalendar) -> Server:
    connection = connect_caldav(user, radicale_calendar)
    return Server(radicale_calendar, connection)


def sync(server: Server) -> SyncJob:
    job = SyncJob.objects.create(connection=server.connection)
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    return job


def put_floating(server: Server, uid: str, title: str, start: dt.datetime) -> None:
    url = f"{server.calendar.url}{uid}.ics"
    body = floating_ics(uid, title, start)
    status = request(server.calendar.account, "PUT", url, body, {"Content-Type": "text/calendar"})
    assert status in (201, 204)


def test_a_floating_event_from_the_server_round_trips_unchanged(caldav):
    put_floating(caldav, "floating-1", "Morning run", NINE)

    first = sync(caldav)

    event = Event.objects.get()
    assert (event.timezone, event.start, event.end) == (
        "",
        NINE.replace(tzinfo=dt.UTC),  # the wall clock, stored as if UTC
        NINE.replace(hour=10, tzinfo=dt.UTC),
    )
    assert first.local_created == 1
    assert sync(caldav).processed == 0  # read back as the same floating time: no change

    event.title = "Morning run (long)"
    event.save()
    sync(caldav)

    (remote,) = caldav.events().values()
    assert (remote["title"], remote["start"], remote["end"], remote["timezone"]) == (
        "Morning run (long)",
        NINE,  # still floating on the server: naive, at the same wall clock
        NINE.replace(hour=10),
        "",
    )
    assert sync(caldav).processed == 0


def test_a_floating_event_made_in_dayflow_reaches_the_server_floating(caldav, user):
    Event.objects.create(
        user=user,
        title="Lunch",
        start=NINE.replace(hour=12, tzinfo=dt.UTC),
        end=NINE.replace(hour=13, tzinfo=dt.UTC),
        timezone="",
    )

    assert sync(caldav).remote_created == 1

    (remote,) = caldav.events().values()
    assert (remote["start"], remote["end"], remote["timezone"]) == (
        NINE.replace(hour=12),
        NINE.replace(hour=13),
        "",
    )
    assert ItemLink.objects.get().base["start"] == "2026-03-10T12:00:00"
    assert sync(caldav).processed == 0


@pytest.mark.parametrize(
    ("stored", "fields"),
    [
        # a floating wall clock: naive on the way out, whatever zone the process runs in
        (NINE.replace(tzinfo=dt.UTC), {"start": "2026-03-10T09:00:00", "timezone": ""}),
        # a zoned event keeps its instant in UTC
        (NINE.replace(tzinfo=dt.UTC), {"start": "2026-03-10T09:00:00+00:00", "timezone": "UTC"}),
    ],
)
def test_local_fields_of_floating_and_zoned_events(user, stored, fields):
    from sync import fields as codec

    event = Event(user=user, title="t", start=stored, end=stored, timezone=fields["timezone"])

    out = codec.event_fields(event)

    assert {name: out[name] for name in fields} == fields
