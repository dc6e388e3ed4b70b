"""Several containers per connection, validated alike through the API (PATCH
/api/connections/{id}) and the settings page: ClickUp lists must be the account's and of one
workspace, at most MAX_LIST_ITEMS of them, and each becomes a sync link; Notion takes several
data sources, each a link."""

from __future__ import annotations

import pytest

from integrations.models import MAX_LIST_ITEMS, Connection, Credential, Service
from integrations.providers.base import Container, ItemType
from integrations.providers.clickup.provider import ClickUpProvider
from integrations.providers.errors import Transient
from sync.models import SyncLink

pytestmark = pytest.mark.django_db

URL = "/api/connections"
TREE = [
    Container("w1", "Acme", "workspace"),
    Container("s1", "Engineering", "space", parent="w1"),
    Container("l1", "Sprint", "list", "s1", (ItemType.TASK,)),
    Container("l2", "Backlog", "list", "s1", (ItemType.TASK,)),
    Container("w2", "Side project", "workspace"),
    Container("s2", "Stuff", "space", parent="w2"),
    Container("l3", "Ideas", "list", "s2", (ItemType.TASK,)),
]
BASE = {"sync_interval": "15", "sync_direction": "two_way", "conflict_resolution": "manual"}


@pytest.fixture
def clickup(user, monkeypatch) -> Connection:
    asked: list[int] = []

    def listed(self):
        asked.append(1)
        return TREE

    monkeypatch.setattr(ClickUpProvider, "list_containers", listed)
    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="clickup"),
        external_account_id="cu",
        field_mapping={"list_id": "l1", "team_id": "w1"},
    )
    Credential.objects.create(connection=connection, access_token="t")
    connection.asked = asked
    return connection


def patch(api, connection: Connection, mapping: dict):
    return api.patch(f"{URL}/{connection.pk}", {"field_mapping": mapping}, format="json")


def test_two_lists_of_one_workspace_are_two_sync_links(api, clickup):
    response = patch(api, clickup, {"list_id": ["l1", "l2"], "team_id": "w1"})

    assert response.status_code == 200, response.content
    assert sorted(
        SyncLink.objects.filter(connection=clickup).values_list("collection", flat=True)
    ) == [
        "l1",
        "l2",
    ]
    assert clickup.asked == [1]  # the service was asked which lists are the account's


@pytest.mark.parametrize(
    ("mapping", "words"),
    [
        ({"list_id": ["l1", "l3"], "team_id": "w1"}, "must all be in one workspace"),
        ({"list_id": ["l1", "l3"]}, "must all be in one workspace"),
        ({"list_id": ["l1", "l2"], "team_id": "w2"}, "not in this workspace"),
        ({"list_id": ["l1", "nope"], "team_id": "w1"}, "not clickup lists of this account: nope"),
        ({"list_id": ["l1", "s1"], "team_id": "w1"}, "not clickup lists of this account: s1"),
        ({"list_id": ["l1", ""], "team_id": "w1"}, "must be a list of ids"),
        ({"list_id": ["l1", 7], "team_id": "w1"}, "must be a list of ids"),
        ({"list_id": ["l1", "a\nb"], "team_id": "w1"}, "control characters"),
        ({"list_id": ["l1", "x" * 300], "team_id": "w1"}, "at most 255 characters"),
        ({"list_id": [f"l{n}" for n in range(MAX_LIST_ITEMS + 1)]}, f"at most {MAX_LIST_ITEMS}"),
        ({"list_id": {"l1": True}}, "must be a str or a list"),
    ],
)
def test_lists_that_cannot_be_synced_together_are_a_400(api, clickup, mapping, words):
    response = patch(api, clickup, mapping)

    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()["field_mapping"]).lower()
    clickup.refresh_from_db()
    assert clickup.field_mapping == {"list_id": "l1", "team_id": "w1"}
    assert list(
        SyncLink.objects.filter(connection=clickup).values_list("collection", flat=True)
    ) == ["l1"]


def test_when_clickup_cannot_be_reached_several_lists_are_refused_in_words(
    api, clickup, monkeypatch
):
    def unreachable(self):
        raise Transient("503", service="clickup")

    monkeypatch.setattr(ClickUpProvider, "list_containers", unreachable)
    response = patch(api, clickup, {"list_id": ["l1", "l2"], "team_id": "w1"})

    assert response.status_code == 400
    assert "could not be reached" in " ".join(response.json()["field_mapping"])


def test_one_list_is_not_checked_at_the_service(api, clickup):
    response = patch(api, clickup, {"list_id": ["l2"], "team_id": "w1"})
    assert response.status_code == 200, response.content
    assert clickup.asked == []


def test_notion_takes_several_data_sources_each_a_link(api, user):
    notion = Connection.objects.create(
        user=user, service=Service.objects.get(key="notion"), external_account_id="n"
    )
    response = patch(api, notion, {"data_source_id": ["ds-1", "ds-2"]})
    assert response.status_code == 200, response.content
    assert sorted(notion.sync_links.values_list("collection", flat=True)) == ["ds-1", "ds-2"]


# --- the settings page, the same rules ------------------------------------------------------
def settings_url(connection: Connection) -> str:
    return f"/integrations/connections/{connection.pk}/settings/"


def test_the_page_saves_ticked_lists_of_one_workspace(client, user, clickup):
    client.force_login(user)
    response = client.post(
        settings_url(clickup), BASE | {"collection": ["l1", "l2"], "field_mapping": "{}"}
    )
    assert response.status_code == 302
    clickup.refresh_from_db()
    assert clickup.field_mapping == {"list_id": ["l1", "l2"], "team_id": "w1"}


def test_the_page_refuses_lists_of_two_workspaces_in_words(client, user, clickup):
    client.force_login(user)
    response = client.post(
        settings_url(clickup), BASE | {"collection": ["l1", "l3"], "field_mapping": "{}"}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["collection"]
    assert "must all be in one workspace" in " ".join(errors)
    clickup.refresh_from_db()
    assert clickup.field_mapping == {"list_id": "l1", "team_id": "w1"}


# --- the admin, the same rules ----------------------------------------------------------------
@pytest.fixture
def staff_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("staff", "staff@example.com", "pw-staff-1")
    client.force_login(admin)
    return client


def admin_post(staff_client, connection: Connection, mapping: str):
    url = f"/admin/integrations/connection/{connection.pk}/change/"
    form = staff_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data |= {"user": connection.user_id, "service": connection.service_id}
    data |= {"field_mapping": mapping}
    return staff_client.post(url, data)


def test_the_admin_refuses_lists_of_two_workspaces(staff_client, clickup):
    response = admin_post(staff_client, clickup, '{"list_id": ["l1", "l3"], "team_id": "w1"}')

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["field_mapping"]
    assert "must all be in one workspace" in " ".join(errors)
    clickup.refresh_from_db()
    assert clickup.field_mapping == {"list_id": "l1", "team_id": "w1"}


def test_the_admin_saves_lists_of_one_workspace(staff_client, clickup):
    response = admin_post(staff_client, clickup, '{"list_id": ["l1", "l2"], "team_id": "w1"}')

    assert response.status_code == 302
    clickup.refresh_from_db()
    assert clickup.field_mapping == {"list_id": ["l1", "l2"], "team_id": "w1"}
