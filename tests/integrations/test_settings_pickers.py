"""The settings page offers what the service lists (its databases, lists, teams, projects or
calendars) instead of ids typed into JSON; a picked id must be one it listed; a service that
cannot be reached says so and the JSON under "Advanced" still works."""

from __future__ import annotations

import json
import re

import pytest
import requests
import responses
from django.conf import settings

from integrations.clients import provider_for
from integrations.models import Connection, Credential, Service
from integrations.providers.base import Container, ItemType
from integrations.providers.caldav import CalDAVProvider
from integrations.providers.clickup.provider import ClickUpProvider
from integrations.providers.errors import Transient
from integrations.providers.http import HttpClient
from integrations.providers.notion.provider import NotionProvider
from sync.models import SyncJob

pytestmark = pytest.mark.django_db

CLICKUP_TREE = [
    Container("w1", "Acme", "workspace"),
    Container("s1", "Engineering", "space", parent="w1"),
    Container("f1", "Sprints", "folder", parent="s1"),
    Container("l1", "Sprint 12", "list", "f1", (ItemType.TASK,)),
    Container("l2", "Backlog", "list", "s1", (ItemType.TASK,)),
]
BASE = {"sync_interval": "15", "sync_direction": "two_way", "conflict_resolution": "manual"}


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


def connect(user, key: str, **fields) -> Connection:
    connection = Connection.objects.create(
        user=user, service=Service.objects.get(key=key), external_account_id="a", **fields
    )
    Credential.objects.create(connection=connection, access_token="t")
    return connection


def url(connection: Connection) -> str:
    return f"/integrations/connections/{connection.pk}/settings/"


@pytest.fixture
def clickup(user, monkeypatch) -> Connection:
    monkeypatch.setattr(ClickUpProvider, "list_containers", lambda self: CLICKUP_TREE)
    return connect(user, "clickup")


def test_the_page_offers_the_services_lists_under_their_workspace_and_space(logged_in, clickup):
    page = logged_in.get(url(clickup) + "?pick=1").content.decode()
    assert "Needs setup:</strong> choose a ClickUp list" in page
    # Several lists can be ticked (each a sync link), under their workspace, space, folder.
    assert "<div><label>Acme › Engineering › Sprints</label>" in page
    assert 'type="checkbox" name="collection" value="l1"' in page
    assert "<div><label>Acme › Engineering</label>" in page
    assert 'value="s1"' not in page  # a space is not what syncs
    assert "autofocus" in page
    assert "DAYFLOW_" not in page
    assert f'min="{settings.DAYFLOW_MIN_SYNC_INTERVAL}"' in page


