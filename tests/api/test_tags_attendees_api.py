"""`/api/tasks` reads and writes tags, bounded and normalized as the page does; `/api/events`
shows attendees read-only."""

from __future__ import annotations

import datetime as dt

import pytest

from dayflow.models import Event, Task
from dayflow.tags import MAX_TAG_CHARS, MAX_TAGS

pytestmark = pytest.mark.django_db


def test_tags_are_written_sorted_and_distinct_and_read_back(api, user):
    response = api.post(
        "/api/tasks", {"title": "t", "tags": ["work", "home", "work"]}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["tags"] == ["home", "work"]
    assert Task.objects.get(user=user).tags == ["home", "work"]


def test_tags_are_changed_with_a_patch(api, user):
    task = Task.objects.create(user=user, title="t", tags=["a"])

    response = api.patch(f"/api/tasks/{task.pk}", {"tags": []}, format="json")

    assert response.status_code == 200, response.content
    task.refresh_from_db()
    assert (task.tags, task.version) == ([], 2)


BAD_TAGS = [
    ("not a list", "home"),
    ("a number", 5),
    ("too many", [f"t{n}" for n in range(MAX_TAGS + 1)]),
    ("a name too long", ["x" * (MAX_TAG_CHARS + 1)]),
    ("a blank name", ["  "]),
    ("an empty name", [""]),
    ("a name not text", [{"name": "a"}]),
    ("nested lists", [["a"]]),
    ("null", None),
]


@pytest.mark.parametrize("tags", [c[1] for c in BAD_TAGS], ids=[c[0] for c in BAD_TAGS])
def test_bad_tags_are_a_400_naming_tags_and_change_nothing(api, user, tags):
    task = Task.objects.create(user=user, title="t", tags=["keep"])

    created = api.post("/api/tasks", {"title": "new", "tags": tags}, format="json")
    patched = api.patch(f"/api/tasks/{task.pk}", {"tags": tags}, format="json")

    assert (created.status_code, patched.status_code) == (400, 400)
    assert "tags" in created.json()
    assert "tags" in patched.json()
    task.refresh_from_db()
    assert (task.tags, task.version) == (["keep"], 1)
    assert Task.objects.count() == 1


def test_attendees_are_read_only_on_events(api, user):
    people = [{"email": "bob@example.com", "name": "Bob", "response": "accepted"}]
    event = Event.objects.create(
        user=user,
        title="Review",
        start=dt.datetime(2030, 6, 3, 9, tzinfo=dt.UTC),
        end=dt.datetime(2030, 6, 3, 10, tzinfo=dt.UTC),
        attendees=people,
    )

    assert api.get(f"/api/events/{event.pk}").json()["attendees"] == people
    response = api.patch(f"/api/events/{event.pk}", {"attendees": []}, format="json")

    assert response.status_code == 400
    assert "attendees" in response.json()
    event.refresh_from_db()
    assert (event.attendees, event.version) == (people, 1)
