"""The CalDAV provider against a real Radicale: full and incremental pulls, writes with
If-None-Match / If-Match, a recurring series with exceptions, VTODO tasks."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import icalendar
import niquests
import pytest
from caldav.lib import error as dav_error

from integrations.clients import provider_for
from integrations.providers import caldav as caldav_module
from integrations.providers.base import ItemType, Page
from integrations.providers.caldav import CalDAVProvider
from integrations.providers.errors import CursorExpired, NotFound, Permanent, PreconditionFailed
from tests.radicale import RadicaleCalendar, request

BERLIN = ZoneInfo("Europe/Berlin")


def event(title: str, start: dt.datetime, hours: int = 1, **extra) -> dict:
    tzname = getattr(start.tzinfo, "key", "") if start.tzinfo else ""
    return {
        "title": title,
        "description": "",
        "location": "",
        "status": "confirmed",
        "all_day": False,
        "start": start,
        "end": start + dt.timedelta(hours=hours),
        "timezone": tzname,
        "rrule": "",
        "exdates": [],
        "recurrence_id": "",
        "series_remote_id": "",
        **extra,
    }


@pytest.fixture
def provider(caldav_connection) -> CalDAVProvider:
    return provider_for(caldav_connection)


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The resources whose calendar data the provider downloads and reads (with the
    sync-collection answer or by calendar-multiget)."""
    urls: list[str] = []
    original = CalDAVProvider.items_of

    def spy(self, url, data, etag, calendar):
        urls.append(url)
        return original(self, url, data, etag, calendar)

    monkeypatch.setattr(CalDAVProvider, "items_of", spy)
    return urls


def test_first_pull_is_a_full_listing_then_increments_fetch_only_what_changed(
    provider: CalDAVProvider, fetched: list[str], radicale_calendar: RadicaleCalendar
) -> None:
    # given two events on the server and a first, full pull
    a = provider.create(event("Standup", dt.datetime(2026, 3, 2, 9, tzinfo=BERLIN)), dayflow_id="1")
    b = provider.create(event("Review", dt.datetime(2026, 3, 3, 14, tzinfo=BERLIN)), dayflow_id="2")
    first = provider.pull(None)
    assert first.full
    assert {i.remote_id for i in first.items} == {a.remote_id, b.remote_id}
    # when one of them changes and another client adds a third
    provider.update(a.remote_id, {**a.fields, "title": "Standup (moved)"}, a.version)
    third_ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//EN\r\nBEGIN:VEVENT\r\n"
        "UID:c-1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260304\r\n"
        "SUMMARY:Offsite\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    c_url = radicale_calendar.url + "c.ics"
    request(radicale_calendar.account, "PUT", c_url, third_ics, {"Content-Type": "text/calendar"})
    fetched.clear()
    second = provider.pull(first.next_cursor)
    # then the incremental pull downloads and returns only those two, not the unchanged one
    assert not second.full
    assert sorted(i.fields["title"] for i in second.items) == ["Offsite", "Standup (moved)"]
    names = sorted(href.rsplit("/", 1)[-1] for href in fetched)
    assert names == sorted([a.remote_id.rsplit("/", 1)[-1], "c.ics"])
    assert b.remote_id not in {i.remote_id for i in second.items}
    # and a pull with nothing new fetches nothing
    fetched.clear()
    third = provider.pull(second.next_cursor)
    assert (third.items, third.deleted_ids, fetched) == ([], [], [])


def test_deletions_come_back_as_deleted_ids(provider: CalDAVProvider) -> None:
    item = provider.create(
        event("Dentist", dt.datetime(2026, 5, 4, 8, tzinfo=BERLIN)), dayflow_id="9"
    )
    cursor = provider.pull(None).next_cursor

    provider.delete(item.remote_id, item.version)
    page = provider.pull(cursor)

    assert page.deleted_ids == [item.remote_id]
    assert page.items == []


