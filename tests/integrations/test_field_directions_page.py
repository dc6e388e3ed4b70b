"""The settings page's mapping table (direction per field) and the admin's bounds on it."""

from __future__ import annotations

import pytest

from integrations.models import Connection, Credential
from integrations.providers.base import Container, ItemType
from integrations.providers.todoist.provider import TodoistProvider

pytestmark = pytest.mark.django_db

SAVE = {
    "sync_interval": "15",
    "sync_direction": "two_way",
    "conflict_resolution": "manual",
    "sync_tasks": "on",
    "collection": "p-1",
    "field_mapping": "{}",
}


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def todoist(connection, monkeypatch) -> Connection:
    projects = [Container("p-1", "Inbox", "project", item_types=(ItemType.TASK,))]
    monkeypatch.setattr(TodoistProvider, "list_containers", lambda self: projects)
    Credential.objects.create(connection=connection, access_token="t")
    return connection


def url(connection: Connection) -> str:
    return f"/integrations/connections/{connection.pk}/settings/"


def test_the_table_offers_each_task_field_two_way_and_marks_what_todoist_lacks(
    logged_in, todoist, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        page = logged_in.get(url(todoist)).content.decode()

    assert "Direction per field" in page
    assert page.count('name="direction-task-due"') == 1  # in the table only
    assert '<option value="two_way" selected>⇄ both ways</option>' in page
    assert "← only from Todoist" in page
    assert page.count('name="direction-task-tags"') == 1  # labels travel both ways
    assert page.count('name="direction-task-list"') == 1  # moves between its projects
    assert "not available at Todoist" not in page
    assert "field_directions" not in page.replace('name="field_directions"', "")


def test_a_chosen_direction_is_saved_without_the_two_way_ones(logged_in, todoist):
    data = SAVE | {"direction-task-due": "from_service", "direction-task-title": "two_way"}

    response = logged_in.post(url(todoist), data)

    assert response.status_code == 302
    todoist.refresh_from_db()
    assert todoist.field_directions == {"task": {"due": "from_service"}}
    page = logged_in.get(url(todoist)).content.decode()
    assert '<option value="from_service" selected>← only from Todoist</option>' in page


def test_back_to_two_way_everywhere_stores_nothing(logged_in, todoist):
    Connection.objects.filter(pk=todoist.pk).update(field_directions={"task": {"notes": "off"}})

    logged_in.post(url(todoist), SAVE | {"direction-task-notes": "two_way"})

    todoist.refresh_from_db()
    assert todoist.field_directions == {}


def test_a_form_without_the_selects_keeps_the_saved_directions(logged_in, todoist):
    Connection.objects.filter(pk=todoist.pk).update(field_directions={"task": {"notes": "off"}})

    assert logged_in.post(url(todoist), SAVE).status_code == 302

    todoist.refresh_from_db()
    assert todoist.field_directions == {"task": {"notes": "off"}}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"direction-task-due": "sideways"}, "Select a valid choice"),
        ({"direction-task-due": "x" * 5000}, "Select a valid choice"),
    ],
    ids=["unknown direction", "huge value"],
)
def test_hostile_values_are_refused_and_change_nothing(logged_in, todoist, data, message):
    response = logged_in.post(url(todoist), SAVE | data)

    assert response.status_code == 200
    assert message in response.content.decode()
    todoist.refresh_from_db()
    assert todoist.field_directions == {}


@pytest.mark.parametrize(
    "value",
    ['{"task": {"list": "off"}}', '{"task": {"due": "off"}}', '{"a":' * 3000 + "1" + "}" * 3000],
    ids=["a field Todoist lacks", "a valid one", "deep JSON"],
)
def test_json_posted_to_the_page_is_ignored(logged_in, todoist, value):
    response = logged_in.post(url(todoist), SAVE | {"field_directions": value})

    assert response.status_code == 302
    todoist.refresh_from_db()
    assert todoist.field_directions == {}


def test_a_saved_value_the_service_no_longer_takes_is_shown_as_an_error(logged_in, todoist):
    Connection.objects.filter(pk=todoist.pk).update(field_directions={"event": {"time": "off"}})

    response = logged_in.post(url(todoist), SAVE)

    assert response.status_code == 200
    assert "event: not a kind of item this service syncs" in response.content.decode()


@pytest.fixture
def staff_client(client, django_user_model):
    staff = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(staff)
    return client


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"task": {"due": "sideways"}}', "task.due: must be one of"),
        ('{"event": {"time": "off"}}', "not a kind of item this service syncs"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ],
    ids=["unknown direction", "a kind Todoist lacks", "deep JSON"],
)
def test_the_admin_refuses_bad_directions(staff_client, connection, value, message):
    change = f"/admin/integrations/connection/{connection.pk}/change/"
    form = staff_client.get(change).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data |= {"user": connection.user_id, "service": connection.service_id}
    data |= {"field_mapping": '{"project_id": "p-1"}', "sync_rules": "{}"}
    data |= {"field_directions": value}

    response = staff_client.post(change, data)

    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors["field_directions"])
    connection.refresh_from_db()
    assert connection.field_directions == {}


def test_a_calendar_offers_its_four_event_fields(logged_in, calendar_connection):
    page = logged_in.get(url(calendar_connection)).content.decode()

    names = ["title", "time", "location", "description"]
    assert all(f'name="direction-event-{name}"' in page for name in names)
    assert "Date and time" in page
    assert "not available" not in page
    assert 'name="direction-task-' not in page


def test_a_kind_not_synced_is_not_shown_and_keeps_its_directions(logged_in, calendar_connection):
    saved = {"event": {"time": "to_service"}}
    Connection.objects.filter(pk=calendar_connection.pk).update(
        sync_events=False, field_directions=saved
    )

    page = logged_in.get(url(calendar_connection)).content.decode()
    data = {key: value for key, value in SAVE.items() if key not in ("collection", "sync_tasks")}
    mapping = '{"calendars": ["primary"]}'
    response = logged_in.post(url(calendar_connection), data | {"field_mapping": mapping})

    assert "Direction per field" not in page
    assert response.status_code == 302
    calendar_connection.refresh_from_db()
    assert calendar_connection.field_directions == saved
