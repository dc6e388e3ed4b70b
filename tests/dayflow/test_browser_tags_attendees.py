"""In Chromium: a task's tags typed in its form show in the list with its list name, and an
event's attendees on its page; on a phone and a desktop, accessible."""

from __future__ import annotations

import datetime as dt

import pytest

from dayflow.models import Event, Task
from tests.dayflow.test_browser_planner import _check

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PEOPLE = [
    {"email": "bob@example.com", "name": "Bob Marley-Okonkwo", "response": "accepted"},
    {"email": "carol.with.a.very.long.address@example-company.com", "name": "", "response": ""},
    {"email": "dan@example.com", "name": "Dan", "response": "declined"},
    {"email": "eve@example.com", "name": "Eve", "response": "tentative"},
    {"email": "ann@example.com", "name": "Ann", "response": "organizer"},
]


def test_tags_are_typed_and_shown_with_the_list(signed_in_page, live_server, user):
    Task.objects.create(user=user, title="Pay rent", list_name="Household", tags=["money"])
    page = signed_in_page(user)

    page.goto(f"{live_server.url}/tasks/new/")
    page.get_by_label("Title").fill("Plan the trip")
    page.get_by_label("Tags, separated by commas").fill("travel, family, summer holidays")
    _check(page, "task-form-tags")
    page.get_by_role("button", name="Save task").click()

    page.wait_for_url(f"{live_server.url}/tasks/")
    tags = page.locator("li.item", has_text="Plan the trip").get_by_role("list", name="Tags")
    assert tags.get_by_role("listitem").all_inner_texts() == [
        "family",
        "summer holidays",
        "travel",
    ]
    assert "in Household" in page.content()
    _check(page, "task-list-tags")


def test_an_event_shows_who_is_invited(signed_in_page, live_server, user):
    event = Event.objects.create(
        user=user,
        title="Quarterly review",
        start=dt.datetime(2026, 3, 24, 9, tzinfo=dt.UTC),
        end=dt.datetime(2026, 3, 24, 10, tzinfo=dt.UTC),
        timezone="UTC",
        attendees=PEOPLE,
    )
    page = signed_in_page(user)

    page.goto(f"{live_server.url}/events/{event.pk}/")

    assert page.get_by_role("heading", name="Who is invited").is_visible()
    _check(page, "event-attendees")
