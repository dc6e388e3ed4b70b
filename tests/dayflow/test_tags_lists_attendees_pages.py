"""A task's tags are typed in its form (bounded, validated as the model and the API do) and
shown with its list in the task list; an event's attendees are shown read-only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from dayflow.models import Event, Task
from dayflow.tags import MAX_TAG_CHARS, MAX_TAGS

pytestmark = pytest.mark.django_db

GOOD = {"title": "Buy milk", "notes": "", "priority": "0", "list_name": ""}
ATTENDEES = [
    {"email": "bob@example.com", "name": "Bob", "response": "accepted"},
    {"email": "carol@example.com", "name": "", "response": ""},
    {"email": "dan@example.com", "name": "Dan", "response": "declined"},
]


def test_tags_are_typed_separated_by_commas_and_kept_sorted_and_distinct(signed_in, user):
    signed_in.post("/tasks/new/", {**GOOD, "tags": " work, home,work ,, "})

    assert Task.objects.get(user=user).tags == ["home", "work"]


def test_the_form_shows_a_task_s_tags_for_editing(signed_in, user):
    task = Task.objects.create(user=user, title="t", tags=["home", "work"])

    page = signed_in.get(f"/tasks/{task.pk}/edit/").content.decode()

    assert 'value="home, work"' in page


BAD_TAGS = [
    ("too many", ", ".join(f"t{n}" for n in range(MAX_TAGS + 1)), f"at most {MAX_TAGS}"),
    ("one too long", "x" * (MAX_TAG_CHARS + 1), f"1 to {MAX_TAG_CHARS} characters"),
    ("far too much text", "x," * 10_000, "at most"),
]


@pytest.mark.parametrize(("text", "words"), [c[1:] for c in BAD_TAGS], ids=[c[0] for c in BAD_TAGS])
def test_bad_tags_are_a_form_error_and_change_nothing(signed_in, user, text, words):
    task = Task.objects.create(user=user, title="t", tags=["keep"])

    response = signed_in.post(f"/tasks/{task.pk}/edit/", {**GOOD, "tags": text})

    assert response.status_code == 200
    assert words in response.content.decode()
    task.refresh_from_db()
    assert (task.tags, task.version) == (["keep"], 1)


MODEL_CASES = [
    ("not a list", "home", "must be a list"),
    ("a name not text", [{"a": 1}], "1 to 100 characters"),
    ("a blank name", ["  "], "1 to 100 characters"),
    ("too many", [f"t{n}" for n in range(MAX_TAGS + 1)], f"at most {MAX_TAGS}"),
]


@pytest.mark.parametrize(
    ("tags", "words"), [c[1:] for c in MODEL_CASES], ids=[c[0] for c in MODEL_CASES]
)
def test_the_model_refuses_bad_tags(user, tags, words):
    with pytest.raises(ValidationError) as caught:
        Task(user=user, title="t", tags=tags).full_clean()
    assert words in str(caught.value.message_dict["tags"])


def test_the_task_list_shows_tags_and_the_list(signed_in, user, django_assert_max_num_queries):
    Task.objects.create(user=user, title="Pay rent", tags=["home", "money"], list_name="Household")
    Task.objects.create(user=user, title="Call", tags=[])

    with django_assert_max_num_queries(8):
        page = signed_in.get("/tasks/").content.decode()

    assert "in Household" in page
    assert '<ul class="tags" aria-label="Tags"><li>home</li><li>money</li></ul>' in page
    assert page.count('class="tags"') == 1


def test_an_event_shows_who_is_invited_and_offers_no_way_to_change_them(signed_in, user):
    event = Event.objects.create(
        user=user,
        title="Review",
        start=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
        end=dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC),
        timezone="UTC",
        attendees=ATTENDEES,
    )

    page = signed_in.get(f"/events/{event.pk}/").content.decode()
    form = signed_in.get(f"/events/{event.pk}/edit/").content.decode()

    assert "Who is invited" in page
    assert '<strong>Bob</strong><span class="muted">bob@example.com</span>' in page
    assert "<strong>carol@example.com</strong>" in page
    for answer in ("going", "no answer yet", "not going"):
        assert answer in page
    assert "bob@example.com" not in form


def test_an_event_without_attendees_has_no_invited_section(signed_in, user):
    event = Event.objects.create(
        user=user,
        title="Focus",
        start=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
        end=dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC),
    )
    assert "Who is invited" not in signed_in.get(f"/events/{event.pk}/").content.decode()
