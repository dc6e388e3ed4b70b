"""An event moved to another DayFlow calendar moves between the calendars of one CalDAV
account: a WebDAV MOVE on the real Radicale server, the same resource, never a copy."""

from __future__ import annotations

import datetime as dt

import pytest

from dayflow.models import Calendar, Event
from integrations.models import Connection
from sync import engine, links
from sync.models import ItemLink, JournalEntry, SyncJob
from tests.radicale import RadicaleAccount, RadicaleServer, connect_caldav, request

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_calendars(user, radicale_server: RadicaleServer, radicale_account: RadicaleAccount):
    work = radicale_server.mkcalendar(radicale_account, name="Work")
    family = radicale_server.mkcalendar(radicale_account, name="Family")
    connection = connect_caldav(user, work, calendars=[work.url, family.url])
    family_calendar = Calendar.objects.create(user=user, name="Family")
    family_link = connection.sync_links.get(collection=family.url)
    links.set_destination(user.pk, "event", family_calendar, family_link)
    return connection, work, family, family_calendar


def sync(connection: Connection) -> SyncJob:
    job = SyncJob.objects.create(connection=connection)
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    return job


def test_an_event_moved_to_another_calendar_moves_on_the_server(user, two_calendars):
    connection, work, family, family_calendar = two_calendars
    start = dt.datetime(2026, 3, 12, 9, tzinfo=dt.UTC)
    event = Event.objects.create(
        user=user, title="Parents' evening", start=start, end=start + dt.timedelta(hours=1)
    )
    sync(connection)  # My calendar's new events go to the first calendar: Work
    link = ItemLink.objects.get(event=event)
    assert link.remote_id.startswith(work.url)
    name = link.remote_id.rsplit("/", 1)[-1]

    event.calendar = family_calendar
    event.save()
    job = sync(connection)

    link.refresh_from_db()
    assert (link.remote_id, link.collection) == (f"{family.url}{name}", family.url)
    assert request(work.account, "GET", f"{work.url}{name}") == 404  # moved, not copied
    assert request(family.account, "GET", f"{family.url}{name}") == 200
    assert job.remote_created == 0
    assert JournalEntry.objects.filter(job=job, op="move").count() == 1
    again = sync(connection)
    assert (again.remote_created, again.local_created, again.local_deleted) == (0, 0, 0)
    assert Event.objects.filter(title="Parents' evening").count() == 1
