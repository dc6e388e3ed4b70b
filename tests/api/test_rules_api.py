"""The rules (what syncs) through the API: saved through the settings page's form, shown on
the connection's detail, counted by the preview endpoint; hostile input is a 400 or a 404
and saves nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from dayflow.models import Profile, Task
from integrations.models import Connection

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
RULES = {"task": {"status": "open", "due_within_days": 30, "undated": True, "tags": ["work"]}}


def detail(connection: Connection) -> str:
    return f"/api/connections/{connection.pk}"


def preview(connection: Connection) -> str:
    return f"/api/connections/{connection.pk}/rules-preview"


def deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"task": value}
    return value


def test_rules_are_saved_and_shown_on_the_detail(api, connection):
    response = api.patch(detail(connection), {"sync_rules": RULES}, format="json")

    assert response.status_code == 200, response.content
    connection.refresh_from_db()
    assert connection.sync_rules == RULES
    assert api.get(detail(connection)).json()["sync_rules"] == RULES


def test_rules_are_saved_through_put_on_the_integrations_resource(api, connection):
    body = {"connection": connection.pk, "sync_rules": {"task": {"status": "open"}}}

    assert api.put("/api/integrations", body, format="json").status_code == 200
    connection.refresh_from_db()
    assert connection.sync_rules == {"task": {"status": "open"}}


HOSTILE = [
    ("a huge number of days", {"task": {"due_within_days": 10**30}}),
    ("a negative number of days", {"task": {"due_within_days": -1}}),
    ("days as text", {"task": {"due_within_days": "30"}}),
    ("days as true", {"task": {"due_within_days": True}}),
    ("a status that is not one", {"task": {"status": "closed"}}),
    ("tags as text", {"task": {"tags": "work"}}),
    ("too many tags", {"task": {"tags": [f"t{n}" for n in range(51)]}}),
    ("a tag too long", {"task": {"tags": ["x" * 101]}}),
    ("a tag that is not text", {"task": {"tags": [{"a": 1}]}}),
    ("an unknown rule", {"task": {"colour": "red"}}),
    ("a kind Todoist does not sync", {"event": {"past_days": 3}}),
    ("rules as a list", ["task"]),
    ("rules as text", "open"),
    ("nested too deeply for the settings", deep(12)),
]


@pytest.mark.parametrize(("case", "rules"), HOSTILE, ids=[row[0] for row in HOSTILE])
def test_bad_rules_are_a_400_naming_them_and_save_nothing(api, connection, case, rules):
    response = api.patch(detail(connection), {"sync_rules": rules}, format="json")

    assert response.status_code == 400, response.content
    assert "sync_rules" in response.json()
    connection.refresh_from_db()
    assert connection.sync_rules == {}


@pytest.mark.parametrize(("case", "rules"), HOSTILE, ids=[row[0] for row in HOSTILE])
def test_the_preview_refuses_bad_rules_with_a_400(api, connection, case, rules):
    response = api.post(preview(connection), {"sync_rules": rules}, format="json")

    assert response.status_code == 400, response.content
    assert "sync_rules" in response.json()


def test_a_body_nested_thousands_deep_is_a_400(api, connection):
    body = '{"sync_rules": ' + '{"task": ' * 5000 + "{}" + "}" * 5000 + "}"

    for response in (
        api.patch(detail(connection), body, content_type="application/json"),
        api.post(preview(connection), body, content_type="application/json"),
    ):
        assert response.status_code == 400
    connection.refresh_from_db()
    assert connection.sync_rules == {}


def test_another_persons_connection_is_a_404_and_keeps_its_rules(others_api, connection):
    patched = others_api.patch(detail(connection), {"sync_rules": RULES}, format="json")
    counted = others_api.post(preview(connection), {"sync_rules": RULES}, format="json")

    assert (patched.status_code, counted.status_code) == (404, 404)
    connection.refresh_from_db()
    assert connection.sync_rules == {}


def test_the_preview_counts_dayflows_tasks_and_saves_nothing(api, connection, user):
    Task.objects.create(user=user, title="open")
    Task.objects.create(user=user, title="done", status="done")

    with time_machine.travel(NOW, tick=False):
        response = api.post(
            preview(connection), {"sync_rules": {"task": {"status": "open"}}}, format="json"
        )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "counts": [{"kind": "task", "matching": 1, "total": 2, "let_go": 0}],
        "sentence": "1 of 2 tasks in DayFlow matches.",
    }
    connection.refresh_from_db()
    assert connection.sync_rules == {}


@pytest.mark.parametrize(("zone", "matching"), [("UTC", 0), ("Pacific/Auckland", 1)])
def test_the_preview_counts_days_from_the_persons_today(api, connection, user, zone, matching):
    """A token's call has no page's zone: "due today" is still the person's today (at 12:00
    UTC on 10 March it is the 11th in Auckland)."""
    Profile.objects.create(user=user, timezone=zone)
    Task.objects.create(user=user, title="due on the 11th", due_date=dt.date(2026, 3, 11))

    with time_machine.travel(NOW, tick=False):
        body = {"sync_rules": {"task": {"due_within_days": 0}}}
        response = api.post(preview(connection), body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["counts"][0]["matching"] == matching


def test_the_preview_needs_its_rules(api, connection):
    response = api.post(preview(connection), {}, format="json")

    assert response.status_code == 400
    assert "sync_rules" in response.json()