def test_items_made_by_other_clients_are_pulled_with_their_fields(
    provider: CalDAVProvider, radicale_calendar: RadicaleCalendar
) -> None:
    # given an event another client PUT, with its own UID and a New York time
    cursor = provider.pull(None).next_cursor
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//EN\r\nBEGIN:VEVENT\r\n"
        "UID:other-client-1\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART;TZID=America/New_York:20260308T013000\r\n"
        "DTEND;TZID=America/New_York:20260308T033000\r\n"
        "SUMMARY:Night shift\r\nLOCATION:Pier 17\r\nSTATUS:TENTATIVE\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    status = request(
        radicale_calendar.account,
        "PUT",
        radicale_calendar.url + "other.ics",
        ics,
        {"Content-Type": "text/calendar"},
    )
    assert status == 201
    # when we pull
    page = provider.pull(cursor)
    # then it comes with its zone and an end after the DST jump (2h of wall clock, 1h real)
    (item,) = page.items
    new_york = ZoneInfo("America/New_York")
    assert item.dayflow_id == ""
    assert item.fields["timezone"] == "America/New_York"
    assert item.fields["start"] == dt.datetime(2026, 3, 8, 1, 30, tzinfo=new_york)
    real = item.fields["end"].astimezone(dt.UTC) - item.fields["start"].astimezone(dt.UTC)
    assert real == dt.timedelta(hours=1)
    assert (item.fields["title"], item.fields["location"], item.fields["status"]) == (
        "Night shift",
        "Pier 17",
        "tentative",
    )


def test_a_recurring_series_with_an_edited_and_a_deleted_instance(
    provider: CalDAVProvider, radicale_calendar: RadicaleCalendar
) -> None:
    # given a weekly series across the Berlin DST change (29 March 2026)
    start = dt.datetime(2026, 3, 23, 9, tzinfo=BERLIN)
    master = provider.create(
        event("Weekly sync", start, rrule="FREQ=WEEKLY;COUNT=4;BYDAY=MO"), dayflow_id="s1"
    )
    # when one instance is moved and another deleted
    moved_id = "2026-03-30T09:00:00+02:00"
    exception = provider.create(
        event(
            "Weekly sync (moved)",
            dt.datetime(2026, 3, 31, 10, tzinfo=BERLIN),
            recurrence_id=moved_id,
            series_remote_id=master.remote_id,
        )
    )
    deleted_id = "2026-04-06T09:00:00+02:00"
    provider.delete(f"{master.remote_id}#{deleted_id}")
    # then a full pull gives a master with its rule and EXDATE, and the linked exception
    page = provider.pull(None)
    by_id = {i.remote_id: i for i in page.items}
    assert set(by_id) == {master.remote_id, exception.remote_id}
    got_master = by_id[master.remote_id].fields
    assert got_master["rrule"] == "FREQ=WEEKLY;COUNT=4;BYDAY=MO"
    assert got_master["exdates"] == [deleted_id]
    assert got_master["start"] == start
    got_exception = by_id[exception.remote_id].fields
    assert got_exception["series_remote_id"] == master.remote_id
    assert got_exception["recurrence_id"] == moved_id
    assert got_exception["title"] == "Weekly sync (moved)"
    # and the stored resource is one valid iCalendar object with the Berlin VTIMEZONE
    resource = provider._get(master.remote_id)
    parsed = icalendar.Calendar.from_ical(resource.raw())
    assert len(parsed.walk("VEVENT")) == 2
    stored = caldav_module.DavSession(
        radicale_calendar.server_url,
        radicale_calendar.username,
        radicale_calendar.password,
        service="fastmail",
    ).request("GET", master.remote_id)
    assert b"BEGIN:VTIMEZONE" in stored.body
    assert b"TZID:Europe/Berlin" in stored.body
    assert master.dayflow_id == "s1"


def test_editing_an_exception_keeps_the_master_and_vice_versa(provider: CalDAVProvider) -> None:
    start = dt.datetime(2026, 10, 19, 18, tzinfo=BERLIN)
    master = provider.create(event("Choir", start, rrule="FREQ=WEEKLY"), dayflow_id="c1")
    rid = "2026-10-26T18:00:00+01:00"
    exception = provider.create(
        event(
            "Choir (hall B)",
            start + dt.timedelta(days=7),
            recurrence_id=rid,
            series_remote_id=master.remote_id,
        )
    )

    provider.update(
        exception.remote_id, {**exception.fields, "location": "Hall B"}, exception.version
    )
    current = next(i for i in provider.pull(None).items if i.remote_id == master.remote_id)
    provider.update(
        master.remote_id, {**current.fields, "title": "Choir practice"}, current.version
    )

    items = {i.remote_id: i.fields for i in provider.pull(None).items}
    assert items[master.remote_id]["title"] == "Choir practice"
    assert items[exception.remote_id]["location"] == "Hall B"
    assert items[exception.remote_id]["recurrence_id"] == rid


