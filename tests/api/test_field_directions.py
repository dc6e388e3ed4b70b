"""Direction per field through the API: set with a connection's other settings, validated as
the settings page validates it, shown on the connection."""

from __future__ import annotations

import pytest

from integrations.models import Connection, Service

pytestmark = pytest.mark.django_db

URL = "/api/connections"


def test_directions_are_saved_without_the_two_way_ones_and_shown(api, connection):
    body = {"field_directions": {"task": {"due": "from_service", "title": "two_way"}}}

    response = api.patch(f"{URL}/{connection.pk}", body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["field_directions"] == {"task": {"due": "from_service"}}
    connection.refresh_from_db()
    assert connection.field_directions == {"task": {"due": "from_service"}}
    shown = api.get(f"{URL}/{connection.pk}").json()
    assert shown["field_directions"] == {"task": {"due": "from_service"}}


def test_leaving_them_out_keeps_them(api, connection):
    Connection.objects.filter(pk=connection.pk).update(field_directions={"task": {"notes": "off"}})

    response = api.patch(f"{URL}/{connection.pk}", {"sync_interval": 30}, format="json")
    assert response.status_code == 200

    connection.refresh_from_db()
    assert connection.field_directions == {"task": {"notes": "off"}}


HOSTILE = [
    ("not an object", "junk", "must be an object"),
    ("a list", ["task"], "must be an object"),
    ("a kind the service does not sync", {"event": {"time": "off"}}, "not a kind of item"),
    ("fields not an object", {"task": ["due"]}, "must be an object of fields"),
    ("an unknown field", {"task": {"colour": "off"}}, "not a field it syncs"),
    ("an unknown direction", {"task": {"due": "sideways"}}, "must be one of"),
    ("a direction of the wrong type", {"task": {"due": 1}}, "must be one of"),
    ("a long name", {"task": {"x" * 5000: "off"}}, "x" * 40 + "…"),
    ("too deep", {"task": {"due": [[[[[[[[[["off"]]]]]]]]]]}}, "nested too deeply"),
    ("many problems", {"task": {f"f{n}": "off" for n in range(50)}}, "more problems"),
]


@pytest.mark.parametrize(("case", "value", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_directions_are_a_400_and_change_nothing(api, connection, case, value, message):
    response = api.patch(f"{URL}/{connection.pk}", {"field_directions": value}, format="json")

    assert response.status_code == 400, response.content
    assert message in " ".join(response.json()["field_directions"])
    connection.refresh_from_db()
    assert connection.field_directions == {}


def test_put_on_integrations_takes_them_too(api, connection):
    body = {"connection": connection.pk, "field_directions": {"task": {"priority": "off"}}}

    response = api.put("/api/integrations", body, format="json")

    assert response.status_code == 200, response.content
    connection.refresh_from_db()
    assert connection.field_directions == {"task": {"priority": "off"}}


def test_the_connection_shows_the_fields_it_offers_a_direction_for(api, connection):
    shown = api.get(f"{URL}/{connection.pk}").json()

    assert shown["offered_fields"] == {
        "task": ["title", "notes", "status", "due", "priority", "list", "tags"]
    }


@pytest.fixture
def notion(user) -> Connection:
    return Connection.objects.create(
        user=user,
        service=Service.objects.get(key="notion"),
        external_account_id="workspace",
        field_mapping={"database_id": "db-1"},
    )


def test_notion_offers_tags_only_once_a_tags_property_is_named(api, notion):
    assert "tags" not in api.get(f"{URL}/{notion.pk}").json()["offered_fields"]["task"]
    refused = api.patch(
        f"{URL}/{notion.pk}", {"field_directions": {"task": {"tags": "off"}}}, format="json"
    )
    assert refused.status_code == 400
    assert "task.tags: not a field it syncs here" in " ".join(refused.json()["field_directions"])
    notion.refresh_from_db()
    assert notion.field_directions == {}

    Connection.objects.filter(pk=notion.pk).update(
        field_mapping={"database_id": "db-1", "tags_property": "Tags"}
    )
    assert "tags" in api.get(f"{URL}/{notion.pk}").json()["offered_fields"]["task"]
    taken = api.patch(
        f"{URL}/{notion.pk}", {"field_directions": {"task": {"tags": "off"}}}, format="json"
    )
    assert taken.status_code == 200, taken.content
