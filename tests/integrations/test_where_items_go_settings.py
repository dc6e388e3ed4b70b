"""A connection's direction per field and rules are checked like its other settings: a bad
value is a clear error naming the setting, and nothing is saved."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from integrations.models import Connection, Service

pytestmark = pytest.mark.django_db


@pytest.fixture
def todoist(user):
    return Connection.objects.create(
        user=user,
        service=Service.objects.get(key="todoist"),
        external_account_id="acct",
        field_mapping={"project_id": "p-1"},
    )


@pytest.fixture
def google(user):
    return Connection.objects.create(
        user=user, service=Service.objects.get(key="google-calendar"), external_account_id="g"
    )


def test_a_task_service_offers_its_task_fields_and_marks_what_it_lacks(todoist):
    offered = todoist.offered_fields()

    assert list(offered) == ["task"]
    assert "title" in offered["task"]
    assert "due" in offered["task"]


def test_valid_directions_and_rules_save(todoist):
    todoist.field_directions = {"task": {"due": "from_service", "notes": "off"}}
    todoist.sync_rules = {"task": {"status": "open", "due_within_days": 30, "undated": True}}
    todoist.full_clean()
    todoist.save()

    todoist.refresh_from_db()
    assert todoist.field_directions == {"task": {"due": "from_service", "notes": "off"}}


BAD_DIRECTIONS = [
    ("not an object", [], "must be an object"),
    ("a kind the service lacks", {"event": {"title": "off"}}, "not a kind of item"),
    ("fields not an object", {"task": "off"}, "must be an object of fields"),
    ("an unknown field", {"task": {"colour": "off"}}, "not a field it syncs here"),
    ("an unknown direction", {"task": {"title": "sideways"}}, "must be one of two_way"),
    ("a direction not a string", {"task": {"title": ["off"]}}, "must be one of"),
    ("a long name, cut short", {"task": {"x" * 10_000: "off"}}, "…: not a field"),
]


@pytest.mark.parametrize(
    ("case", "value", "message"), BAD_DIRECTIONS, ids=[row[0] for row in BAD_DIRECTIONS]
)
def test_bad_directions_are_refused(todoist, case, value, message):
    todoist.field_directions = value

    with pytest.raises(ValidationError) as excinfo:
        todoist.full_clean()

    assert message in " ".join(excinfo.value.message_dict["field_directions"])
    assert len(str(excinfo.value)) < 2_000


BAD_RULES = [
    ("not an object", "open", "must be an object"),
    ("a kind the service lacks", {"event": {"past_days": 3}}, "not a kind of item"),
    ("an unknown rule", {"task": {"colour": "red"}}, "unknown rule"),
    ("days below zero", {"task": {"due_within_days": -1}}, "from 0 to 3650"),
    ("days past ten years", {"task": {"due_within_days": 10**12}}, "from 0 to 3650"),
    ("days as text", {"task": {"due_within_days": "30"}}, "must be a whole number"),
    ("days as a boolean", {"task": {"due_within_days": True}}, "must be a whole number"),
    ("an unknown status", {"task": {"status": "done"}}, "must be one of any, open"),
    ("too many tags", {"task": {"tags": ["t"] * 51}}, "at most 50"),
    ("an empty tag", {"task": {"tags": [""]}}, "1 to 100 characters"),
    ("a tag not a string", {"task": {"tags": [{"a": 1}]}}, "1 to 100 characters"),
]


@pytest.mark.parametrize(("case", "value", "message"), BAD_RULES, ids=[row[0] for row in BAD_RULES])
def test_bad_rules_are_refused(todoist, case, value, message):
    todoist.sync_rules = value

    with pytest.raises(ValidationError) as excinfo:
        todoist.full_clean()

    assert message in " ".join(excinfo.value.message_dict["sync_rules"])


def test_many_problems_are_summed_up(todoist):
    todoist.field_directions = {"task": {f"f{n}": "off" for n in range(1_000)}}

    with pytest.raises(ValidationError) as excinfo:
        todoist.full_clean()

    problems = excinfo.value.message_dict["field_directions"]
    assert len(problems) == 11
    assert problems[-1] == "and 990 more problems"


def test_an_unknown_deletion_policy_is_refused(todoist):
    todoist.deletion_policy = "shred"

    with pytest.raises(ValidationError) as excinfo:
        todoist.full_clean()

    assert "deletion_policy" in excinfo.value.message_dict


def test_a_calendar_offers_event_fields_and_rules(google):
    google.field_directions = {"event": {"time": "to_service", "location": "off"}}
    google.sync_rules = {"event": {"past_days": 30, "future_days": 365}}

    google.full_clean()
