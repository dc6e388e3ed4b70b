"""A server caps what one REPORT answers (Radicale: `max_expand_occurrence` VEVENTs, 10,000 by
default, then a 400): a calendar larger than that is read in parts, and a part still refused
is asked for in halves. Against a real Radicale whose cap is 10 VEVENTs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dayflow.models import Event
from integrations.providers import caldav
from tests.integrations.calendar.runs import run_ok
from tests.radicale import RadicaleServer, connect_caldav, request, running_radicale

pytestmark = pytest.mark.django_db
CAP = 10
EVENTS = 37


@pytest.fixture(scope="module")
def capped_radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleServer]:
    extra = f"\n[reporting]\nmax_expand_occurrence = {CAP}\n"
    with running_radicale(tmp_path_factory.mktemp("capped-radicale"), extra) as server:
        yield server


def event(index: int) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:capped-{index}\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART:202603{1 + index % 28:02d}T090000Z\r\n"
        f"DTEND:202603{1 + index % 28:02d}T100000Z\r\n"
        f"SUMMARY:Event {index}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def test_a_calendar_over_the_servers_report_cap_comes_in_whole(
    user, capped_radicale: RadicaleServer, monkeypatch
) -> None:
    calendar = capped_radicale.mkcalendar(capped_radicale.add_account(), name="Big")
    for index in range(EVENTS):
        status = request(
            calendar.account,
            "PUT",
            f"{calendar.url}capped-{index}.ics",
            event(index),
            {"Content-Type": "text/calendar"},
        )
        assert status == 201
    connection = connect_caldav(user, calendar)
    monkeypatch.setattr(caldav, "MULTIGET_PULL_HREFS", 30)  # a part still over the cap
    monkeypatch.setattr(caldav, "MULTIGET_MIN_HREFS", 2)
    asked: list[int] = []
    multiget = caldav.CalDAVProvider._multiget

    def counted(self, calendar_url, hrefs):
        asked.append(len(hrefs))
        return multiget(self, calendar_url, hrefs)

    monkeypatch.setattr(caldav.CalDAVProvider, "_multiget", counted)

    job = run_ok(connection)

    titles = sorted(Event.objects.filter(user=user).values_list("title", flat=True))
    assert titles == sorted(f"Event {index}" for index in range(EVENTS))
    assert job.local_created == EVENTS
    assert asked[:3] == [30, 15, 7]  # the first part refused, then halves until one fits
