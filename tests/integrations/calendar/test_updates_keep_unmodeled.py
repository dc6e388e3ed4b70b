"""An update from DayFlow replaces only the fields DayFlow models: whatever else the event
carries (attendees, reminders, alarms, other apps' properties…) survives it."""

from __future__ import annotations

import copy
import datetime as dt
import json
from types import SimpleNamespace

import icalendar
import pytest
import responses

from integrations.clients import provider_for
from integrations.providers.caldav import CalDAVProvider, DavSession
from integrations.providers.google_calendar.provider import GoogleCalendarProvider
from integrations.providers.outlook.provider import OutlookProvider
from tests.radicale import RadicaleCalendar, request

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


# --- CalDAV (a real Radicale) ---------------------------------------------------------
CALDAV_SERIES = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//macOS 15//EN\r\n"
    "BEGIN:VEVENT\r\nUID:apple-series-1\r\nDTSTAMP:20261101T000000Z\r\nSEQUENCE:2\r\n"
    "DTSTART;TZID=Europe/Berlin:20261130T100000\r\n"
    "DTEND;TZID=Europe/Berlin:20261130T110000\r\n"
    "RRULE:FREQ=WEEKLY;BYDAY=MO\r\nSUMMARY:Team sync\r\nDESCRIPTION:Agenda\r\n"
    "ORGANIZER;CN=Alice:mailto:alice@example.com\r\n"
    "ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@example.com\r\n"
    "CATEGORIES:Work,Team\r\nCLASS:PRIVATE\r\nTRANSP:TRANSPARENT\r\n"
    "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC\r\n"
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\n"
    "TRIGGER:-PT10M\r\nEND:VALARM\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)
CALDAV_UNMODELED = ("ORGANIZER", "ATTENDEE", "CATEGORIES", "CLASS", "TRANSP")
CALDAV_UNMODELED += ("X-APPLE-TRAVEL-ADVISORY-BEHAVIOR",)


@pytest.fixture
def caldav(caldav_connection, radicale_calendar: RadicaleCalendar) -> tuple[CalDAVProvider, str]:
    """The provider and the URL of a series another client (Apple Calendar) wrote."""
    url = radicale_calendar.url + "apple-series-1.ics"
    headers = {"Content-Type": "text/calendar"}
    status = request(radicale_calendar.account, "PUT", url, CALDAV_SERIES, headers)
    assert status == 201
    return provider_for(caldav_connection), url


def stored_vevents(caldav: CalDAVProvider, url: str) -> dict[str, icalendar.Event]:
    session: DavSession = caldav.session
    parsed = icalendar.Calendar.from_ical(session.request("GET", url).body)
    return {
        str(c.get("RECURRENCE-ID").to_ical(), "ascii") if c.get("RECURRENCE-ID") else "": c
        for c in parsed.walk("VEVENT")
    }


def assert_unmodeled_kept(component: icalendar.Event) -> None:
    original = icalendar.Calendar.from_ical(CALDAV_SERIES).walk("VEVENT")[0]
    for name in CALDAV_UNMODELED:
        assert component.get(name) is not None, name
        assert component[name].to_ical() == original[name].to_ical(), name
    (alarm,) = component.walk("VALARM")
    assert alarm["TRIGGER"].to_ical() == b"-PT10M"


def test_caldav_update_of_a_master_keeps_what_dayflow_does_not_model(
    caldav: tuple[CalDAVProvider, str],
) -> None:
    # given a series with alarm, attendees, categories, class, transparency, X-APPLE-*
    provider, url = caldav
    (item,) = provider.pull(None).items
    # when DayFlow renames it
    provider.update(url, {**item.fields, "title": "Team sync (moved)"}, item.version)
    # then only the title changed, and SEQUENCE went up
    master = stored_vevents(provider, url)[""]
    assert str(master["SUMMARY"]) == "Team sync (moved)"
    assert str(master["DESCRIPTION"]) == "Agenda"
    assert_unmodeled_kept(master)
    assert int(master["SEQUENCE"]) == 3


def test_caldav_new_exception_starts_from_its_master(caldav: tuple[CalDAVProvider, str]) -> None:
    # given the same series
    provider, url = caldav
    (item,) = provider.pull(None).items
    # when DayFlow moves one instance
    fields = {
        **item.fields,
        "title": "Team sync (late)",
        "start": item.fields["start"].replace(day=7, month=12, hour=14),
        "end": item.fields["end"].replace(day=7, month=12, hour=15),
        "rrule": "",
        "recurrence_id": "2026-12-07T10:00:00+01:00",
        "series_remote_id": url,
    }
    provider.create(fields)
    # then the instance carries the master's alarm and attendees, without the rule
    stored = stored_vevents(provider, url)
    instance = next(c for key, c in stored.items() if key)
    assert str(instance["SUMMARY"]) == "Team sync (late)"
    assert instance.get("RRULE") is None
    assert_unmodeled_kept(instance)
    assert stored[""].get("RRULE") is not None