def test_a_stale_etag_is_a_conflict_never_an_overwrite(provider: CalDAVProvider) -> None:
    # given an item we hold at version 1, which then changed on the server
    item = provider.create(event("Plan", dt.datetime(2026, 6, 1, 9, tzinfo=BERLIN)), dayflow_id="p")
    newer = provider.update(item.remote_id, {**item.fields, "title": "Plan v2"}, item.version)
    assert newer.version != item.version
    # when we write or delete with the stale version
    with pytest.raises(PreconditionFailed):
        provider.update(item.remote_id, {**item.fields, "title": "Plan (stale)"}, item.version)
    with pytest.raises(PreconditionFailed):
        provider.delete(item.remote_id, item.version)
    # then the server still holds the newer version
    (kept,) = provider.pull(None).items
    assert kept.fields["title"] == "Plan v2"
    assert kept.version == newer.version


def test_a_412_from_the_server_on_if_match_is_a_conflict(
    provider: CalDAVProvider, radicale_calendar: RadicaleCalendar
) -> None:
    # given an item that another client rewrote behind our back
    item = provider.create(
        event("Lunch", dt.datetime(2026, 6, 2, 12, tzinfo=BERLIN)), dayflow_id="l"
    )
    session = provider.session
    # when we PUT with If-Match of the old version directly
    with pytest.raises(PreconditionFailed):
        provider._put(
            item.remote_id, b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", {"If-Match": '"stale"'}
        )
    # then the item is untouched
    assert session.request("GET", item.remote_id).status == 200
    assert provider.pull(None).items[0].fields["title"] == "Lunch"


def test_a_retried_create_finds_what_it_made(provider: CalDAVProvider) -> None:
    fields = event("Flight", dt.datetime(2026, 7, 1, 6, tzinfo=BERLIN))

    first = provider.create(fields, dayflow_id="42")
    again = provider.create(fields, dayflow_id="42")

    assert again.remote_id == first.remote_id
    assert again.dayflow_id == "42"
    assert len(provider.pull(None).items) == 1


def test_vtodo_maps_to_tasks_when_enabled(provider: CalDAVProvider, caldav_connection) -> None:
    # given a task written as a VTODO
    due = dt.datetime(2026, 4, 1, 17, tzinfo=BERLIN)
    task = provider.create(
        {
            "title": "File taxes",
            "notes": "before April",
            "status": "open",
            "due": due,
            "priority": 3,
            "completed_at": None,
            "url": "",
        },
        dayflow_id="t1",
    )
    assert task.item_type is ItemType.TASK
    # when it is completed and pulled
    done_at = dt.datetime(2026, 3, 30, 12, tzinfo=dt.UTC)
    provider.update(
        task.remote_id, {**task.fields, "status": "done", "completed_at": done_at}, task.version
    )
    (pulled,) = provider.pull(None).items
    # then it is a done task with its fields
    assert pulled.item_type is ItemType.TASK
    assert pulled.fields | {"completed_at": None} == {
        "title": "File taxes",
        "notes": "before April",
        "status": "done",
        "due": due,
        "priority": 3,
        "completed_at": None,
        "url": "",
    }
    assert pulled.fields["completed_at"] == done_at
    # and with VTODO sync off, tasks are not pulled
    caldav_connection.field_mapping = {**caldav_connection.field_mapping, "sync_todos": False}
    assert CalDAVProvider(caldav_connection).pull(None).items == []


def test_a_rejected_sync_token_falls_back_to_a_full_pull(provider: CalDAVProvider) -> None:
    item = provider.create(event("Gym", dt.datetime(2026, 2, 2, 7, tzinfo=BERLIN)), dayflow_id="g")
    cursor = provider.pull(None).next_cursor
    calendar = provider.calendars()[0]
    bogus = f'{{"calendars": {{"{calendar}": {{"token": "http://radicale.org/ns/sync/bogus"}}}}}}'

    page = provider.pull(bogus)

    assert page.full
    assert [i.remote_id for i in page.items] == [item.remote_id]
    assert '"token"' in page.next_cursor
    assert "bogus" not in page.next_cursor
    assert cursor


