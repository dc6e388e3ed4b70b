"""Direction per field over the real CalDAV provider and Radicale: CalDAV rewrites the whole
VEVENT on every update, so a field kept off must be written back with the server's value."""

from __future__ import annotations

import pytest

from dayflow.models import Event
from integrations.models import Connection
from tests.sync.test_e2e_caldav import Server, caldav, ics, request, sync  # noqa: F401

pytestmark = pytest.mark.django_db


def put_with_location(server: Server, uid: str, title: str, location: str) -> None:
    body = ics(uid, title).replace("SUMMARY:", f"LOCATION:{location}\r\nSUMMARY:")
    url = f"{server.calendar.url}{uid}.ics"
    headers = {"Content-Type": "text/calendar"}
    assert request(server.calendar.account, "PUT", url, body, headers) in (201, 204)


def test_an_update_keeps_the_servers_own_value_of_a_field_kept_off(caldav):  # noqa: F811
    put_with_location(caldav, "standup", "Standup", "Room 1")
    sync(caldav)
    Connection.objects.filter(pk=caldav.connection.pk).update(
        field_directions={"event": {"location": "off"}}
    )

    put_with_location(caldav, "standup", "Standup", "Room 2")  # another client moves it
    sync(caldav)
    event = Event.objects.get()
    event.title, event.location = "Stand-up", "My desk"
    event.save()
    sync(caldav)

    (on_server,) = caldav.events().values()
    assert (on_server["title"], on_server["location"]) == ("Stand-up", "Room 2")
    event.refresh_from_db()
    assert event.location == "My desk"
    assert sync(caldav).processed == 0