# --- Outlook (Graph) ------------------------------------------------------------------
GRAPH_EVENT_URL = "https://graph.microsoft.com/v1.0/me/events/AAMkAGI2-rich"
# As Graph answers under Prefer: outlook.body-content-type="text" (the stored body is HTML).
GRAPH_EVENT = {
    "@odata.etag": 'W/"DwAAABYAAAC9"',
    "id": "AAMkAGI2-rich",
    "subject": "Quarterly review",
    "body": {"contentType": "text", "content": "Agenda\r\nRoom booked"},
    "location": {
        "displayName": "HQ",
        "locationType": "default",
        "address": {"street": "1 Main St", "city": "Seattle", "countryOrRegion": "US"},
    },
    "showAs": "free",
    "isCancelled": False,
    "isAllDay": False,
    "type": "singleInstance",
    "originalStartTimeZone": "Pacific Standard Time",
    "start": {"dateTime": "2026-12-01T17:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2026-12-01T18:00:00.0000000", "timeZone": "UTC"},
    "attendees": [{"emailAddress": {"address": "bob@example.com"}, "type": "required"}],
    "categories": ["Red category"],
    "recurrence": None,
}


@pytest.fixture
def outlook(http_for) -> OutlookProvider:
    connection = SimpleNamespace(field_mapping={"calendars": []})
    return OutlookProvider(connection, http=http_for("outlook"))


@pytest.mark.parametrize(
    ("change", "sent"),
    [
        ({"title": "Q4 review"}, {"subject": "Q4 review"}),
        ({"status": "tentative"}, {"showAs": "tentative"}),
        ({"location": "Annex"}, {"location": {"displayName": "Annex"}}),
        ({"description": "New agenda"}, {"body": {"contentType": "text", "content": "New agenda"}}),
    ],
)
def test_outlook_update_patches_only_what_changed(
    outlook: OutlookProvider, mocked: responses.RequestsMock, change: dict, sent: dict
) -> None:
    # given an event with an HTML body, a structured address, showAs free and attendees
    mocked.get(GRAPH_EVENT_URL, json=GRAPH_EVENT)
    mocked.patch(GRAPH_EVENT_URL, json={**GRAPH_EVENT, "@odata.etag": 'W/"DwAAABYAAAC+"'})
    fields = outlook.to_item(copy.deepcopy(GRAPH_EVENT)).fields
    # when DayFlow changes one field
    outlook.update("AAMkAGI2-rich", {**fields, **change}, GRAPH_EVENT["@odata.etag"])
    # then the PATCH holds that field only, and bodies were read as text
    read, patch = mocked.calls
    assert 'outlook.body-content-type="text"' in read.request.headers["Prefer"]
    assert patch.request.headers["If-Match"] == GRAPH_EVENT["@odata.etag"]
    assert json.loads(patch.request.body) == sent


def test_outlook_update_of_the_time_sends_the_time_only(
    outlook: OutlookProvider, mocked: responses.RequestsMock
) -> None:
    mocked.get(GRAPH_EVENT_URL, json=GRAPH_EVENT)
    mocked.patch(GRAPH_EVENT_URL, json=GRAPH_EVENT)
    fields = outlook.to_item(copy.deepcopy(GRAPH_EVENT)).fields
    later = {name: fields[name] + dt.timedelta(hours=1) for name in ("start", "end")}

    outlook.update("AAMkAGI2-rich", {**fields, **later}, "")

    sent = json.loads(mocked.calls[1].request.body)
    assert set(sent) == {"start", "end", "isAllDay", "singleValueExtendedProperties"}
    assert sent["start"] == {"dateTime": "2026-12-01T10:00:00", "timeZone": "America/Los_Angeles"}


def test_outlook_pulls_ask_for_text_bodies(
    outlook: OutlookProvider, mocked: responses.RequestsMock
) -> None:
    delta = "https://graph.microsoft.com/v1.0/me/calendar/calendarView/delta"
    link = f"{delta}?$deltatoken=abc"
    mocked.get(delta, json={"value": [{"id": "AAMkAGI2-rich"}], "@odata.deltaLink": link})
    mocked.get(GRAPH_EVENT_URL, json=GRAPH_EVENT)

    page = outlook.pull(None)

    assert [i.fields["description"] for i in page.items] == ["Agenda\r\nRoom booked"]
    for call in mocked.calls:
        assert 'outlook.body-content-type="text"' in call.request.headers["Prefer"]