def bad_request() -> SimpleNamespace:
    """What the caldav client returns (it raises only for 401 and 403) for a 400."""
    return SimpleNamespace(status=400, headers={}, _raw_body=b"Bad Request", tree=None, raw=b"")


@pytest.mark.parametrize("refusal", ["403 supported-report", "501", "400, no sync-token"])
def test_without_sync_tokens_it_compares_ctag_and_etags(
    provider: CalDAVProvider, monkeypatch: pytest.MonkeyPatch, fetched: list[str], refusal: str
) -> None:
    # given a server that does not offer RFC 6578: it refuses the sync-collection REPORT with a
    # 403 and DAV:supported-report (RFC 3253: the caldav client raises for a 403), a 501, or a
    # 400 while its calendars carry no DAV:sync-token
    client = provider.session.client
    original = client.request

    def without_sync(url, method="GET", body="", headers=None):
        if method == "REPORT" and b"sync-collection" in body:
            if refusal == "501":
                return original(url, "NOT-A-METHOD", body, headers)  # Radicale: 501
            if refusal.startswith("400"):
                return bad_request()
            raise dav_error.AuthorizationError(
                url=url, reason="Forbidden", status=403, preconditions=["{DAV:}supported-report"]
            )
        return original(url, method, body, headers)

    monkeypatch.setattr(client, "request", without_sync)
    if refusal.startswith("400"):
        monkeypatch.setattr(
            caldav_module,
            "PROPFIND_CALENDARS",
            caldav_module.PROPFIND_CALENDARS.replace(b"<d:sync-token/>", b""),
        )
    a = provider.create(event("A", dt.datetime(2026, 1, 5, 9, tzinfo=BERLIN)), dayflow_id="a")
    b = provider.create(event("B", dt.datetime(2026, 1, 6, 9, tzinfo=BERLIN)), dayflow_id="b")
    first = provider.pull(None)
    assert '"etags"' in first.next_cursor
    # when one item changes and the other is deleted
    provider.update(a.remote_id, {**a.fields, "title": "A2"}, a.version)
    provider.delete(b.remote_id, b.version)
    fetched.clear()
    second = provider.pull(first.next_cursor)
    # then only the changed one is fetched, and the deletion is found by etag comparison
    assert [i.fields["title"] for i in second.items] == ["A2"]
    assert second.deleted_ids == [b.remote_id]
    assert len(fetched) == 1
    # and an unchanged ctag short-cuts the listing
    fetched.clear()
    third = provider.pull(second.next_cursor)
    assert (third.items, third.deleted_ids, fetched) == ([], [], [])


def test_fields_as_the_engine_sends_them_are_stored_in_the_event_zone(
    provider: CalDAVProvider,
) -> None:
    # given a weekly series as the engine decodes it from JSON: instants in UTC
    start = dt.datetime(2026, 3, 23, 8, tzinfo=dt.UTC)
    fields = event("Yoga", start, rrule="FREQ=WEEKLY;BYDAY=MO") | {"timezone": "Europe/Berlin"}
    # when it is created
    item = provider.create(fields, dayflow_id="y1")
    # then the server holds it at 09:00 Europe/Berlin (TZID, not UTC), so DST keeps 09:00
    stored = provider.session.request("GET", item.remote_id).body
    assert b"DTSTART;TZID=Europe/Berlin:20260323T090000" in stored
    assert item.fields["start"] == dt.datetime(2026, 3, 23, 9, tzinfo=BERLIN)
    assert item.fields["timezone"] == "Europe/Berlin"


