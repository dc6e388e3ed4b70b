"""`/api/connections/{id}/deletions` and the deletion policy in a connection's settings: the
same service functions and validation as the pages, hostile input refused with a 4xx."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from dayflow.models import Task
from integrations.models import Connection
from sync import engine
from sync.models import ItemLink, SyncJob
from tests.sync.conftest import task_fields
from tests.sync.fakes import FakeProvider, FakeService

pytestmark = pytest.mark.django_db


@pytest.fixture
def remote(use_provider) -> FakeService:
    service = FakeService(page_size=50)
    use_provider(lambda connection: FakeProvider(connection, service))
    return service


@pytest.fixture
def waiting(connection, remote) -> dict[str, ItemLink]:
    """Under "ask": "mine" deleted in DayFlow, "theirs" at the service; "kept" still linked."""
    connection.deletion_policy = Connection.DeletionPolicy.ASK
    connection.save()
    ids = {title: remote.add(**task_fields(title)) for title in ("mine", "theirs", "kept")}
    engine.run_job(SyncJob.objects.create(connection=connection).pk)
    Task.objects.get(title="mine").soft_delete()
    remote.remove(ids["theirs"])
    engine.run_job(SyncJob.objects.create(connection=connection).pk)
    return {link.task.title: link for link in ItemLink.objects.select_related("task")}


def url(connection) -> str:
    return f"/api/connections/{connection.pk}/deletions"


def test_the_waiting_deletions_are_listed_with_the_side_that_deleted(api, connection, waiting):
    response = api.get(url(connection))

    assert response.status_code == 200
    rows = {row["title"]: row for row in response.json()["results"]}
    assert set(rows) == {"mine", "theirs"}
    assert (rows["mine"]["deleted_on"], rows["theirs"]["deleted_on"]) == ("dayflow", "service")
    assert rows["mine"]["id"] == waiting["mine"].pk


def test_restoring_one_brings_it_back_and_audits_the_token(api, connection, remote, waiting):
    response = api.post(
        url(connection), {"action": "restore", "link": waiting["theirs"].pk}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"done": 1, "failed": []}
    assert remote.calls["create"] == 1
    assert AuditEvent.objects.get(action="sync.deletion.restored").channel == "api: script"


def test_confirming_all_settles_every_waiting_deletion(api, connection, remote, waiting):
    response = api.post(url(connection), {"action": "confirm", "all": True}, format="json")

    assert response.json()["done"] == 2
    assert not ItemLink.objects.exclude(deletion_pending="").exists()
    assert Task.all_objects.get(title="theirs").is_deleted


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"action": "shred"}, 400),
        ({}, 400),
        ({"action": "confirm", "link": "seven"}, 400),
        ({"action": "confirm", "link": 2**63}, 400),
        ({"action": "confirm", "link": 0}, 400),
        ({"action": "confirm", "link": 10**15}, 404),
        ({"action": "confirm", "all": True, "extra": 1}, 400),
        ({"action": "confirm"}, 400),
        ({"action": "confirm", "all": True, "link": 1}, 400),
        ({"action": "confirm", "all": "yes please"}, 400),
    ],
    ids=[
        *("unknown action", "no action", "text id", "huge id", "zero id", "unknown id"),
        *("extra", "neither one nor all", "both one and all", "all not a boolean"),
    ],
)
def test_hostile_input_is_refused_and_changes_nothing(api, connection, waiting, body, status):
    response = api.post(url(connection), body, format="json")

    assert response.status_code == status
    assert ItemLink.objects.exclude(deletion_pending="").count() == 2


def test_a_link_that_waits_for_nothing_is_a_409(api, connection, waiting):
    response = api.post(
        url(connection), {"action": "confirm", "link": waiting["kept"].pk}, format="json"
    )

    assert response.status_code == 409
    assert Task.objects.filter(title="kept").exists()


def test_another_persons_connection_and_links_are_404(api, others_api, connection, waiting):
    assert others_api.get(url(connection)).status_code == 404
    assert others_api.post(url(connection), {"action": "confirm"}, format="json").status_code == 404
    assert api.get("/api/connections/99999999999999999999/deletions").status_code == 404
    assert ItemLink.objects.exclude(deletion_pending="").count() == 2


def test_the_policy_is_changed_through_the_settings_form(api, connection):
    response = api.patch(
        f"/api/connections/{connection.pk}", {"deletion_policy": "unlink"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["deletion_policy"] == "unlink"
    connection.refresh_from_db()
    assert connection.deletion_policy == "unlink"
    assert api.get(f"/api/connections/{connection.pk}").json()["deletion_policy"] == "unlink"


def test_an_unknown_policy_is_a_400_naming_it(api, connection):
    response = api.patch(
        f"/api/connections/{connection.pk}", {"deletion_policy": "shred"}, format="json"
    )

    assert response.status_code == 400
    assert "deletion_policy" in response.json()
    connection.refresh_from_db()
    assert connection.deletion_policy == "propagate"
