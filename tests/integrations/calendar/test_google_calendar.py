"""Google Calendar at the HTTP seam, from the documented shapes in tests/fixtures/google/."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import responses

from integrations.providers.errors import CursorExpired, PreconditionFailed
from integrations.providers.google_calendar.provider import GoogleCalendarProvider

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "google"
API = "https://www.googleapis.com/calendar/v3"
EVENTS = f"{API}/calendars/primary/events"
BERLIN = ZoneInfo("Europe/Berlin")


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


@pytest.fixture
def provider(http_for) -> GoogleCalendarProvider:
    connection = SimpleNamespace(field_mapping={"calendars": ["primary"]})
    return GoogleCalendarProvider(connection, http=http_for("google-calendar"))


def full_listing(mocked: responses.RequestsMock) -> None:
    mocked.get(EVENTS, json=load("events_full_page1.json"))
    mocked.get(EVENTS, json=load("events_full_page2.json"))


def pull_all(provider: GoogleCalendarProvider, cursor: str | None):
    pages = [provider.pull(cursor)]
    while pages[-1].has_more:
        pages.append(provider.pull(pages[-1].next_cursor))
    return pages


def test_calendar_list_gives_the_calendars_to_pick(
    provider: GoogleCalendarProvider, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{API}/users/me/calendarList", json=load("calendar_list.json"))

    calendars = provider.list_containers()

    assert [(c.id, c.name) for c in calendars] == [
        ("alice@example.com", "alice@example.com"),
        ("c_8f3k2team@group.calendar.google.com", "Team"),
    ]
    assert query(mocked.calls[0])["maxResults"] == ["250"]  # calendarList's largest page


def test_calendar_list_follows_its_pages(
    provider: GoogleCalendarProvider, mocked: responses.RequestsMock
) -> None:
    listing = load("calendar_list.json")
    first, rest = listing["items"][:1], listing["items"][1:]
    mocked.get(f"{API}/users/me/calendarList", json={"items": first, "nextPageToken": "p2"})
    mocked.get(f"{API}/users/me/calendarList", json={**listing, "items": rest})

    calendars = provider.list_containers()

    assert [c.name for c in calendars] == ["alice@example.com", "Team"]
    assert query(mocked.calls[1]) == {"maxResults": ["250"], "pageToken": ["p2"]}


def test_a_full_listing_keeps_series_as_series(
    provider: GoogleCalendarProvider, mocked: responses.RequestsMock
) -> None:
    # given two pages of events: a series, its moved and its cancelled instance, an all-day event
    full_listing(mocked)
    # when a first pull runs
    first, second = pull_all(provider, None)
    # then the series is listed, not expanded, and the token comes only from the last page
    params = query(mocked.calls[0])
    assert params["singleEvents"] == ["false"]
    assert params["maxResults"] == query(mocked.calls[1])["maxResults"] == ["2500"]
    assert "syncToken" not in params
    assert query(mocked.calls[1])["pageToken"] == ["CigKGjRxYzBnZ3Y0"]
    assert (first.has_more, second.has_more, first.full, second.full) == (True, False, True, True)
    assert json.loads(second.next_cursor) == {"tokens": {"primary": "CPDAlvWDx70CEPDAlvWDx70CGAU="}}
    items = {i.remote_id: i for i in first.items + second.items}
    assert set(items) == {
        "primary/series0weekly",
        "primary/series0weekly_20260330T070000Z",
        "primary/series0weekly_20260406T070000Z",
        "primary/holiday0allday",
    }
    assert second.deleted_ids == []  # a full listing finds deletions by difference
    master = items["primary/series0weekly"]
    assert master.dayflow_id == "ev-17"
    assert master.version == '"3420000000000000"'
    assert master.fields | {"start": None, "end": None} == {
        "title": "Weekly sync",
        "description": "Agenda in the doc",
        "location": "Room 4",
        "status": "confirmed",
        "all_day": False,
        "start": None,
        "end": None,
        "timezone": "Europe/Berlin",
        "rrule": "FREQ=WEEKLY;COUNT=6;BYDAY=MO",
        "exdates": ["2026-04-13T09:00:00+02:00"],
        "recurrence_id": "",
        "series_remote_id": "",
    }
    assert master.fields["start"] == dt.datetime(2026, 3, 23, 9, tzinfo=BERLIN)
    moved = items["primary/series0weekly_20260330T070000Z"].fields
    assert (moved["series_remote_id"], moved["recurrence_id"]) == (
        "primary/series0weekly",
        "2026-03-30T09:00:00+02:00",
    )
    assert moved["start"] == dt.datetime(2026, 3, 31, 10, tzinfo=BERLIN)
    cancelled = items["primary/series0weekly_20260406T070000Z"].fields
    assert (cancelled["status"], cancelled["recurrence_id"]) == (
        "cancelled",
        "2026-04-06T09:00:00+02:00",
    )
    holiday = items["primary/holiday0allday"].fields
    assert (holiday["all_day"], holiday["start"], holiday["end"], holiday["timezone"]) == (
        True,
        dt.date(2026, 4, 6),
        dt.date(2026, 4, 7),
        "",
    )


def test_an_incremental_pull_sends_the_token_and_reports_deletions(
    provider: GoogleCalendarProvider, mocked: responses.RequestsMock
) -> None:
    cursor = json.dumps({"tokens": {"primary": "CPDAlvWDx70CEPDAlvWDx70CGAU="}})
    mocked.get(EVENTS, json=load("events_incremental.json"))

    page = provider.pull(cursor)

    assert query(mocked.calls[0])["syncToken"] == ["CPDAlvWDx70CEPDAlvWDx70CGAU="]
    assert not page.full
    assert not page.has_more
    assert page.deleted_ids == ["primary/dentist0deleted"]
    assert [(i.remote_id, i.fields["status"]) for i in page.items] == [
        ("primary/holiday0allday", "tentative")
    ]
    assert json.loads(page.next_cursor)["tokens"]["primary"] == "CPDAlvWDx70CEPDAlvWDx70CGAY="


def test_410_gone_starts_a_full_resync(
    provider: GoogleCalendarProvider, mocked: responses.RequestsMock
) -> None:
    # given a stored token that Google no longer accepts
    cursor = json.dumps({"tokens": {"primary": "expired-token"}})
    mocked.get(EVENTS, status=410, json=load("error_410_gone.json"))
    full_listing(mocked)
    # when we pull
    pages = pull_all(provider, cursor)
    # then the listing starts over without a token, and every page says it is full
    assert query(mocked.calls[0])["syncToken"] == ["expired-token"]
    assert "syncToken" not in query(mocked.calls[1])
    assert all(page.full for page in pages)
    assert len([i for p in pages for i in p.items]) == 4


def test_several_calendars_are_pulled_one_page_at_a_time(
    http_for, mocked: responses.RequestsMock
) -> None:
    connection = SimpleNamespace(field_mapping={"calendars": ["primary", "team@group"]})
    provider = GoogleCalendarProvider(connection, http=http_for("google-calendar"))
    mocked.get(EVENTS, json={"items": [], "nextSyncToken": "t1", "timeZone": "UTC"})
    mocked.get(f"{API}/calendars/team%40group/events", json={"items": [], "nextSyncToken": "t2"})

    first = provider.pull(None)
    second = provider.pull(first.next_cursor)

    assert (first.has_more, second.has_more) == (True, False)
    assert json.loads(second.next_cursor) == {"tokens": {"primary": "t1", "team@group": "t2"}}


def test_create_carries_dayflow_id_and_recurrence(
    provider: GoogleCalendarProvider, mocked: responses.RequestsMock
) -> None:
    # given a new weekly series with an exception date
    fields = {
        "title": "Piano",
        "description": "",
        "location": "",
        "status": "confirmed",
        "all_day": False,
        "start": dt.datetime(2026, 10, 19, 17, tzinfo=BERLIN),
        "end": dt.datetime(2026, 10, 19, 18, tzinfo=BERLIN),
        "timezone": "Europe/Berlin",
        "rrule": "FREQ=WEEKLY;BYDAY=MO",
        "exdates": ["2026-10-26T17:00:00+01:00"],
        "recurrence_id": "",
        "series_remote_id": "",
    }
    mocked.get(EVENTS, json={"items": []})
    created = {
        "id": "new0piano",
        "etag": '"1"',
        "status": "confirmed",
        "summary": "Piano",
        "start": {"dateTime": "2026-10-19T17:00:00+02:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-10-19T18:00:00+02:00", "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO", "EXDATE;TZID=Europe/Berlin:20261026T170000"],
        "extendedProperties": {"private": {"dayflowId": "ev-5"}},
    }
    mocked.post(EVENTS, json=created)
    # when it is created
    item = provider.create(fields, dayflow_id="ev-5")
    # then the lookup asked for DayFlow's id, and the body carries the zone and the lines
    assert query(mocked.calls[0])["privateExtendedProperty"] == ["dayflowId=ev-5"]
    sent = json.loads(mocked.calls[1].request.body)
    assert sent["start"] == {"dateTime": "2026-10-19T17:00:00+02:00", "timeZone": "Europe/Berlin"}
    assert sent["recurrence"] == [
        "RRULE:FREQ=WEEKLY;BYDAY=MO",
        "EXDATE;TZID=Europe/Berlin:20261026T170000",
    ]
    assert sent["extendedProperties"] == {"private": {"dayflowId": "ev-5"}}
    assert (item.remote_id, item.version, item.dayflow_id) == ("primary/new0piano", '"1"', "ev-5")
    assert item.fields["exdates"] == fields["exdates"]


def test_a_retried_create_finds_the_event_it_made(
    provider: GoogleCalendarProvider, mocked: responses.RequestsMock
) -> None:
    existing = load("events_full_page1.json")["items"][0]
    mocked.get(EVENTS, json={"items": [existing]})

    item = provider.create({"title": "Weekly sync"}, dayflow_id="ev-17")

    assert item.remote_id == "primary/series0weekly"
    assert len(mocked.calls) == 1  # no insert


def test_update_sends_if_match_and_a_412_is_a_conflict(
    provider: GoogleCalendarProvider, mocked: responses.RequestsMock
) -> None:
    event = load("events_incremental.json")["items"][0]
    url = f"{EVENTS}/holiday0allday"
    mocked.get(url, json=event)
    mocked.put(url, status=412, json=load("error_412.json"))
    fields = provider.to_item(event, "primary").fields

    with pytest.raises(PreconditionFailed):
        provider.update("primary/holiday0allday", {**fields, "title": "x"}, '"stale"')

    assert mocked.calls[1].request.headers["If-Match"] == '"stale"'


def test_delete_sends_if_match_and_tolerates_gone(
    provider: GoogleCalendarProvider, mocked: responses.RequestsMock
) -> None:
    mocked.delete(f"{EVENTS}/a", status=204)
    mocked.delete(f"{EVENTS}/b", status=410, json={"error": {"code": 410}})

    provider.delete("primary/a", '"7"')
    provider.delete("primary/b")

    assert mocked.calls[0].request.headers["If-Match"] == '"7"'


def test_an_exception_is_written_to_the_instance_at_its_original_start(
    provider: GoogleCalendarProvider, mocked: responses.RequestsMock
) -> None:
    # given the series' instance of 30 March
    instance = {
        "id": "series0weekly_20260330T070000Z",
        "etag": '"9"',
        "status": "confirmed",
        "summary": "Weekly sync",
        "start": {"dateTime": "2026-03-30T09:00:00+02:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-03-30T09:30:00+02:00", "timeZone": "Europe/Berlin"},
        "recurringEventId": "series0weekly",
        "originalStartTime": {"dateTime": "2026-03-30T09:00:00+02:00", "timeZone": "Europe/Berlin"},
    }
    mocked.get(f"{EVENTS}/series0weekly/instances", json={"items": [instance]})
    moved = {**instance, "etag": '"10"', "summary": "Moved"}
    mocked.put(f"{EVENTS}/series0weekly_20260330T070000Z", json=moved)
    # when DayFlow creates the exception
    item = provider.create(
        {
            "title": "Moved",
            "status": "confirmed",
            "all_day": False,
            "start": dt.datetime(2026, 3, 30, 9, tzinfo=BERLIN),
            "end": dt.datetime(2026, 3, 30, 9, 30, tzinfo=BERLIN),
            "timezone": "Europe/Berlin",
            "recurrence_id": "2026-03-30T09:00:00+02:00",
            "series_remote_id": "primary/series0weekly",
        }
    )
    # then it looked the instance up by original start and rewrote it with If-Match
    assert query(mocked.calls[0])["originalStart"] == ["2026-03-30T09:00:00+02:00"]
    assert len(mocked.calls) == 2  # the instance found is written as it is, not read again
    assert mocked.calls[1].request.headers["If-Match"] == '"9"'
    sent = json.loads(mocked.calls[1].request.body)
    assert sent["recurringEventId"] == "series0weekly"
    assert item.fields["series_remote_id"] == "primary/series0weekly"
    assert item.fields["recurrence_id"] == "2026-03-30T09:00:00+02:00"


def test_find_by_dayflow_id_and_get(provider: GoogleCalendarProvider, mocked) -> None:
    master = load("events_full_page1.json")["items"][0]
    mocked.get(EVENTS, json={"items": [master]})
    mocked.get(EVENTS, json={"items": []})
    mocked.get(f"{EVENTS}/series0weekly", json=master)

    found = provider.find_by_dayflow_id("ev-17")
    missing = provider.find_by_dayflow_id("ev-18")
    fetched = provider.get("primary/series0weekly")

    assert found is not None
    assert found.remote_id == fetched.remote_id == "primary/series0weekly"
    assert missing is None
    assert query(mocked.calls[1])["privateExtendedProperty"] == ["dayflowId=ev-18"]


def test_find_by_dayflow_id_reads_on_past_an_empty_page(provider, mocked) -> None:
    # Google may answer an empty page with a nextPageToken even when events match.
    master = load("events_full_page1.json")["items"][0]
    mocked.get(EVENTS, json={"items": [], "nextPageToken": "more"})
    mocked.get(EVENTS, json={"items": [master]})

    found = provider.find_by_dayflow_id("ev-17")

    assert found is not None
    assert found.remote_id == "primary/series0weekly"
    assert query(mocked.calls[0])["maxResults"] == ["2500"]
    assert query(mocked.calls[1])["pageToken"] == ["more"]


def test_an_unreadable_cursor_is_expired(provider: GoogleCalendarProvider) -> None:
    with pytest.raises(CursorExpired):
        provider.pull("{broken")


def test_an_event_with_a_rule_we_cannot_hold_is_unsyncable_not_fatal(
    provider: GoogleCalendarProvider, mocked: responses.RequestsMock
) -> None:
    body = load("events_incremental.json")
    odd = {**body["items"][0], "id": "odd0rdate", "recurrence": ["RDATE;VALUE=DATE:20260501"]}
    body["items"] = [odd, body["items"][0]]
    mocked.get(EVENTS, json=body)

    page = provider.pull(json.dumps({"tokens": {"primary": "t"}}))

    assert [i.remote_id for i in page.items] == ["primary/holiday0allday"]
    assert list(page.unsyncable) == ["primary/odd0rdate"]
    assert "RDATE" in page.unsyncable["primary/odd0rdate"]