def test_picking_a_list_saves_it_with_its_workspace_and_starts_the_first_sync(
    logged_in, clickup, celery_sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(url(clickup), BASE | {"collection": "l1", "field_mapping": "{}"})
    assert response.status_code == 302
    clickup.refresh_from_db()
    assert clickup.field_mapping == {"list_id": ["l1"], "team_id": "w1"}
    assert clickup.setup_needed == ""
    job = SyncJob.objects.get(connection=clickup)
    assert (job.kind, job.dry_run) == ("full", False)
    assert celery_sent == [((job.pk,), None)]


@pytest.mark.parametrize("picked", ["l9", "s1", "x" * 5000])
def test_an_id_the_service_did_not_list_is_refused(logged_in, clickup, picked):
    response = logged_in.post(url(clickup), BASE | {"collection": picked, "field_mapping": "{}"})
    assert response.status_code == 200
    assert "collection" in response.context["form"].errors
    clickup.refresh_from_db()
    assert clickup.field_mapping == {}
    assert not SyncJob.objects.exists()


def test_the_json_box_keeps_the_settings_without_a_picker(logged_in, clickup):
    clickup.field_mapping = {"list_id": "l2", "team_id": "w1", "timezone": "Europe/Paris"}
    clickup.save()
    form = logged_in.get(url(clickup)).context["form"]
    assert json.loads(form["field_mapping"].value()) == {"timezone": "Europe/Paris"}
    assert form["collection"].value() == ["l2"]
    response = logged_in.post(
        url(clickup), BASE | {"collection": "l2", "field_mapping": form["field_mapping"].value()}
    )
    assert response.status_code == 302
    clickup.refresh_from_db()
    assert clickup.field_mapping == {
        "list_id": ["l2"],
        "team_id": "w1",
        "timezone": "Europe/Paris",
    }


def test_a_service_that_cannot_be_reached_says_so_and_the_json_still_works(
    logged_in, user, monkeypatch
):
    def unreachable(self):
        raise Transient("503", service="clickup")

    monkeypatch.setattr(ClickUpProvider, "list_containers", unreachable)
    connection = connect(user, "clickup")
    page = logged_in.get(url(connection)).content.decode()
    assert "could not be reached" in page
    assert '<details class="advanced" open>' in page
    mapping = json.dumps({"list_id": "l7", "team_id": "w7"})
    response = logged_in.post(url(connection), BASE | {"field_mapping": mapping})
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.field_mapping == {"list_id": "l7", "team_id": "w7"}


@responses.activate
def test_a_page_asks_an_unreachable_service_twice_at_most(logged_in, user):
    """A person waits for the page: one retry, not a sync job's five attempts and two minutes
    of backoff (the page took 6 s of sleeps to say Todoist could not be reached)."""
    projects = re.compile(r"https://api\.todoist\.com/api/v1/projects.*")
    responses.add(responses.GET, projects, body=requests.ConnectionError("unreachable"))
    connection = connect(user, "todoist")
    page = logged_in.get(url(connection)).content.decode()
    assert "could not be reached" in page
    assert len(responses.calls) == 2
    # the sync job's own client keeps the full budget
    assert provider_for(connection).http.max_attempts == HttpClient("todoist").max_attempts > 2


def test_without_credentials_the_page_asks_to_reconnect(logged_in, user):
    connection = Connection.objects.create(
        user=user, service=Service.objects.get(key="linear"), external_account_id="a"
    )
    page = logged_in.get(url(connection)).content.decode()
    assert "reconnect it to choose here" in page


def test_a_notion_data_source_is_saved_with_its_database(logged_in, user, monkeypatch):
    sources = [Container("ds-1", "Tasks", "data_source", "db-1", (ItemType.TASK,))]
    monkeypatch.setattr(NotionProvider, "list_containers", lambda self: sources)
    connection = connect(user, "notion")
    page = logged_in.get(url(connection)).content.decode()
    assert "Notion databases to sync" in page
    logged_in.post(url(connection), BASE | {"collection": "ds-1", "field_mapping": "{}"})
    connection.refresh_from_db()
    assert connection.field_mapping == {"data_source_id": ["ds-1"], "database_id": "db-1"}


@pytest.fixture
def fastmail(user, monkeypatch) -> Connection:
    calendars = [
        Container("https://dav.example.com/me/work/", "Work", "calendar", "", (ItemType.EVENT,)),
        Container("https://dav.example.com/me/todo/", "To do", "calendar", "", (ItemType.TASK,)),
    ]
    monkeypatch.setattr(CalDAVProvider, "list_containers", lambda self: calendars)
    connection = Connection.objects.create(
        user=user, service=Service.objects.get(key="fastmail"), external_account_id="a"
    )
    Credential.objects.create(
        connection=connection, server_url="https://dav.example.com/", username="me"
    )
    return connection


def test_caldav_calendars_are_ticked_and_to_dos_are_a_checkbox(logged_in, fastmail):
    page = logged_in.get(url(fastmail)).content.decode()
    assert "Also sync to-dos" in page
    assert "None ticked: every calendar of the account." in page
    response = logged_in.post(
        url(fastmail),
        BASE
        | {
            "collection": ["https://dav.example.com/me/work/"],
            "sync_todos": "on",
            "field_mapping": "{}",
        },
    )
    assert response.status_code == 302
    fastmail.refresh_from_db()
    assert fastmail.field_mapping == {
        "calendars": ["https://dav.example.com/me/work/"],
        "sync_todos": True,
    }


def test_unticking_to_dos_removes_the_setting(logged_in, fastmail):
    fastmail.field_mapping = {"sync_todos": True}
    fastmail.save()
    logged_in.post(url(fastmail), BASE | {"field_mapping": "{}"})
    fastmail.refresh_from_db()
    assert fastmail.field_mapping == {}
