"""The console's CalDAV desk: the signed-in person's sandbox calendar at a real Radicale, read
and changed as another calendar app would (list, edit, add, delete), and its guards."""

from __future__ import annotations

import datetime as dt
import uuid

import icalendar
import pytest
import requests

from integrations.sandbox import caldav_desk
from integrations.sandbox.caldav_accounts import events
from tests.radicale import MKCALENDAR_BODY, request

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 3)


@pytest.fixture
def person(radicale_server, django_user_model, sandbox_on, settings, client):
    """A DayFlow user with the seeded sandbox calendar at the server, signed in."""
    settings.DAYFLOW_SANDBOX_CALDAV_URL = radicale_server.url.rstrip("/")
    user = django_user_model.objects.create_user(f"cal-{uuid.uuid4().hex[:8]}", "", "pw-123-xyz")
    account = radicale_server.add_account(user.username, caldav_desk.PASSWORD)
    home = f"{account.principal_url}{caldav_desk.CALENDAR}/"
    body = MKCALENDAR_BODY.format(name="Sandbox calendar", components='<C:comp name="VEVENT"/>')
    assert request(account, "MKCALENDAR", home, body) == 201
    for name, text in events(TODAY).items():
        request(account, "PUT", f"{home}{name}", text, {"Content-Type": "text/calendar"})
    client.force_login(user)
    return user


def stored(user, name: str) -> icalendar.Event:
    url = f"{caldav_desk.calendar_url(user.username)}{name}"
    answer = requests.get(url, auth=(user.username, caldav_desk.PASSWORD), timeout=10)
    return caldav_desk._master(icalendar.Calendar.from_ical(answer.content))


def test_the_calendar_is_listed_with_its_events(person, client):
    page = client.get("/sandbox/caldav/console/")

    assert page.status_code == 200
    text = page.content.decode()
    for title in ("Dentist", "Team offsite", "Weekly planning", "Call with the Berlin office"):
        assert title in text
    assert "send no webhooks" in text


def test_an_edit_is_saved_at_the_server_in_the_events_own_zone(person, client):
    form = {"title": "Call Berlin", "start": "2026-12-04T10:30", "end": "2026-12-04T11:00"}

    answer = client.post("/sandbox/caldav/console/berlin.ics/", form)

    assert answer.status_code == 302
    vevent = stored(person, "berlin.ics")
    assert str(vevent["SUMMARY"]) == "Call Berlin"
    start = vevent.decoded("DTSTART")
    assert (start.tzinfo.key, start.hour, start.minute) == ("Europe/Berlin", 10, 30)


def test_a_series_keeps_its_rule_and_its_moved_occurrence(person, client):
    form = {"title": "Planning", "start": "2026-11-30T10:00", "end": "2026-11-30T10:30"}

    client.post("/sandbox/caldav/console/weekly.ics/", form)

    url = f"{caldav_desk.calendar_url(person.username)}weekly.ics"
    text = requests.get(url, auth=(person.username, caldav_desk.PASSWORD), timeout=10).text
    parsed = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert str(parsed[0]["SUMMARY"]) == "Planning"
    assert "RRULE" in parsed[0]
    assert str(parsed[1]["SUMMARY"]) == "Weekly planning (moved)"


def test_an_event_is_added_and_deleted(person, client):
    form = {"title": "Gym", "all_day": "on", "start": "2026-12-10T00:00", "end": "2026-12-10T00:00"}

    assert client.post("/sandbox/caldav/console/", form).status_code == 302
    added = next(e for e in caldav_desk.events(person.username) if e.now.title == "Gym")
    assert added.now.all_day
    assert client.post(f"/sandbox/caldav/console/{added.name}/delete").status_code == 302

    assert "Gym" not in [e.now.title for e in caldav_desk.events(person.username)]


def test_bad_input_is_a_400_and_changes_nothing(person, client):
    form = {"title": "", "start": "2026-12-04T10:00", "end": "2026-12-04T09:00"}

    assert client.post("/sandbox/caldav/console/berlin.ics/", form).status_code == 400
    assert str(stored(person, "berlin.ics")["SUMMARY"]) == "Call with the Berlin office"


@pytest.mark.parametrize("name", ["nothing.ics", "berlin.txt", "..%2Fother.ics"])
def test_an_unknown_event_is_404(person, client, name):
    assert client.get(f"/sandbox/caldav/console/{name}/").status_code == 404


def test_without_a_caldav_server_the_desk_is_404(person, client, settings):
    settings.DAYFLOW_SANDBOX_CALDAV_URL = ""

    assert client.get("/sandbox/caldav/console/").status_code == 404
    assert "CalDAV server" not in client.get("/sandbox/console/").content.decode()


def test_an_edit_with_a_stale_etag_is_refused_by_the_server(person):
    stale = caldav_desk.event(person.username, "dentist.ics")
    caldav_desk.edit(person.username, "dentist.ics", stale.etag, stale.now, stale.zone)

    with pytest.raises(caldav_desk.CalDAVError, match="412"):
        caldav_desk.edit(person.username, "dentist.ics", stale.etag, stale.now, stale.zone)


def test_a_refusal_at_the_server_is_a_message_not_an_error_page(person, client, monkeypatch):
    def refused(*args):
        raise caldav_desk.CalDAVError("the sandbox CalDAV server answered 412")

    monkeypatch.setattr(caldav_desk, "delete", refused)

    answer = client.post("/sandbox/caldav/console/dentist.ics/delete", follow=True)

    assert answer.status_code == 200
    assert "Nothing was changed: the sandbox CalDAV server answered 412." in answer.content.decode()
