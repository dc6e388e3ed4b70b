"""CalDAV requests pass the same per-connection rate limit and call counter as REST calls."""

from __future__ import annotations

import pytest
from caldav import DAVClient

from integrations.providers.http import api_calls
from sync.models import SyncJob
from tests.integrations.calendar.runs import run
from tests.radicale import RadicaleCalendar, request

pytestmark = pytest.mark.django_db

EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//EN\r\n"
    "BEGIN:VEVENT\r\nUID:standup-1\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART:20260323T090000Z\r\nDTEND:20260323T091500Z\r\n"
    "SUMMARY:Standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """The methods of the requests python-caldav really sent, in order."""
    methods: list[str] = []
    send = DAVClient.request

    def counting(self, url, method="GET", body="", headers=None):
        methods.append(method)
        return send(self, url, method, body, headers)

    monkeypatch.setattr(DAVClient, "request", counting)
    return methods


@pytest.fixture
def an_event(radicale_calendar: RadicaleCalendar) -> None:
    headers = {"Content-Type": "text/calendar"}
    status = request(
        radicale_calendar.account, "PUT", radicale_calendar.url + "standup-1.ics", EVENT, headers
    )
    assert status == 201


def test_every_caldav_request_of_a_sync_is_counted_for_the_connection(
    caldav_connection, an_event, sent
):
    # when the engine syncs a CalDAV connection
    job = run(caldav_connection)
    # then each request it sent counts against the connection, as a REST call would
    assert job.status == SyncJob.Status.SUCCEEDED, job.error
    assert len(sent) > 0
    assert api_calls(caldav_connection.pk) == len(sent)
    assert job.api_calls == len(sent)


def test_a_caldav_sync_past_the_connection_s_rate_is_requeued_not_sent(
    caldav_connection, an_event, sent, settings
):
    # given a rate of one request an hour for the connection's service, used up by a sync
    settings.DAYFLOW_RATE_LIMITS = {"fastmail": (1, 3600.0)}
    assert run(caldav_connection).status == SyncJob.Status.SUCCEEDED
    assert len(sent) == 1
    # when the engine syncs again within the hour
    job = run(caldav_connection)
    # then the request waits for its slot: the job goes back to the queue, nothing is sent
    assert job.status == SyncJob.Status.QUEUED
    assert job.error.startswith("rate limited: fastmail: ")
    assert len(sent) == 1
    assert api_calls(caldav_connection.pk) == 1
