"""A batch of CalDAV updates reads the resources it rewrites in one calendar-multiget
(`CalDAVProvider.write_batch`), not a GET each, against the test Radicale: what DayFlow does not
model survives, a resource changed meanwhile is that write's conflict alone, and a server that
refuses the multiget is read one resource at a time as before."""

from __future__ import annotations

import collections
import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest

from integrations.clients import provider_for
from integrations.providers import caldav
from integrations.providers.base import RemoteItem, Write
from integrations.providers.errors import PreconditionFailed
from tests.radicale import RadicaleCalendar, request

BERLIN = ZoneInfo("Europe/Berlin")


def event(n: int, title: str = "") -> dict:
    start = dt.datetime(2026, 3, 2, 9, tzinfo=BERLIN) + dt.timedelta(days=n)
    return {
        "title": title or f"Event {n}",
        "start": start,
        "end": start + dt.timedelta(minutes=30),
        "timezone": "Europe/Berlin",
        "all_day": False,
    }


def with_alarm(n: int) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//macOS 15//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:apple-{n}\r\nDTSTAMP:20261101T000000Z\r\n"
        f"DTSTART;TZID=Europe/Berlin:202603{n + 2:02d}T090000\r\n"
        f"DTEND;TZID=Europe/Berlin:202603{n + 2:02d}T093000\r\n"
        f"SUMMARY:Event {n}\r\nCATEGORIES:Work\r\n"
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT10M\r\n"
        "END:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@pytest.fixture
def stored(caldav_connection, radicale_calendar: RadicaleCalendar) -> list[RemoteItem]:
    """Ten events another client (Apple Calendar) wrote, each with an alarm and a category."""
    for n in range(10):
        url = f"{radicale_calendar.url}apple-{n}.ics"
        headers = {"Content-Type": "text/calendar"}
        assert request(radicale_calendar.account, "PUT", url, with_alarm(n), headers) == 201
    items = provider_for(caldav_connection).pull(None).items
    return sorted(items, key=lambda item: item.fields["title"])


@pytest.fixture
def methods(monkeypatch) -> collections.Counter:
    """The requests the provider sends, by method."""
    sent: collections.Counter = collections.Counter()
    original = caldav.DavSession.request

    def spy(self, method, url, *args, **kwargs):
        sent[method] += 1
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(caldav.DavSession, "request", spy)
    return sent


def renames(items: list[RemoteItem]) -> list[Write]:
    return [
        Write(
            "update",
            {**item.fields, "title": f"{item.fields['title']} (moved)"},
            remote_id=item.remote_id,
            version=item.version,
        )
        for item in items
    ]


def test_ten_updates_read_their_resources_in_one_multiget(caldav_connection, stored, methods):
    provider = provider_for(caldav_connection)

    results = provider.write_batch(renames(stored))

    assert all(isinstance(result, RemoteItem) for result in results), results
    assert (methods["REPORT"], methods["GET"], methods["PUT"]) == (1, 0, 10)
    session = provider_for(caldav_connection).session
    for item in stored:
        (vevent,) = icalendar.Calendar.from_ical(session.request("GET", item.remote_id).body).walk(
            "VEVENT"
        )
        assert str(vevent["SUMMARY"]).endswith("(moved)")
        assert vevent.walk("VALARM")[0]["TRIGGER"].to_ical() == b"-PT10M"  # kept
        assert vevent["CATEGORIES"].to_ical() == b"Work"


def test_a_resource_changed_after_the_read_ahead_is_that_writes_conflict_alone(
    caldav_connection, radicale_calendar, stored, monkeypatch
):
    provider = provider_for(caldav_connection)
    changed = stored[3].remote_id
    read_ahead = provider._read_resources

    def then_another_client_writes(calendar, urls):
        found = read_ahead(calendar, urls)
        edited = with_alarm(3).replace("SUMMARY:Event 3", "SUMMARY:Edited on the phone")
        headers = {"Content-Type": "text/calendar"}
        assert request(radicale_calendar.account, "PUT", changed, edited, headers) == 204
        return found

    monkeypatch.setattr(provider, "_read_resources", then_another_client_writes)

    results = provider.write_batch(renames(stored))

    assert isinstance(results[3], PreconditionFailed)  # If-Match: never an overwrite
    assert sum(isinstance(result, RemoteItem) for result in results) == 9
    again = {i.remote_id: i for i in provider_for(caldav_connection).pull(None).items}
    assert again[changed].fields["title"] == "Edited on the phone"


def test_a_refused_multiget_reads_one_resource_at_a_time(
    caldav_connection, stored, methods, monkeypatch
):
    provider = provider_for(caldav_connection)
    counted = caldav.DavSession.request  # the spy of `methods`

    def no_multiget(self, method, url, body=b"", headers=None):
        if method == "REPORT" and b"calendar-multiget" in body:
            return caldav.DavReply(403, {}, b"")
        return counted(self, method, url, body, headers)

    monkeypatch.setattr(caldav.DavSession, "request", no_multiget)

    results = provider.write_batch(renames(stored))

    assert all(isinstance(result, RemoteItem) for result in results), results
    assert methods["GET"] == 10  # as before the read-ahead


def test_a_single_update_is_one_get_not_a_multiget(caldav_connection, stored, methods):
    provider = provider_for(caldav_connection)

    (result,) = provider.write_batch(renames(stored[:1]))

    assert isinstance(result, RemoteItem)
    assert (methods["REPORT"], methods["GET"], methods["PUT"]) == (0, 1, 1)