def test_in_a_series_an_edit_of_one_instance_does_not_make_the_others_stale(
    provider: CalDAVProvider,
) -> None:
    # given a series with one exception, each held at the version we last saw
    start = dt.datetime(2026, 3, 16, 9, tzinfo=BERLIN)
    provider.create(event("Standup", start, rrule="FREQ=DAILY;COUNT=10"), dayflow_id="m")
    rid = "2026-03-30T09:00:00+02:00"
    master_id = provider.pull(None).items[0].remote_id
    provider.create(
        event(
            "Standup (late)",
            start + dt.timedelta(days=14, hours=1),
            recurrence_id=rid,
            series_remote_id=master_id,
        )
    )
    held = {i.remote_id: i for i in provider.pull(None).items}
    master, exception = held[master_id], held[f"{master_id}#{rid}"]
    # when the exception changes (moving the resource's etag), the master can still be written
    provider.update(
        exception.remote_id, {**exception.fields, "location": "Call"}, exception.version
    )
    provider.update(master_id, {**master.fields, "title": "Daily standup"}, master.version)
    # but once the master itself changed, our old version of it is a conflict
    with pytest.raises(PreconditionFailed):
        provider.update(master_id, {**master.fields, "title": "Stale"}, master.version)
    with pytest.raises(PreconditionFailed):
        provider.delete(master_id, master.version)
    titles = sorted(i.fields["title"] for i in provider.pull(None).items)
    assert titles == ["Daily standup", "Standup (late)"]


def test_exceptions_that_leave_their_series_are_reported_deleted(provider: CalDAVProvider) -> None:
    # given a series with two moved instances, pulled once
    start = dt.datetime(2026, 5, 4, 18, tzinfo=BERLIN)
    master = provider.create(event("Run", start, rrule="FREQ=WEEKLY;COUNT=5"), dayflow_id="r")
    rids = ["2026-05-11T18:00:00+02:00", "2026-05-18T18:00:00+02:00"]
    for rid in rids:
        provider.create(
            event(
                "Run (moved)",
                events_parse(rid) + dt.timedelta(hours=1),
                recurrence_id=rid,
                series_remote_id=master.remote_id,
            )
        )
    cursor = provider.pull(None).next_cursor
    # when one instance is cancelled (its override goes, an EXDATE comes)
    provider.delete(f"{master.remote_id}#{rids[0]}")
    page = provider.pull(cursor)
    # then that exception is reported deleted and the master carries the EXDATE
    assert page.deleted_ids == [f"{master.remote_id}#{rids[0]}"]
    (got_master,) = [i for i in page.items if i.remote_id == master.remote_id]
    assert got_master.fields["exdates"] == [rids[0]]
    # and when the whole series is deleted, the master and its remaining exception go
    current = next(i for i in provider.pull(None).items if i.remote_id == master.remote_id)
    provider.delete(master.remote_id, current.version)
    assert sorted(provider.pull(page.next_cursor).deleted_ids) == [
        master.remote_id,
        f"{master.remote_id}#{rids[1]}",
    ]


def events_parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(BERLIN)


def test_tasks_go_to_a_calendar_that_takes_vtodo_and_events_to_the_first(
    caldav_connection, radicale_server, radicale_calendar: RadicaleCalendar
) -> None:
    # given an events-only calendar chosen first, then the mixed one
    events_only = radicale_server.mkcalendar(radicale_calendar.account, "Events", ("VEVENT",))
    caldav_connection.field_mapping = {
        "calendars": [events_only.url, radicale_calendar.url],
        "sync_todos": True,
    }
    provider = CalDAVProvider(caldav_connection)
    # when a task and an event are created without naming a calendar
    task = provider.create({"title": "Call mum", "status": "open", "due": None}, dayflow_id="t9")
    meeting = provider.create(
        event("1:1", dt.datetime(2026, 3, 2, 9, tzinfo=BERLIN)), dayflow_id="e9"
    )
    # then each lands where it can live
    assert task.remote_id.startswith(radicale_calendar.url)
    assert meeting.remote_id.startswith(events_only.url)
    assert {c.id for c in provider.list_containers()} == {events_only.url, radicale_calendar.url}


def test_without_a_choice_every_calendar_of_the_account_is_synced(
    caldav_connection, radicale_server, radicale_calendar: RadicaleCalendar
) -> None:
    other = radicale_server.mkcalendar(radicale_calendar.account, "Other")
    caldav_connection.field_mapping = {"sync_todos": False}
    provider = CalDAVProvider(caldav_connection)

    assert sorted(provider.calendars()) == sorted([radicale_calendar.url, other.url])
    page = provider.pull(None)
    assert sorted(json.loads(page.next_cursor)["calendars"]) == sorted(provider.calendars())


