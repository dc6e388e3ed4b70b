"""`/api/activity`: a person's own audit events, read-only, filtered and paginated."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from audit.writer import record

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)


class Conn:
    def __init__(self, pk: int, label: str) -> None:
        self.pk, self.label = pk, label

    def __str__(self) -> str:
        return self.label


def actions(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["action"] for row in response.json()["results"]]


@pytest.fixture
def history(user, other_user) -> None:
    """Given alice's own events over three hours, bob's, and the system's."""
    for hour, (action, connection, success) in enumerate(
        [
            ("connection.created", Conn(7, "alice@todoist"), True),
            ("connection.sync_requested", Conn(7, "alice@todoist"), False),
            ("task.created", None, True),
        ]
    ):
        with time_machine.travel(NOW + dt.timedelta(hours=hour), tick=False):
            record(action, actor=user, connection=connection, success=success)
    record("connection.created", actor=other_user, connection=Conn(8, "bob@linear"))
    record("webhook.received", connection=Conn(7, "alice@todoist"))


def test_your_activity_lists_only_your_own_events_newest_first(api, user, history):
    response = api.get("/api/activity")

    assert actions(response) == ["task.created", "connection.sync_requested", "connection.created"]
    newest = response.json()["results"][0]
    assert set(newest) == {
        "id",
        "created_at",
        "action",
        "resource",
        "connection_id",
        "connection_label",
        "success",
        "channel",
        "details",
        "ip_address",
        "user_agent",
    }
    assert newest["created_at"] == "2030-06-01T14:00:00Z"


def test_an_event_is_read_with_its_details_and_channel(api, user, token_client):
    script = token_client(user, name="backup script")
    script.post("/api/tasks", {"title": "from the script"}, format="json")
    event = AuditEvent.objects.get(action="task.created")

    response = api.get(f"/api/activity/{event.pk}")

    assert response.status_code == 200
    data = response.json()
    assert (data["channel"], data["details"]["fields"]) == ("api: backup script", ["title"])
    assert data["ip_address"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=task.created", ["task.created"]),
        ("action=connection.", ["connection.sync_requested", "connection.created"]),
        ("action=connection", []),
        ("success=false", ["connection.sync_requested"]),
        ("connection=7", ["connection.sync_requested", "connection.created"]),
        ("connection=8", []),
        ("channel=web", []),
        ("created_after=2030-06-01T13:00:00Z", ["task.created", "connection.sync_requested"]),
        ("created_before=2030-06-01T13:00:00Z", ["connection.created"]),
        (
            "ordering=created_at",
            ["connection.created", "connection.sync_requested", "task.created"],
        ),
    ],
)
def test_activity_is_filtered_and_ordered(api, history, query, expected):
    assert actions(api.get(f"/api/activity?{query}")) == expected


def test_the_channel_filter_finds_what_a_token_did(api, user, token_client):
    token_client(user, name="CI").post("/api/tasks", {"title": "x"}, format="json")
    assert actions(api.get("/api/activity?channel=api: CI")) == ["task.created"]


@pytest.mark.parametrize(
    "query",
    [
        "success=perhaps",
        "connection=abc",
        "connection=0",
        "connection=99999999999999999999999",
        "created_after=yesterday",
        "created_after=0001-01-01T00:00:00Z",
        "created_before=9999-12-31T23:59:59Z",
        "action=" + "x" * 101,
        "channel=" + "x" * 121,
    ],
)
def test_a_bad_filter_is_a_400(api, history, query):
    assert api.get(f"/api/activity?{query}").status_code == 400


def test_another_users_event_is_not_found(api, other_user):
    theirs = record("connection.created", actor=other_user, connection=Conn(8, "bob@linear"))
    response = api.get(f"/api/activity/{theirs.pk}")
    assert response.status_code == 404
    assert "bob" not in response.content.decode()


def test_the_anonymous_get_401(anonymous, user):
    event = record("task.created", actor=user)
    assert anonymous.get("/api/activity").status_code == 401
    assert anonymous.get(f"/api/activity/{event.pk}").status_code == 401


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_activity_is_read_only(api, user, method):
    event = record("task.created", actor=user)
    assert getattr(api, method)("/api/activity", {}, format="json").status_code == 405
    response = getattr(api, method)(f"/api/activity/{event.pk}", {}, format="json")
    assert response.status_code == 405
    assert AuditEvent.objects.filter(pk=event.pk, action="task.created").exists()


def test_secrets_are_never_shown(api, user):
    record("connection.created", actor=user, details={"access_token": "ya29.secret-value"})
    assert "secret-value" not in api.get("/api/activity").content.decode()


def test_the_list_is_paginated_in_a_constant_number_of_queries(api, user):
    for n in range(30):
        record(f"task.created.{n}", actor=user, connection=Conn(n, f"c{n}"))

    def queries(page_size: int) -> int:
        with CaptureQueriesContext(db) as captured:
            response = api.get(f"/api/activity?page_size={page_size}")
        assert response.status_code == 200
        return len(captured)

    api.get("/api/activity")  # the token's first use is recorded once
    assert queries(2) == queries(25)
    first = api.get("/api/activity?page_size=20").json()
    second = api.get(first["next"]).json()
    assert len(first["results"]) + len(second["results"]) == 30
