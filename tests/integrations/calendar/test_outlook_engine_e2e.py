"""End to end: the sync engine with the Outlook provider, against a fake of Microsoft Graph's
calendar API (tests/integrations/calendar/fake_graph.py) at the HTTP seam."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dayflow.models import Event
from integrations.providers.outlook.provider import DAYFLOW_ID
from sync.models import SyncJob
from tests.integrations.calendar.runs import run

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


WEEKLY = {
    "pattern": {
        "type": "weekly",
        "interval": 1,
        "daysOfWeek": ["monday"],
        "firstDayOfWeek": "monday",
    },
    "range": {"type": "noEnd", "startDate": "2026-03-23", "recurrenceTimeZone": "Europe/Berlin"},
}


def test_an_outlook_series_comes_in_and_edits_go_back_without_echo(graph_engine, user) -> None:
    connection, fake = graph_engine
    # given a weekly series in Outlook (Windows zone name) with one cancelled occurrence
    fake.add(
        {
            "subject": "Weekly sync",
            "start": {"dateTime": "2026-03-23T09:00:00", "timeZone": "W. Europe Standard Time"},
            "end": {"dateTime": "2026-03-23T09:30:00", "timeZone": "W. Europe Standard Time"},
            "recurrence": WEEKLY,
            "cancelledOccurrences": ["OID.series.2026-04-06"],
        },
        event_id="series",
    )
    # when the engine syncs
    first = run(connection)
    # then DayFlow has the series at 09:00 Berlin with its exception date
    assert first.status == SyncJob.Status.SUCCEEDED, first.error
    master = Event.objects.get(title="Weekly sync")
    assert (master.rrule, master.exdates, master.timezone) == (
        "FREQ=WEEKLY;BYDAY=MO",
        ["2026-04-06T09:00:00+02:00"],
        "Europe/Berlin",
    )
    # and when DayFlow moves one instance and cancels another
    Event.objects.create(
        user=user,
        title="Weekly sync (moved)",
        start=dt.datetime(2026, 3, 31, 11, tzinfo=BERLIN),
        end=dt.datetime(2026, 3, 31, 11, 30, tzinfo=BERLIN),
        timezone="Europe/Berlin",
        series=master,
        recurrence_id="2026-03-30T09:00:00+02:00",
    )
    master.exdates = [*master.exdates, "2026-04-13T09:00:00+02:00"]
    master.save()
    jobs = [run(connection) for _ in range(3)]
    # then Outlook has an exception for 30 March and a cancelled 13 April occurrence
    assert all(job.status == SyncJob.Status.SUCCEEDED for job in jobs), [j.error for j in jobs]
    (exception,) = [e for e in fake.events.values() if e["type"] == "exception"]
    assert exception["subject"] == "Weekly sync (moved)"
    assert exception["originalStart"] == "2026-03-30T07:00:00Z"
    assert "OID.series.2026-04-13" in fake.events["series"]["cancelledOccurrences"]
    # and nothing echoes back
    writes = fake.writes
    assert run(connection).processed == 0
    assert fake.writes == writes


def test_a_dayflow_event_is_created_once_with_its_id(graph_engine, user) -> None:
    connection, fake = graph_engine
    local = Event.objects.create(
        user=user,
        title="Dentist",
        start=dt.datetime(2026, 3, 25, 13, tzinfo=dt.UTC),
        end=dt.datetime(2026, 3, 25, 14, tzinfo=dt.UTC),
        timezone="America/New_York",
    )

    jobs = [run(connection) for _ in range(2)]

    assert all(job.status == SyncJob.Status.SUCCEEDED for job in jobs)
    (created,) = fake.events.values()
    assert created["originalStartTimeZone"] == "America/New_York"
    assert created["start"]["dateTime"].startswith("2026-03-25T13:00:00")
    assert {"id": DAYFLOW_ID, "value": f"dayflow-event-{local.pk}"} in created[
        "singleValueExtendedProperties"
    ]
    assert jobs[-1].processed == 0