def test_items_are_found_by_dayflow_id_and_fetched_by_id(provider: CalDAVProvider) -> None:
    start = dt.datetime(2026, 8, 3, 9, tzinfo=BERLIN)
    master = provider.create(
        event("Sprint", start, rrule="FREQ=WEEKLY"), dayflow_id="dayflow-event-7"
    )
    rid = "2026-08-10T09:00:00+02:00"
    provider.create(
        event(
            "Sprint (review)",
            start + dt.timedelta(days=7),
            recurrence_id=rid,
            series_remote_id=master.remote_id,
        )
    )

    found = provider.find_by_dayflow_id("dayflow-event-7")
    missing = provider.find_by_dayflow_id("dayflow-event-8")
    exception = provider.get(f"{master.remote_id}#{rid}")

    assert found is not None
    assert (found.remote_id, found.fields["title"]) == (master.remote_id, "Sprint")
    assert missing is None
    assert exception.fields["title"] == "Sprint (review)"
    with pytest.raises(NotFound):
        provider.get(master.remote_id + "#2026-08-17T09:00:00+02:00")


@pytest.mark.parametrize("cursor", ["not json", "[1, 2]"])
def test_an_unreadable_cursor_is_expired(provider: CalDAVProvider, cursor: str) -> None:
    with pytest.raises(CursorExpired):
        provider.pull(cursor)


def test_writing_where_the_server_forbids_it_is_permanent_not_a_reconnect(
    caldav_connection, radicale_server
) -> None:
    # given a calendar of another user, which owner_only rights forbid
    stranger = radicale_server.add_account()
    foreign = radicale_server.mkcalendar(stranger, "Not yours")
    provider = CalDAVProvider(caldav_connection)
    # when we try to write there
    with pytest.raises(Permanent) as caught:
        provider.create(
            event("x", dt.datetime(2026, 1, 1, 9, tzinfo=BERLIN)), collection=foreign.url
        )
    # then it is a permanent refusal, not expired credentials
    assert caught.value.status == 403


def test_a_series_with_extra_dates_is_unsyncable_not_fatal(
    provider: CalDAVProvider, radicale_calendar: RadicaleCalendar
) -> None:
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//EN\r\nBEGIN:VEVENT\r\n"
        "UID:rdate-1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\n"
        "DTEND:20260105T100000Z\r\nRRULE:FREQ=WEEKLY\r\nRDATE:20260107T090000Z\r\n"
        "SUMMARY:Odd\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    request(
        radicale_calendar.account,
        "PUT",
        radicale_calendar.url + "odd.ics",
        ics,
        {"Content-Type": "text/calendar"},
    )
    kept = provider.create(
        event("Plain", dt.datetime(2026, 1, 6, 9, tzinfo=BERLIN)), dayflow_id="p"
    )

    page = provider.pull(None)

    assert [i.remote_id for i in page.items] == [kept.remote_id]
    odd = radicale_calendar.url + "odd.ics"
    assert list(page.unsyncable) == [odd]
    assert page.unsyncable[odd] == "Odd: extra dates (RDATE) are not supported"


def test_error_messages_do_not_carry_the_account_name(
    provider: CalDAVProvider, radicale_calendar: RadicaleCalendar
) -> None:
    # Radicale's paths start with the user name, which we keep encrypted.
    with pytest.raises(NotFound) as caught:
        provider.get(radicale_calendar.url + "missing.ics")
    assert radicale_calendar.username not in str(caught.value)
    assert "missing.ics" in str(caught.value)


