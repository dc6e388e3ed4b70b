"""An item's page says where it is synced, links to the item at the service when the service
has a page for it (only http(s) addresses), and when it last synced, in the person's zone."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from dayflow.models import Event, Profile, Task
from sync.models import ItemLink

pytestmark = pytest.mark.django_db

SYNCED = dt.datetime(2026, 3, 30, 8, 5, tzinfo=dt.UTC)  # 10:05 in Berlin


def _link(connection, item, web_url: str = "") -> ItemLink:
    kind = "task" if isinstance(item, Task) else "event"
    with time_machine.travel(SYNCED, tick=False):
        return ItemLink.objects.create(
            connection=connection, item_type=kind, remote_id="r1", web_url=web_url, **{kind: item}
        )


@pytest.fixture
def berlin(client, user):
    Profile.objects.create(user=user, timezone="Europe/Berlin")
    client.force_login(user)


def test_a_task_links_to_its_page_at_the_service_and_says_when_it_synced(
    client, user, connection, berlin
):
    task = Task.objects.create(user=user, title="Buy milk")
    _link(connection, task, "https://app.todoist.com/app/task/r1")

    with time_machine.travel(SYNCED + dt.timedelta(hours=2), tick=False):
        body = client.get("/tasks/").content.decode()

    assert (
        '<a class="service-link" href="https://app.todoist.com/app/task/r1" '
        'rel="noopener noreferrer">Open in Todoist'
    ) in body
    assert '<span class="visually-hidden">: Buy milk</span>' in body
    assert "Synced with Todoist (alice@todoist), 2\xa0hours ago" in body
    assert "(Mon 30 Mar 2026, 10:05)" in body  # in Berlin, not 08:05 UTC
    assert 'datetime="2026-03-30T10:05:00+02:00"' in body


def test_an_event_page_links_to_the_event_at_the_service(client, user, connection, berlin):
    event = Event.objects.create(
        user=user,
        title="Standup",
        start=dt.datetime(2026, 3, 30, 7, tzinfo=dt.UTC),
        end=dt.datetime(2026, 3, 30, 7, 30, tzinfo=dt.UTC),
        timezone="Europe/Berlin",
    )
    _link(connection, event, "https://www.google.com/calendar/event?eid=abc")

    body = client.get(f"/events/{event.pk}/").content.decode()

    assert 'href="https://www.google.com/calendar/event?eid=abc"' in body
    assert "(Mon 30 Mar 2026, 10:05)" in body


@pytest.mark.parametrize(
    "stored", ["", "javascript:alert(document.cookie)", "data:text/html,x", "//evil.example/"]
)
def test_no_link_is_shown_without_a_plain_web_address(client, user, connection, berlin, stored):
    task = Task.objects.create(user=user, title="Local only")
    _link(connection, task, stored)

    body = client.get("/tasks/").content.decode()

    assert "Synced with Todoist" in body
    assert "Open in Todoist" not in body
    assert "javascript:" not in body
    assert "evil.example" not in body
