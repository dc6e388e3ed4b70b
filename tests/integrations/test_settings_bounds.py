"""A connection's service settings are bounded wherever they are saved (the settings page, the
admin, the model): ids, addresses, lists, the whole JSON and its nesting. A refusal names the
setting and changes nothing; hostile JSON is a form error, never a 500."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from integrations.models import Connection, Service

pytestmark = pytest.mark.django_db

HUGE_ID = "c" * 200_000
DEEP_LISTS = "[" * 200_000 + "]" * 200_000
DEEP_WITHIN_SIZE = '{"calendars": ' + "[" * 3000 + "]" * 3000 + "}"


def calendar_url(length: int) -> str:
    prefix = "https://caldav.fastmail.com/dav/calendars/user/a@example.com/"
    return prefix + "c" * (length - len(prefix) - 1) + "/"


def new_connection(user, service_key: str, mapping: object) -> Connection:
    return Connection(
        user=user,
        service=Service.objects.get(key=service_key),
        external_account_id="acct",
        field_mapping=mapping,
    )


@pytest.mark.parametrize(
    ("service_key", "mapping", "message"),
    [
        ("google-calendar", {"calendars": [HUGE_ID]}, "calendars: each of the calendars may be"),
        ("google-calendar", {"calendars": ["c"] * 101}, "calendars: choose at most 100 calendars"),
        ("outlook", {"calendars": ["ok", "x" * 256]}, "at most 255 characters long (one has 256)"),
        ("notion", {"database_id": "d" * 256}, "database_id: the database id may be at most 255"),
        ("todoist", {"project_id": "p\n1"}, "project_id: the project id may not contain line"),
        ("clickup", {"timezone": "Europe/Berlin\x00"}, "timezone: the timezone may not contain"),
        ("fastmail", {"calendars": [calendar_url(2049)]}, "at most 2048 characters long"),
        ("fastmail", {"calendars": ["c" * 300]}, "use an http:// or https:// address"),
        (
            "fastmail",
            {"calendars": [calendar_url(2000) + str(n) for n in range(40)]},
            "the settings are too large (at most 64 KB)",
        ),
    ],
)
def test_settings_out_of_bounds_are_refused_naming_the_setting(user, service_key, mapping, message):
    connection = new_connection(user, service_key, mapping)

    with pytest.raises(ValidationError) as excinfo:
        connection.save()

    errors = " ".join(excinfo.value.message_dict["field_mapping"])
    assert message in errors
    assert len(errors) < 500  # the value itself is never echoed back
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    ("service_key", "mapping"),
    [
        ("google-calendar", {"calendars": ["c" * 255] * 100}),
        ("notion", {"database_id": "d" * 255, "title_property": "Name"}),
        ("fastmail", {"calendars": [calendar_url(2048)], "sync_todos": True}),
        ("fastmail", {"calendars": [calendar_url(300) + str(n) for n in range(100)]}),
    ],
)
def test_settings_at_the_bounds_are_saved(user, service_key, mapping):
    connection = new_connection(user, service_key, mapping)

    connection.save()

    assert Connection.objects.get(pk=connection.pk).field_mapping == mapping


def test_many_unknown_settings_are_summed_up(user):
    connection = new_connection(user, "todoist", {f"key{n}": "x" for n in range(500)})

    with pytest.raises(ValidationError) as excinfo:
        connection.save()

    errors = excinfo.value.message_dict["field_mapping"]
    assert len(errors) == 11
    assert errors[-1] == "and 490 more problems"


# --- the settings page ---------------------------------------------------------------------------
@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


def post_settings(client, connection: Connection, field_mapping: str):
    return client.post(
        f"/integrations/connections/{connection.pk}/settings/",
        {
            "auto_sync": "on",
            "sync_interval": "15",
            "sync_direction": "two_way",
            "sync_tasks": "on",
            "sync_events": "on",
            "conflict_resolution": "manual",
            "field_mapping": field_mapping,
        },
    )


@pytest.mark.parametrize(
    ("field_mapping", "message"),
    [
        (json.dumps({"calendars": [HUGE_ID]}), "at most 255 characters long (one has 200000)"),
        (DEEP_LISTS, "The service settings are too long"),
        (DEEP_WITHIN_SIZE, "nested too deeply (at most 8 levels)"),
        ('{"a":' * 3000 + "1" + "}" * 3000, "nested too deeply"),
    ],
)
def test_the_settings_page_refuses_hostile_settings_with_a_form_error(
    logged_in, calendar_connection, field_mapping, message
):
    response = post_settings(logged_in, calendar_connection, field_mapping)

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["field_mapping"])
    calendar_connection.refresh_from_db()
    assert calendar_connection.field_mapping == {"calendars": ["primary"]}


def test_brackets_inside_strings_do_not_count_as_nesting(logged_in, calendar_connection):
    response = post_settings(logged_in, calendar_connection, json.dumps({"calendars": ["[[" * 20]}))

    assert response.status_code == 302
    calendar_connection.refresh_from_db()
    assert calendar_connection.field_mapping == {"calendars": ["[[" * 20]}


def test_saving_settings_starts_a_connection_stopped_by_an_error_again(
    logged_in, calendar_connection
):
    from integrations.tokens import set_status

    # given a connection a permanent sync error stopped
    set_status(calendar_connection, "error", last_error="400 invalid calendar id")
    calendar_connection.refresh_from_db()
    assert calendar_connection.next_sync_at is None
    # when the user saves corrected settings
    response = post_settings(logged_in, calendar_connection, '{"calendars": ["work"]}')
    # then it is connected and scheduled again, without the old error
    assert response.status_code == 302
    calendar_connection.refresh_from_db()
    assert (calendar_connection.status, calendar_connection.last_error) == ("connected", "")
    assert calendar_connection.next_sync_at is not None


def test_refused_settings_leave_a_stopped_connection_stopped(logged_in, calendar_connection):
    from integrations.tokens import set_status

    set_status(calendar_connection, "error", last_error="400 invalid calendar id")

    post_settings(logged_in, calendar_connection, json.dumps({"calendars": [HUGE_ID]}))

    calendar_connection.refresh_from_db()
    assert calendar_connection.status == "error"


# --- the admin -----------------------------------------------------------------------------------
@pytest.fixture
def staff_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("staff", "staff@example.com", "pw-staff-1")
    client.force_login(admin)
    return client


def post_admin(client, connection: Connection, field_mapping: str):
    return client.post(
        f"/admin/integrations/connection/{connection.pk}/change/",
        {
            "user": connection.user_id,
            "service": connection.service_id,
            "external_account_id": connection.external_account_id,
            "label": "",
            "status": "connected",
            "auto_sync": "on",
            "sync_interval": "15",
            "sync_direction": "two_way",
            "sync_tasks": "on",
            "sync_events": "on",
            "conflict_resolution": "manual",
            "field_mapping": field_mapping,
            "field_directions": "{}",
            "deletion_policy": "propagate",
            "sync_rules": "{}",
        },
    )


@pytest.mark.parametrize(
    ("field_mapping", "message"),
    [
        (json.dumps({"calendars": [HUGE_ID]}), "at most 255 characters long (one has 200000)"),
        (DEEP_LISTS, "The service settings are too long"),
        (DEEP_WITHIN_SIZE, "nested too deeply"),
    ],
)
def test_the_admin_refuses_hostile_settings_with_a_form_error(
    staff_client, calendar_connection, field_mapping, message
):
    response = post_admin(staff_client, calendar_connection, field_mapping)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["field_mapping"]
    assert message in " ".join(errors)
    calendar_connection.refresh_from_db()
    assert calendar_connection.field_mapping == {"calendars": ["primary"]}


def test_the_admin_saves_settings_within_bounds(staff_client, calendar_connection):
    response = post_admin(staff_client, calendar_connection, '{"calendars": ["work", "home"]}')

    assert response.status_code == 302
    calendar_connection.refresh_from_db()
    assert calendar_connection.field_mapping == {"calendars": ["work", "home"]}