def test_members_listed_without_their_data_are_fetched_by_multiget(
    provider: CalDAVProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a server that leaves calendar-data out of its sync-collection answers (RFC 6578
    # does not oblige it to return it)
    monkeypatch.setattr(
        caldav_module,
        "SYNC_COLLECTION",
        caldav_module.SYNC_COLLECTION.replace("{data}", ""),
    )
    multiget: list[str] = []
    original = CalDAVProvider._fetch

    def spy(self, calendar, wanted):
        multiget.extend(wanted)
        return original(self, calendar, wanted)

    monkeypatch.setattr(CalDAVProvider, "_fetch", spy)
    a = provider.create(event("A", dt.datetime(2026, 1, 5, 9, tzinfo=BERLIN)), dayflow_id="a")
    # when the provider pulls
    page = provider.pull(None)
    # then the listed member is fetched by a calendar-multiget, read as usual
    assert [i.fields["title"] for i in page.items] == ["A"]
    assert [href.rsplit("/", 1)[-1] for href in multiget] == [a.remote_id.rsplit("/", 1)[-1]]


def test_members_listed_with_their_data_need_no_multiget(
    provider: CalDAVProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a server (Radicale) that returns calendar-data in sync-collection answers
    monkeypatch.setattr(
        CalDAVProvider,
        "_fetch",
        lambda self, calendar, wanted: pytest.fail("multiget") if wanted else [],
    )
    # when it pulls the first time and after a change, then no multiget is sent at all
    pull_before_and_after_a_create(provider)


def test_a_403_that_is_not_about_the_report_is_not_taken_for_missing_sync_support(
    provider: CalDAVProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a server that offers sync tokens but forbids this REPORT for another reason
    client = provider.session.client
    original = client.request

    def forbidden(url, method="GET", body="", headers=None):
        if method == "REPORT":
            raise dav_error.AuthorizationError(url=url, reason="Forbidden", status=403)
        return original(url, method, body, headers)

    monkeypatch.setattr(client, "request", forbidden)
    # when the first pull runs, then the error is the user's to see, not a silent switch to
    # listing every etag on every later pull
    with pytest.raises(Permanent, match="403") as caught:
        provider.pull(None)
    assert not isinstance(caught.value, caldav_module.SyncUnsupported)


def test_a_server_refusing_calendar_data_in_sync_collection_is_asked_without_it(
    provider: CalDAVProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a server that answers 400 to a sync-collection asking for calendar-data
    client = provider.session.client
    original = client.request
    reports: list[bool] = []

    def picky(url, method="GET", body="", headers=None):
        if method == "REPORT" and b"sync-collection" in body:
            reports.append(b"calendar-data" in body)
            if b"calendar-data" in body:
                return bad_request()
        return original(url, method, body, headers)

    monkeypatch.setattr(client, "request", picky)
    # when it pulls twice, then the items still arrive (by multiget), and only the first pull
    # asked with data
    _first, second = pull_before_and_after_a_create(provider)
    assert reports == [True, False, False]
    assert '"data": false' in second.next_cursor


def pull_before_and_after_a_create(provider: CalDAVProvider) -> tuple[Page, Page]:
    """A first pull over event A, then an incremental one after B was created: each holds
    just its event."""
    provider.create(event("A", dt.datetime(2026, 1, 5, 9, tzinfo=BERLIN)), dayflow_id="a")
    first = provider.pull(None)
    provider.create(event("B", dt.datetime(2026, 1, 6, 9, tzinfo=BERLIN)), dayflow_id="b")
    second = provider.pull(first.next_cursor)
    assert [i.fields["title"] for i in first.items] == ["A"]
    assert [i.fields["title"] for i in second.items] == ["B"]
    return first, second


def test_a_first_sync_collection_with_data_that_times_out_is_asked_without_it(
    provider: CalDAVProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a server too slow to answer a first sync-collection with every member's data
    # (Radicale with tens of thousands of events), but quick with the listing alone
    client = provider.session.client
    original = client.request
    reports: list[bool] = []

    def slow_with_data(url, method="GET", body="", headers=None):
        if method == "REPORT" and b"sync-collection" in body:
            reports.append(b"calendar-data" in body)
            if b"calendar-data" in body:
                raise niquests.exceptions.ReadTimeout("read timed out")
        return original(url, method, body, headers)

    monkeypatch.setattr(client, "request", slow_with_data)
    # when it pulls twice, then the items arrive by multiget, and later pulls ask without data
    _first, second = pull_before_and_after_a_create(provider)
    assert reports == [True, False, False]
    assert '"data": false' in second.next_cursor


def test_a_later_sync_collection_that_times_out_is_a_transient_error(
    provider: CalDAVProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a first pull that went well, then a server that does not answer in time
    provider.create(event("A", dt.datetime(2026, 1, 5, 9, tzinfo=BERLIN)), dayflow_id="a")
    first = provider.pull(None)
    client = provider.session.client

    def timing_out(url, method="GET", body="", headers=None):
        raise niquests.exceptions.ReadTimeout("read timed out")

    monkeypatch.setattr(client, "request", timing_out)
    # when it pulls again, then it is the job's to retry later, not a switch to listings
    with pytest.raises(caldav_module.ServerUnreachable) as caught:
        provider.pull(first.next_cursor)
    assert caught.value.reason == "timeout"
