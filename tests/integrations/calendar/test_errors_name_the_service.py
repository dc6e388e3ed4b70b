"""Errors name the connection's service, not the shared code that raised them.

Apple Calendar and Fastmail share one CalDAV provider, Google and Outlook share `events.py`:
an error must still say whose calendar it came from (`apple-calendar`, `outlook`, ...).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from integrations.clients import provider_for
from integrations.models import Connection
from integrations.providers.errors import AuthExpired, NotFound
from integrations.providers.events import UnsupportedRecurrence
from integrations.providers.google_calendar import provider as google
from integrations.providers.outlook import provider as outlook
from sync.models import SyncJob
from tests.integrations.calendar.runs import run
from tests.radicale import RadicaleCalendar, connect_caldav

pytestmark = pytest.mark.django_db

GRAPH = Path(__file__).resolve().parents[2] / "fixtures" / "msgraph"


@pytest.fixture
def apple_connection(user, radicale_calendar: RadicaleCalendar) -> Connection:
    """An Apple Calendar connection whose server is the test Radicale."""
    return connect_caldav(user, radicale_calendar, service="apple-calendar")


def test_a_refused_caldav_request_on_an_apple_connection_names_apple(apple_connection):
    # given an Apple connection whose app password the server no longer accepts
    credential = apple_connection.credential
    credential.app_password = "revoked"
    credential.save()
    # when its provider asks the server for changes
    with pytest.raises(AuthExpired) as refused:
        provider_for(apple_connection).pull(None)
    # then the error is Apple Calendar's, not "caldav"
    assert refused.value.service == "apple-calendar"
    assert str(refused.value).startswith("apple-calendar: ")


def test_a_missing_calendar_fails_the_apple_sync_under_apple_s_name(
    apple_connection, radicale_calendar: RadicaleCalendar
):
    # given a chosen calendar the server does not have
    apple_connection.field_mapping = {"calendars": [radicale_calendar.url + "gone/"]}
    apple_connection.save()
    # when the engine syncs the connection
    job = run(apple_connection)
    # then the job failed with the connection's service in its reason
    assert job.status == SyncJob.Status.FAILED
    assert "apple-calendar: " in job.error


def test_a_caldav_item_read_back_names_the_connection_s_service(apple_connection):
    with pytest.raises(NotFound) as missing:
        provider_for(apple_connection).get(
            apple_connection.field_mapping["calendars"][0] + "nothing-here.ics"
        )

    assert missing.value.service == "apple-calendar"


def test_an_outlook_recurrence_it_cannot_read_names_outlook():
    # given a Graph series with a pattern we cannot express
    event = json.loads((GRAPH / "event_master.json").read_text())
    event["recurrence"]["pattern"]["type"] = "hourlyish"
    # when it is read, then the shared recurrence code names Outlook
    with pytest.raises(UnsupportedRecurrence) as unsupported:
        outlook.to_fields(event)
    assert unsupported.value.service == "outlook"


def test_an_outlook_series_it_cannot_write_names_outlook():
    with pytest.raises(UnsupportedRecurrence) as unsupported:
        outlook.to_remote(_monthly_on_two_positions())

    assert unsupported.value.service == "outlook"


def test_google_recurrence_lines_it_cannot_read_name_google():
    event = {
        "id": "e1",
        "start": {"dateTime": "2026-03-23T09:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-03-23T09:30:00+01:00", "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=DAILY", "RDATE:20260401T090000Z"],
    }

    with pytest.raises(UnsupportedRecurrence) as unsupported:
        google.to_fields(event)

    assert unsupported.value.service == "google-calendar"


def _monthly_on_two_positions() -> dict:
    start = dt.datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Europe/Berlin"))
    return {
        "title": "Standup",
        "description": "",
        "location": "",
        "status": "confirmed",
        "all_day": False,
        "start": start,
        "end": start + dt.timedelta(minutes=15),
        "timezone": "Europe/Berlin",
        "rrule": "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1,2",
        "exdates": [],
        "recurrence_id": "",
        "series_remote_id": "",
    }
