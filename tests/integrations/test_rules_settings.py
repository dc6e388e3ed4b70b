"""What syncs on the settings page: the rules in words, saved into `sync_rules`, refused with
the field's message when out of bounds, and a preview counting DayFlow's items that match
before anything is saved."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from dayflow.models import Event, Task
from integrations.models import Connection
from sync.models import ItemLink

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
BASE = {
    "sync_interval": "15",
    "sync_direction": "two_way",
    "conflict_resolution": "manual",
    "sync_tasks": "on",
    "field_mapping": '{"project_id": "p-1"}',
}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


def settings_url(connection: Connection) -> str:
    return f"/integrations/connections/{connection.pk}/settings/"


def preview_url(connection: Connection) -> str:
    return f"/integrations/connections/{connection.pk}/rules-preview/"


def test_the_page_asks_for_the_task_rules_in_words(logged_in, connection):
    page = logged_in.get(settings_url(connection)).content.decode()

    for words in (
        "Which items sync",
        "Only tasks not completed",
        "Only tasks due within",
        "and tasks without a due date",
        "Only tasks tagged",
        preview_url(connection),
    ):
        assert words in page
    assert "Events from" not in page  # Todoist has no events


def test_a_calendar_is_asked_for_its_events_window(logged_in, calendar_connection):
    page = logged_in.get(settings_url(calendar_connection)).content.decode()

    assert "Events from" in page
    assert "days ahead" in page
    assert "Only tasks not completed" not in page


def test_the_rules_are_saved_in_words_and_shown_again(logged_in, connection):
    rules = {
        "rules-task_open_only": "on",
        "rules-task_due_within_days": "14",
        "rules-task_tags": "work, Home,  , work",
    }
    response = logged_in.post(settings_url(connection), BASE | rules)

    assert response.status_code == 302, response.content.decode()[:2000]
    connection.refresh_from_db()
    assert connection.sync_rules == {
        "task": {
            "status": "open",
            "due_within_days": 14,
            "undated": False,
            "tags": ["work", "Home"],
        }
    }
    page = logged_in.get(settings_url(connection)).content.decode()
    assert 'value="14"' in page
    assert 'value="work, Home"' in page


def test_a_form_left_as_it_is_keeps_no_rules(logged_in, connection):
    logged_in.post(settings_url(connection), BASE | {"rules-task_undated": "on"})

    connection.refresh_from_db()
    assert connection.sync_rules == {}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("task_due_within_days", "3651", "less than or equal to 3650"),
        ("task_due_within_days", "-1", "greater than or equal to 0"),
        ("task_due_within_days", "9" * 40, "less than or equal to 3650"),
        ("task_due_within_days", "soon", "Enter a whole number"),
        ("task_tags", ",".join(f"t{n}" for n in range(51)), "At most 50 tags"),
        ("task_tags", "x" * 101, "at most 100 characters"),
        ("task_tags", "x" * 6000, "at most 5100 characters"),
    ],
)
def test_rules_out_of_bounds_are_refused_and_nothing_is_saved(
    logged_in, connection, field, value, message
):
    response = logged_in.post(settings_url(connection), BASE | {f"rules-{field}": value})

    assert response.status_code == 200
    assert message in response.content.decode()
    connection.refresh_from_db()
    assert connection.sync_rules == {}


def test_the_preview_counts_dayflows_items_that_match_and_saves_nothing(
    logged_in, connection, user, django_assert_max_num_queries
):
    Task.objects.create(user=user, title="soon", due_date=dt.date(2026, 3, 12))
    Task.objects.create(user=user, title="later", due_date=dt.date(2026, 6, 1))
    linked = Task.objects.create(user=user, title="later, synced", due_date=dt.date(2026, 6, 2))
    ItemLink.objects.create(connection=connection, item_type="task", task=linked, remote_id="r1")
    Task.objects.create(user=user, title="undated")
    Event.objects.create(user=user, title="not a task", start=NOW, end=NOW)

    with django_assert_max_num_queries(6):
        response = logged_in.post(
            preview_url(connection), {"rules-task_due_within_days": "7", "rules-task_undated": "on"}
        )

    text = response.content.decode()
    assert "2 of 4 tasks in DayFlow match." in text
    assert "At least 1 synced item would stop syncing" in text
    assert "known after the next sync" in text
    connection.refresh_from_db()
    assert connection.sync_rules == {}


def test_the_preview_changes_with_the_rules(logged_in, connection, user):
    Task.objects.create(user=user, title="open")
    Task.objects.create(user=user, title="done", status="done")

    everything = logged_in.post(preview_url(connection), {}).content.decode()
    open_only = logged_in.post(preview_url(connection), {"rules-task_open_only": "on"})

    assert "2 of 2 tasks in DayFlow match." in everything
    assert "1 of 2 tasks in DayFlow matches." in open_only.content.decode()


def test_a_preview_of_bad_rules_says_to_correct_them(logged_in, connection):
    response = logged_in.post(preview_url(connection), {"rules-task_due_within_days": "99999"})

    assert response.status_code == 200
    assert "Correct the rules above" in response.content.decode()


def test_the_preview_of_another_persons_connection_is_a_404(client, other_user, connection):
    client.force_login(other_user)

    assert client.post(preview_url(connection), {}).status_code == 404


def test_the_preview_is_a_post(logged_in, connection):
    assert logged_in.get(preview_url(connection)).status_code == 405
