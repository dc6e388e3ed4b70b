"""An update from DayFlow replaces only the fields DayFlow models: whatever else the event
carries (attendees, reminders, alarms, other apps' properties…) survives it."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pytest
import responses

from integrations.providers.google_calendar import GoogleCalendarProvider

GOOGLE_EVENTS = "https://www.googleapis.com/calendar/v3/calendars/primary/events"

GOOGLE_EVENT = {
    "kind": "calendar#event",
    "id": "team0sync",
    "etag": '"3"',
    "status": "confirmed",
    "summary": "Team sync",
    "description": "Agenda",
    "location": "Room 4",
    "colorId": "5",
    "visibility": "private",
    "transparency": "transparent",
    "start": {"dateTime": "2026-11-30T10:00:00+01:00", "timeZone": "Europe/Berlin"},
    "end": {"dateTime": "2026-11-30T11:00:00+01:00", "timeZone": "Europe/Berlin"},
    "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO"],
    "attendees": [
        {"email": "bob@example.com", "responseStatus": "accepted"},
        {"email": "carol@example.com", "responseStatus": "needsAction"},
    ],
    "reminders": {"useDefault": False, "overrides": [{"method": "popup", "minutes": 10}]},
    "conferenceData": {"conferenceId": "abc-defg-hij", "entryPoints": [{"uri": "https://x"}]},
    "extendedProperties": {
        "private": {"dayflowId": "ev-9", "otherApp": "keep-me"},
        "shared": {"room": "4"},
    },
}
UNMODELED = ("colorId", "visibility", "transparency", "attendees", "reminders", "conferenceData")


@pytest.fixture
def google(http_for) -> GoogleCalendarProvider:
    connection = SimpleNamespace(field_mapping={"calendars": ["primary"]})
    return GoogleCalendarProvider(connection, http=http_for("google-calendar"))


def test_google_update_keeps_what_dayflow_does_not_model(
    google: GoogleCalendarProvider, mocked: responses.RequestsMock
) -> None:
    # given an event with attendees, reminders, a conference and another app's property
    url = f"{GOOGLE_EVENTS}/team0sync"
    mocked.get(url, json=GOOGLE_EVENT)
    mocked.put(url, json={**GOOGLE_EVENT, "etag": '"4"', "summary": "Team sync (moved)"})
    fields = google.to_item(copy.deepcopy(GOOGLE_EVENT), "primary").fields
    # when DayFlow renames it
    google.update("primary/team0sync", {**fields, "title": "Team sync (moved)"}, '"3"')
    # then the PUT carries the new title and everything else as it was
    sent = json.loads(mocked.calls[1].request.body)
    assert mocked.calls[1].request.headers["If-Match"] == '"3"'
    assert sent["summary"] == "Team sync (moved)"
    for name in UNMODELED:
        assert sent[name] == GOOGLE_EVENT[name], name
    assert sent["extendedProperties"] == GOOGLE_EVENT["extendedProperties"]
    assert sent["recurrence"] == GOOGLE_EVENT["recurrence"]


def test_google_update_that_ends_a_series_drops_its_recurrence(
    google: GoogleCalendarProvider, mocked: responses.RequestsMock
) -> None:
    url = f"{GOOGLE_EVENTS}/team0sync"
    mocked.get(url, json=GOOGLE_EVENT)
    mocked.put(url, json={**GOOGLE_EVENT, "recurrence": []})
    fields = google.to_item(copy.deepcopy(GOOGLE_EVENT), "primary").fields

    google.update("primary/team0sync", {**fields, "rrule": ""}, '"3"')

    sent = json.loads(mocked.calls[1].request.body)
    assert "recurrence" not in sent
    assert sent["attendees"] == GOOGLE_EVENT["attendees"]
