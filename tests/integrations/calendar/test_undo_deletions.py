"""Undoing a sync's deletions brings each event back under its own identity where the service
allows it: CalDAV (the real Radicale) the same href and UID, Google the same event id; Graph
cannot undelete, so a new event carries the same DayFlow id and link to the same local event."""

from __future__ import annotations

import pytest

from dayflow.models import Event
from integrations.clients import provider_for
from integrations.providers.outlook.provider import DAYFLOW_ID
from sync import repair
from sync.models import ItemLink
from tests.integrations.calendar.runs import run_ok as run
from tests.radicale import RadicaleCalendar, request

pytestmark = pytest.mark.django_db
WHERE = ["deleted in DayFlow", "deleted at the service"]


def vevent(uid: str, title: str, day: int) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other client//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;TZID=Europe/Berlin:202603{day:02d}T090000\r\n"
        f"DTEND;TZID=Europe/Berlin:202603{day:02d}T100000\r\n"
        f"SUMMARY:{title}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def google_event(event_id: str, title: str, day: int) -> dict:
    return {
        "id": event_id,
        "summary": title,
        "start": {"dateTime": f"2026-03-{day:02d}T09:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": f"2026-03-{day:02d}T10:00:00+01:00", "timeZone": "Europe/Berlin"},
    }


def graph_event(title: str, day: int) -> dict:
    return {
        "subject": title,
        "start": {"dateTime": f"2026-03-{day:02d}T09:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": f"2026-03-{day:02d}T10:00:00", "timeZone": "Europe/Berlin"},
    }


def delete_and_undo(connection, where: str, delete_at_service) -> Event:
    """Delete "Planning" on one side, sync the deletion, undo that sync: the event, again."""
    planning = Event.objects.get(title="Planning")
    if where == WHERE[0]:
        planning.soft_delete()
    else:
        delete_at_service()
    job = run(connection)
    assert job.remote_deleted + job.local_deleted == 1
    assert not Event.objects.filter(pk=planning.pk).exists()
    report = repair.undo_job(job.pk)
    assert (report.reverted, report.skipped, report.unlinked) == (1, [], 0)
    return Event.objects.get(pk=planning.pk)


@pytest.mark.parametrize("where", WHERE)
def test_caldav_undo_puts_the_event_back_at_its_href_with_its_uid(
    caldav_connection, radicale_calendar: RadicaleCalendar, where
) -> None:
    # given an event another client made (its UID names its resource) and one more, synced
    account, href = radicale_calendar.account, radicale_calendar.url + "7f3a9c-planning.ics"
    headers = {"Content-Type": "text/calendar"}
    assert request(account, "PUT", href, vevent("7f3a9c-planning", "Planning", 24), headers) == 201
    other = radicale_calendar.url + "other.ics"
    assert request(account, "PUT", other, vevent("other", "Other", 25), headers) == 201
    run(caldav_connection)
    # when a sync deletes it on one side and that sync is undone
    event = delete_and_undo(caldav_connection, where, lambda: request(account, "DELETE", href))
    # then it is back on the server under the same href and UID, linked to the same event
    provider = provider_for(caldav_connection)
    assert b"UID:7f3a9c-planning\r\n" in provider.session.request("GET", href).body
    assert provider.get(href).fields["title"] == "Planning"
    assert ItemLink.objects.get(event=event).remote_id == href
    assert not event.is_deleted
    # and both sides agree: nothing left to sync
    assert run(caldav_connection).processed == 0


@pytest.mark.parametrize("where", WHERE)
def test_google_undo_confirms_the_same_event_again(google_engine, where) -> None:
    # given two Google events, synced
    connection, fake = google_engine
    fake.add(google_event("planning7", "Planning", 24))
    fake.add(google_event("other7", "Other", 25))
    run(connection)
    # when a sync deletes one on one side and that sync is undone
    event = delete_and_undo(connection, where, lambda: fake.remove("planning7"))
    # then the same Google event is confirmed again, not a copy made
    assert sorted(fake.events) == ["other7", "planning7"]
    restored = fake.events["planning7"]
    assert (restored["status"], restored["summary"]) == ("confirmed", "Planning")
    assert restored["extendedProperties"]["private"]["dayflowId"] == f"dayflow-event-{event.pk}"
    assert ItemLink.objects.get(event=event).remote_id == "primary/planning7"
    # and both sides agree: nothing left to sync
    assert run(connection).processed == 0


@pytest.mark.parametrize("where", WHERE)
def test_graph_undo_keeps_the_link_and_dayflow_id(graph_engine, where) -> None:
    # given two Outlook events, synced
    connection, fake = graph_engine
    fake.add(graph_event("Planning", 24), event_id="planning7")
    fake.add(graph_event("Other", 25), event_id="other7")
    run(connection)
    # when a sync deletes one on one side and that sync is undone
    event = delete_and_undo(connection, where, lambda: fake.remove("planning7"))
    # then Graph, which cannot undelete, has a new event carrying the same DayFlow id, and
    # DayFlow's event (the same row) is linked to it
    (restored,) = [e for e in fake.events.values() if e["subject"] == "Planning"]
    flow_id = f"dayflow-event-{event.pk}"
    assert {"id": DAYFLOW_ID, "value": flow_id} in restored["singleValueExtendedProperties"]
    link = ItemLink.objects.get(event=event)
    assert (link.remote_id, link.dayflow_id) == (restored["id"], flow_id)
    # and both sides agree: nothing left to sync
    assert run(connection).processed == 0
