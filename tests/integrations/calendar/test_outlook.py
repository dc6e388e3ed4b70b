"""Outlook through Microsoft Graph at the HTTP seam, from the documented shapes in
tests/fixtures/msgraph/ (and the recorded event-delta doc example)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import responses

from integrations.providers.errors import CursorExpired, PreconditionFailed, UnexpectedPayload
from integrations.providers.events import UnsupportedRecurrence
from integrations.providers.outlook.provider import DAYFLOW_ID, FLOATING, OutlookProvider

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "msgraph"
API = "https://graph.microsoft.com/v1.0"
DELTA = f"{API}/me/calendar/calendarView/delta"
NEXT = f"{API}/me/calendarView/delta?$skiptoken=R0usmcCM996atia_s"
DELTA_LINK = f"{API}/me/calendarView/delta?$deltatoken=R0usmci39OQxqJrxK4"
BERLIN = ZoneInfo("Europe/Berlin")


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def provider(http_for) -> OutlookProvider:
    return OutlookProvider(SimpleNamespace(field_mapping={}), http=http_for("outlook"))


def full_delta(mocked: responses.RequestsMock) -> None:
    mocked.get(DELTA, json=load("delta_page1.json"))
    exception = load("delta_page1.json")["value"][1]
    mocked.get(f"{API}/me/events/AAMkAGI2-exc-0330", json=exception)
    mocked.get(f"{API}/me/events/AAMkAGI2-master", json=load("event_master.json"))
    mocked.get(NEXT, json=load("delta_page2.json"))
    mocked.get(f"{API}/me/events/AAMkAGI2-single", json=load("event_single.json"))


def pull_all(provider: OutlookProvider, cursor: str | None):
    pages = [provider.pull(cursor)]
    while pages[-1].has_more:
        pages.append(provider.pull(pages[-1].next_cursor))
    return pages


def test_a_full_delta_round_gives_masters_and_exceptions_never_occurrences(
    provider: OutlookProvider, mocked: responses.RequestsMock
) -> None:
    # given two delta pages: an occurrence and an exception of a series, a single event, a removal
    full_delta(mocked)
    # when the first round runs
    first_page, page = pull_all(provider, None)
    # then the window is asked in UTC, the nextLink followed and the deltaLink kept whole
    first = mocked.calls[0].request
    assert 'outlook.timezone="UTC"' in first.headers["Prefer"]
    assert "odata.maxpagesize=50" in first.headers["Prefer"]
    assert "odata.maxpagesize=50" in mocked.calls[3].request.headers["Prefer"]  # each page
    assert {"startDateTime", "endDateTime"} <= set(parse_qs(urlsplit(first.url).query))
    assert mocked.calls[3].request.url == NEXT
    assert json.loads(page.next_cursor) == {
        "links": {"": DELTA_LINK},
        "masters": ["AAMkAGI2-master"],
    }
    assert (first_page.has_more, page.has_more, first_page.full, page.full) == (
        True,
        False,
        True,
        True,
    )
    assert page.deleted_ids == []
    items = {i.remote_id: i for i in first_page.items + page.items}
    assert set(items) == {"AAMkAGI2-exc-0330", "AAMkAGI2-master", "AAMkAGI2-single"}
    master = items["AAMkAGI2-master"]
    assert master.dayflow_id == "ev-17"
    assert master.version == 'W/"DwAAABYAAAB9"'
    assert master.fields["timezone"] == "Europe/Berlin"
    assert master.fields["start"] == dt.datetime(2026, 3, 23, 9, tzinfo=BERLIN)
    assert master.fields["rrule"] == "FREQ=WEEKLY;COUNT=6;BYDAY=MO;WKST=SU"
    assert master.fields["exdates"] == ["2026-04-13T09:00:00+02:00"]
    exception = items["AAMkAGI2-exc-0330"].fields
    assert exception["series_remote_id"] == "AAMkAGI2-master"
    assert exception["recurrence_id"] == "2026-03-30T09:00:00+02:00"
    assert exception["start"] == dt.datetime(2026, 3, 31, 10, tzinfo=BERLIN)
    assert exception["location"] == "Room 5"
    single = items["AAMkAGI2-single"].fields
    assert single["timezone"] == "America/New_York"
    assert single["start"] == dt.datetime(2026, 3, 25, 9, tzinfo=ZoneInfo("America/New_York"))
    assert (single["status"], single["description"]) == ("tentative", "Bring the card")


def test_an_incremental_round_starts_from_the_stored_delta_link(
    provider: OutlookProvider, mocked: responses.RequestsMock
) -> None:
    mocked.get(
        DELTA_LINK,
        json={
            "@odata.deltaLink": f"{API}/me/calendarView/delta?$deltatoken=next",
            "value": [{"id": "AAMkAGI2-removed", "@removed": {"reason": "deleted"}}],
        },
    )

    page = provider.pull(json.dumps({"links": {"": DELTA_LINK}}))

    assert not page.full
    assert page.deleted_ids == ["AAMkAGI2-removed"]
    assert json.loads(page.next_cursor)["links"][""].endswith("$deltatoken=next")


@pytest.mark.parametrize(
    ("status", "body"),
    [(410, {"error": {"code": "resyncRequired"}}), (400, load("error_sync_state_not_found.json"))],
)
def test_an_expired_delta_token_starts_a_full_resync(
    provider: OutlookProvider, mocked: responses.RequestsMock, status: int, body: dict
) -> None:
    mocked.get(DELTA_LINK, status=status, json=body)
    full_delta(mocked)

    pages = pull_all(provider, json.dumps({"links": {"": DELTA_LINK}}))

    assert all(page.full for page in pages)
    assert {i.remote_id for p in pages for i in p.items} == {
        "AAMkAGI2-exc-0330",
        "AAMkAGI2-master",
        "AAMkAGI2-single",
    }


def series_fields(**extra) -> dict:
    return {
        "title": "Weekly sync",
        "description": "Agenda in the doc",
        "location": "Room 4",
        "status": "confirmed",
        "all_day": False,
        "start": dt.datetime(2026, 3, 23, 9, tzinfo=BERLIN),
        "end": dt.datetime(2026, 3, 23, 9, 30, tzinfo=BERLIN),
        "timezone": "Europe/Berlin",
        "rrule": "FREQ=WEEKLY;COUNT=6;BYDAY=MO;WKST=SU",
        "exdates": [],
        "recurrence_id": "",
        "series_remote_id": "",
        **extra,
    }


def test_create_a_series_with_an_exception_date(
    provider: OutlookProvider, mocked: responses.RequestsMock
) -> None:
    # given no event with DayFlow's id yet, and a series with one excluded date
    mocked.get(f"{API}/me/events", json={"value": []})
    mocked.post(
        f"{API}/me/calendar/events", json=load("event_master.json") | {"cancelledOccurrences": []}
    )
    instance = {"id": "AAMkAGI2-occ-0413", "originalStart": "2026-04-13T07:00:00Z"}
    other = {"id": "AAMkAGI2-occ-0406", "originalStart": "2026-04-06T07:00:00Z"}
    mocked.get(f"{API}/me/events/AAMkAGI2-master/instances", json={"value": [other, instance]})
    mocked.delete(f"{API}/me/events/AAMkAGI2-occ-0413", status=204)
    mocked.get(f"{API}/me/events/AAMkAGI2-master", json=load("event_master.json"))
    # when it is created
    item = provider.create(series_fields(exdates=["2026-04-13T09:00:00+02:00"]), dayflow_id="ev-17")
    # then the body has the Graph pattern in the event's zone and DayFlow's id
    lookup = parse_qs(urlsplit(mocked.calls[0].request.url).query)["$filter"][0]
    assert DAYFLOW_ID in lookup
    assert "'ev-17'" in lookup
    sent = json.loads(mocked.calls[1].request.body)
    assert sent["start"] == {"dateTime": "2026-03-23T09:00:00", "timeZone": "Europe/Berlin"}
    assert sent["recurrence"] == {
        "pattern": {
            "type": "weekly",
            "interval": 1,
            "daysOfWeek": ["monday"],
            "firstDayOfWeek": "sunday",
        },
        "range": {
            "type": "numbered",
            "numberOfOccurrences": 6,
            "startDate": "2026-03-23",
            "recurrenceTimeZone": "Europe/Berlin",
        },
    }
    assert {"id": DAYFLOW_ID, "value": "ev-17"} in sent["singleValueExtendedProperties"]
    assert {"id": FLOATING, "value": "0"} in sent["singleValueExtendedProperties"]
    # and the excluded date's occurrence (only that one) was cancelled
    deleted = [c.request.url for c in mocked.calls if c.request.method == "DELETE"]
    assert deleted == [f"{API}/me/events/AAMkAGI2-occ-0413"]
    assert item.fields["exdates"] == ["2026-04-13T09:00:00+02:00"]
    assert item.dayflow_id == "ev-17"


def test_a_rule_graph_cannot_express_is_a_clear_error_before_any_call(
    provider: OutlookProvider, mocked: responses.RequestsMock
) -> None:
    with pytest.raises(UnsupportedRecurrence, match="no Graph pattern"):
        provider.create(series_fields(rrule="FREQ=HOURLY;INTERVAL=3"))
    assert len(mocked.calls) == 0


def test_update_sends_if_match_and_a_412_is_a_conflict(
    provider: OutlookProvider, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{API}/me/events/AAMkAGI2-single", json=load("event_single.json"))
    mocked.patch(
        f"{API}/me/events/AAMkAGI2-single",
        status=412,
        json={"error": {"code": "ErrorIrresolvableConflict"}},
    )

    with pytest.raises(PreconditionFailed):
        provider.update("AAMkAGI2-single", series_fields(rrule=""), 'W/"stale"')

    assert mocked.calls[1].request.headers["If-Match"] == 'W/"stale"'


def test_an_exception_patches_the_occurrence_at_its_original_start(
    provider: OutlookProvider, mocked: responses.RequestsMock
) -> None:
    occurrence = {
        "id": "AAMkAGI2-occ-0330",
        "originalStart": "2026-03-30T07:00:00Z",
        "@odata.etag": 'W/"5"',
    }
    mocked.get(f"{API}/me/events/AAMkAGI2-master/instances", json={"value": [occurrence]})
    mocked.patch(
        f"{API}/me/events/AAMkAGI2-occ-0330",
        json=load("delta_page1.json")["value"][1] | {"id": "AAMkAGI2-occ-0330"},
    )

    item = provider.create(
        series_fields(
            rrule="",
            title="Weekly sync (moved)",
            recurrence_id="2026-03-30T09:00:00+02:00",
            series_remote_id="AAMkAGI2-master",
        )
    )

    assert mocked.calls[1].request.headers["If-Match"] == 'W/"5"'
    assert "recurrence" not in json.loads(mocked.calls[1].request.body)
    assert item.fields["recurrence_id"] == "2026-03-30T09:00:00+02:00"
    assert item.fields["series_remote_id"] == "AAMkAGI2-master"


def test_the_recorded_delta_doc_example_is_read_as_far_as_it_goes(
    provider: OutlookProvider, mocked: responses.RequestsMock
) -> None:
    # given Graph's own doc example (shortened: its event has no id)
    text = (FIXTURES / "event-delta-request-response.http").read_text()
    head, _, rest = text.partition("\n\nHTTP/1.1 200 OK")
    body = json.loads(rest[rest.index("{") :])
    mocked.get(DELTA, json=body)
    # when it is pulled, then the missing id is named, and the request had the same shape
    with pytest.raises(UnexpectedPayload, match="'id'"):
        provider.pull(None)
    assert "Prefer: odata.maxpagesize=2" in head
    assert "odata.maxpagesize=" in mocked.calls[0].request.headers["Prefer"]
    assert body["@odata.nextLink"].startswith(f"{API}/me/calendarView/delta?$skiptoken=")


def test_a_removed_occurrence_refreshes_the_known_masters_exdates(
    provider: OutlookProvider, mocked: responses.RequestsMock
) -> None:
    # given a synced series whose 6 April occurrence is then deleted in Outlook
    cursor = json.dumps({"links": {"": DELTA_LINK}, "masters": ["AAMkAGI2-master"]})
    removed = {"id": "AAMkAGI2-occ-0406", "@removed": {"reason": "deleted"}}
    mocked.get(DELTA_LINK, json={"@odata.deltaLink": DELTA_LINK + "2", "value": [removed]})
    master = load("event_master.json")
    master["cancelledOccurrences"] += ["OID.AAMkAGI2-master.2026-04-06"]
    mocked.get(f"{API}/me/events/AAMkAGI2-master", json=master)
    # when the next delta round runs
    page = provider.pull(cursor)
    # then the master comes back with the new exception date
    assert page.deleted_ids == ["AAMkAGI2-occ-0406"]
    (item,) = page.items
    assert item.fields["exdates"] == ["2026-04-06T09:00:00+02:00", "2026-04-13T09:00:00+02:00"]


def test_a_known_master_that_is_gone_is_a_deletion(
    provider: OutlookProvider, mocked: responses.RequestsMock
) -> None:
    cursor = json.dumps({"links": {"": DELTA_LINK}, "masters": ["AAMkAGI2-master"]})
    removed = {"id": "AAMkAGI2-occ-0406", "@removed": {"reason": "deleted"}}
    mocked.get(DELTA_LINK, json={"@odata.deltaLink": DELTA_LINK + "2", "value": [removed]})
    mocked.get(
        f"{API}/me/events/AAMkAGI2-master",
        status=404,
        json={"error": {"code": "ErrorItemNotFound"}},
    )

    page = provider.pull(cursor)

    assert page.deleted_ids == ["AAMkAGI2-occ-0406", "AAMkAGI2-master"]
    assert json.loads(page.next_cursor)["masters"] == []


def test_find_by_dayflow_id_and_get(provider: OutlookProvider, mocked) -> None:
    mocked.get(f"{API}/me/events", json={"value": [load("event_master.json")]})
    mocked.get(f"{API}/me/events/AAMkAGI2-single", json=load("event_single.json"))

    found = provider.find_by_dayflow_id("ev-17")
    fetched = provider.get("AAMkAGI2-single")

    assert found is not None
    assert (found.remote_id, found.dayflow_id) == ("AAMkAGI2-master", "ev-17")
    assert fetched.fields["title"] == "Dentist"
    assert "$expand" in parse_qs(urlsplit(mocked.calls[1].request.url).query)


def test_find_by_dayflow_id_reads_on_past_an_empty_page(provider: OutlookProvider, mocked) -> None:
    # Graph pages lists itself, and a page may hold nothing while more follow.
    page2 = f"{API}/me/events?$skiptoken=2"
    mocked.get(f"{API}/me/events", json={"value": [], "@odata.nextLink": page2})
    mocked.get(page2, json={"value": [load("event_master.json")]})

    found = provider.find_by_dayflow_id("ev-17")

    assert found is not None
    assert found.remote_id == "AAMkAGI2-master"
    assert mocked.calls[1].request.url == page2  # followed as given, nothing added


def test_an_instance_on_a_later_page_of_instances_is_found(
    provider: OutlookProvider, mocked: responses.RequestsMock
) -> None:
    # given the 13 April occurrence on the second page of the series' instances
    page2 = f"{API}/me/events/m/instances?$skiptoken=2"
    other = {"id": "occ-0412", "originalStart": "2026-04-12T07:00:00Z", "@odata.etag": 'W/"1"'}
    wanted = {"id": "occ-0413", "originalStart": "2026-04-13T07:00:00Z", "@odata.etag": 'W/"1"'}
    mocked.get(f"{API}/me/events/m/instances", json={"value": [other], "@odata.nextLink": page2})
    mocked.get(page2, json={"value": [wanted]})
    mocked.delete(f"{API}/me/events/occ-0413", status=204)
    # when DayFlow cancels that occurrence
    provider._cancel_instance("m", "2026-04-13T09:00:00+02:00", "Europe/Berlin")
    # then both pages are read and the right one is deleted
    assert [c.request.method for c in mocked.calls] == ["GET", "GET", "DELETE"]
    assert mocked.calls[2].request.url.endswith("/me/events/occ-0413")


def test_an_unreadable_cursor_is_expired(provider: OutlookProvider) -> None:
    with pytest.raises(CursorExpired):
        provider.pull("42")


def test_an_event_with_a_pattern_we_cannot_hold_is_unsyncable_not_fatal(
    provider: OutlookProvider, mocked: responses.RequestsMock
) -> None:
    odd = load("event_master.json")
    odd["recurrence"]["pattern"]["type"] = "hourlyish"
    mocked.get(
        DELTA_LINK,
        json={
            "@odata.deltaLink": DELTA_LINK + "2",
            "value": [{"id": "AAMkAGI2-master", "type": "seriesMaster"}, {"id": "AAMkAGI2-single"}],
        },
    )
    mocked.get(f"{API}/me/events/AAMkAGI2-master", json=odd)
    mocked.get(f"{API}/me/events/AAMkAGI2-single", json=load("event_single.json"))

    page = provider.pull(json.dumps({"links": {"": DELTA_LINK}}))

    assert [i.remote_id for i in page.items] == ["AAMkAGI2-single"]
    assert list(page.unsyncable) == ["AAMkAGI2-master"]
    assert "hourlyish" in page.unsyncable["AAMkAGI2-master"]


@pytest.mark.parametrize(
    ("original_start", "found"),
    [
        ("2026-04-05T22:00:00Z", True),
        ("2026-04-06T00:00:00Z", True),
        ("2026-04-07T00:00:00Z", False),
    ],
)
def test_an_all_day_instance_is_found_whatever_zone_its_midnight_was(
    provider: OutlookProvider, mocked: responses.RequestsMock, original_start: str, found: bool
) -> None:
    # given the 6 April occurrence of an all-day series created in Berlin (or in UTC)
    occurrence = {"id": "occ", "originalStart": original_start, "@odata.etag": 'W/"1"'}
    mocked.get(f"{API}/me/events/m/instances", json={"value": [occurrence]})
    if found:
        mocked.delete(f"{API}/me/events/occ", status=204)
    # when DayFlow cancels that day
    provider._cancel_instance("m", "2026-04-06", "")
    # then that occurrence (and only a same-day one) is deleted
    expected = ["GET", "DELETE"] if found else ["GET"]
    assert [c.request.method for c in mocked.calls] == expected


def test_the_calendars_to_pick_are_listed_across_pages(
    provider: OutlookProvider, mocked: responses.RequestsMock
) -> None:
    page2 = f"{API}/me/calendars?$skiptoken=2"
    mocked.get(
        f"{API}/me/calendars",
        json={"value": [{"id": "AAMk-cal1=", "name": "Calendar"}], "@odata.nextLink": page2},
    )
    mocked.get(page2, json={"value": [{"id": "AAMk-cal2=", "name": "Birthdays"}]})

    calendars = provider.list_containers()

    assert [(c.id, c.name, c.kind) for c in calendars] == [
        ("AAMk-cal1=", "Calendar", "calendar"),
        ("AAMk-cal2=", "Birthdays", "calendar"),
    ]
