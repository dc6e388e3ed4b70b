"""Whether a connection needs setup is declared by its provider: which setting holds the
container it syncs, whether one is required, and the words for it. While it needs setup it
says so, and it does not sync."""

from __future__ import annotations

import pytest

from integrations.actions import SYNC
from integrations.models import Connection, Service
from integrations.providers import PROVIDERS

# service -> (the setting that names its container, required?, what it says while unset)
DECLARATIONS = {
    "notion": ("data_source_id", True, "choose a Notion database"),
    "clickup": ("list_id", True, "choose a ClickUp list"),
    "linear": ("team_id", True, "choose a Linear team"),
    "todoist": ("project_id", True, "choose a Todoist project"),
    "google-calendar": ("calendars", False, ""),
    "outlook": ("calendars", False, ""),
    "fastmail": ("calendars", False, ""),
    "apple-calendar": ("calendars", False, ""),
}


@pytest.mark.parametrize(("key", "declared"), DECLARATIONS.items())
def test_each_provider_declares_its_container(key, declared):
    provider = PROVIDERS[key]
    setting, required, words = declared
    assert (provider.collection_setting, provider.collection_required) == (setting, required)
    assert setting in provider.mapping_schema
    assert provider.setup_needed({}) == words
    assert provider.setup_needed(None) == words


def test_every_registered_provider_is_in_the_table():
    assert set(PROVIDERS) == set(DECLARATIONS)


@pytest.mark.parametrize(
    ("key", "mapping", "needed"),
    [
        ("notion", {}, "choose a Notion database"),
        ("notion", {"database_id": "db"}, "choose a Notion database"),  # its data source
        ("notion", {"data_source_id": "ds"}, ""),
        ("clickup", {"team_id": "t"}, "choose a ClickUp list"),
        ("clickup", {"list_id": "l"}, ""),
        ("linear", {"team_id": ""}, "choose a Linear team"),
        ("linear", {"team_id": "team"}, ""),
        ("todoist", {"write_id_marker": True}, "choose a Todoist project"),
        ("todoist", {"project_id": "p"}, ""),
        ("google-calendar", {}, ""),  # the primary calendar
        ("outlook", {"calendars": []}, ""),  # the default calendar
        ("fastmail", {}, ""),  # every calendar of the account
    ],
)
def test_setup_needed_by_settings(key, mapping, needed):
    assert PROVIDERS[key].setup_needed(mapping) == needed


@pytest.fixture
def unset(user) -> Connection:
    return Connection.objects.create(
        user=user, service=Service.objects.get(key="notion"), external_account_id="ws"
    )


@pytest.mark.django_db
def test_a_connection_that_needs_setup_says_so_and_cannot_sync(unset):
    assert unset.setup_needed == "choose a Notion database"
    assert unset.status_words == "Needs setup"
    assert SYNC not in unset.allowed_actions
    assert not unset.is_scheduled


@pytest.mark.django_db
def test_once_set_up_it_is_connected_and_syncs(unset):
    unset.field_mapping = {"data_source_id": "ds-1"}
    unset.save()
    assert unset.setup_needed == ""
    assert unset.status_words == "Connected"
    assert SYNC in unset.allowed_actions
    assert unset.is_scheduled


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "words"), [("paused", "Paused"), ("disconnected", "")])
def test_other_states_keep_their_words(unset, status, words):
    Connection.objects.filter(pk=unset.pk).update(status=status)
    unset.refresh_from_db()
    if words:
        assert unset.status_words == words
    else:
        assert unset.setup_needed == ""  # reconnecting comes first


@pytest.mark.django_db
def test_the_api_shows_what_a_connection_needs(client, user, unset):
    client.force_login(user)
    response = client.get(f"/api/connections/{unset.pk}")
    assert response.status_code == 200, response.content
    assert response.json()["setup_needed"] == "choose a Notion database"
