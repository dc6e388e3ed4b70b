"""`/api/connections`: the list (filters, ordering, cursor pages in constant queries), one
connection, its settings (PATCH, validated as the settings page does), pause and resume
through the lifecycle, and the containers the service offers, its failures in words."""

from __future__ import annotations

import pytest
import requests
import responses
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from dayflow.models import Task
from integrations.models import Connection, Credential, Service
from sync import services
from sync.models import SyncJob, SyncLink

pytestmark = pytest.mark.django_db

URL = "/api/connections"
PROJECTS = "https://api.todoist.com/api/v1/projects"


def make_connection(user, key: str, account: str, **fields) -> Connection:
    service = Service.objects.get(key=key)
    return Connection.objects.create(
        user=user, service=service, external_account_id=account, label=account, **fields
    )


@pytest.fixture
def credential(connection) -> Credential:
    return Credential.objects.create(
        connection=connection, access_token="at-secret-1", refresh_token=""
    )


# --- the list -------------------------------------------------------------------------------------
def test_the_list_is_yours_filtered_and_ordered(api, user, other_user):
    make_connection(user, "todoist", "a")
    make_connection(user, "notion", "b", status="paused")
    make_connection(user, "todoist", "c", status="paused")
    make_connection(other_user, "todoist", "theirs")

    def labels(query: str = "") -> list[str]:
        response = api.get(f"{URL}?{query}")
        assert response.status_code == 200, response.content
        return [c["label"] for c in response.json()["results"]]

    assert sorted(labels()) == ["a", "b", "c"]
    assert sorted(labels("service=todoist")) == ["a", "c"]
    assert labels("service=todoist&status=paused") == ["c"]
    assert labels("ordering=label") == ["a", "b", "c"]
    assert labels("ordering=-label") == ["c", "b", "a"]


@pytest.mark.parametrize("query", ["status=sleeping", "service=" + "x" * 41])
def test_a_bad_filter_is_a_400(api, query):
    response = api.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert query.partition("=")[0] in response.json()


def test_the_list_costs_the_same_queries_for_a_page_of_2_or_25(api, user):
    def queries(page_size: int) -> int:
        with CaptureQueriesContext(db) as captured:
            response = api.get(f"{URL}?page_size={page_size}")
        assert response.status_code == 200
        return len(captured)

    for n in range(30):
        SyncJob.objects.create(connection=make_connection(user, "todoist", f"acct-{n}"))
    api.get(URL)  # the token's first use is recorded once
    assert queries(2) == queries(25)
    first = api.get(f"{URL}?page_size=20").json()
    assert len(first["results"]) == 20
    assert len(api.get(first["next"]).json()["results"]) == 10


def test_the_anonymous_get_401_everywhere(anonymous, connection):
    one = f"{URL}/{connection.pk}"
    assert anonymous.get(URL).status_code == 401
    assert anonymous.get(one).status_code == 401
    assert anonymous.patch(one, {"sync_interval": 30}, format="json").status_code == 401
    assert anonymous.post(f"{one}/pause").status_code == 401
    assert anonymous.post(f"{one}/resume").status_code == 401
    assert anonymous.get(f"{one}/containers").status_code == 401
    connection.refresh_from_db()
    assert (connection.status, connection.sync_interval) == ("connected", 15)


# --- one connection -------------------------------------------------------------------------------
def test_one_connection_says_how_it_hears_of_changes(api, connection, credential):
    response = api.get(f"{URL}/{connection.pk}")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["service"], body["delivery"]) == (connection.pk, "todoist", "polling")
    assert "at-secret-1" not in response.content.decode()


@pytest.mark.parametrize("pk", ["999999", "123456789012345678", "abc", "1.5"])
def test_a_connection_that_is_not_there_is_a_404(api, connection, pk):
    assert api.get(f"{URL}/{pk}").status_code == 404


def test_another_persons_connection_is_not_found_for_every_method(api, other_user):
    theirs = make_connection(other_user, "todoist", "theirs")
    one = f"{URL}/{theirs.pk}"

    assert api.get(one).status_code == 404
    assert api.patch(one, {"sync_interval": 30}, format="json").status_code == 404
    assert api.post(f"{one}/pause").status_code == 404
    assert api.post(f"{one}/resume").status_code == 404
    assert api.get(f"{one}/containers").status_code == 404
    theirs.refresh_from_db()
    assert (theirs.status, theirs.sync_interval) == ("connected", 15)


# --- settings -------------------------------------------------------------------------------------
def test_patch_changes_only_the_settings_given_and_is_audited(api, connection):
    response = api.patch(
        f"{URL}/{connection.pk}", {"sync_direction": "one_way", "auto_sync": False}, format="json"
    )

    assert response.status_code == 200, response.content
    connection.refresh_from_db()
    assert (connection.sync_direction, connection.auto_sync) == ("one_way", False)
    assert connection.sync_interval == 15
    event = AuditEvent.objects.get(action="connection.settings_changed")
    assert event.channel == "api: script"
    assert event.details["fields"] == ["auto_sync", "sync_direction"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sync_interval": 0}, "sync_interval"),
        ({"sync_interval": 10081}, "sync_interval"),
        ({"sync_tasks": [True]}, "sync_tasks"),
        ({"field_mapping": "junk"}, "field_mapping"),
        ({"field_mapping": {"project_id": "a\nb"}}, "field_mapping"),
        ({"field_mapping": {"list_id": "x"}}, "field_mapping"),
        ({"label": "renamed"}, "label"),
        ({"id": 5}, "id"),
    ],
)
def test_bad_settings_are_a_400_naming_the_field(api, connection, body, field):
    response = api.patch(f"{URL}/{connection.pk}", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    connection.refresh_from_db()
    assert (connection.sync_interval, connection.field_mapping, connection.label) == (
        15,
        {"project_id": "p-1"},  # the fixture's, unchanged
        "alice@todoist",
    )


def test_a_disconnected_connections_settings_are_a_409(api, connection):
    Connection.objects.filter(pk=connection.pk).update(status="disconnected")
    response = api.patch(f"{URL}/{connection.pk}", {"sync_interval": 30}, format="json")
    assert response.status_code == 409


def test_a_project_ticked_after_the_first_sync_queues_its_preview_in_the_jobs_list(
    api, user, connection
):
    now = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(last_sync_at=now)
    SyncLink.objects.filter(connection=connection).update(first_synced_at=now)
    Task.objects.create(user=user, title="Quarterly report")

    body = {"field_mapping": {"project_id": ["p-1", "p-2"]}}
    response = api.patch(f"{URL}/{connection.pk}", body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["last_sync_status"] == "queued"
    (job,) = api.get("/api/integrations/jobs").json()["results"]
    assert (job["connection"], job["dry_run"], job["kind"]) == (connection.pk, True, "full")
    assert services.request_sync(connection.pk, trigger=SyncJob.Trigger.SCHEDULE) is None


def test_put_is_not_how_a_connection_changes(api, connection):
    assert api.put(f"{URL}/{connection.pk}", {}, format="json").status_code == 405


# --- pause and resume -----------------------------------------------------------------------------
def test_pause_then_resume(api, connection):
    paused = api.post(f"{URL}/{connection.pk}/pause")
    assert paused.status_code == 200
    assert (paused.json()["status"], paused.json()["allowed_actions"]) == (
        "paused",
        ["disconnect", "resume", "settings"],
    )
    assert AuditEvent.objects.get(action="connection.paused").channel == "api: script"

    resumed = api.post(f"{URL}/{connection.pk}/resume")
    assert resumed.json()["status"] == "connected"
    assert AuditEvent.objects.get(action="connection.resumed").channel == "api: script"


def test_an_action_the_status_does_not_allow_is_a_409_with_the_reason(api, connection):
    response = api.post(f"{URL}/{connection.pk}/resume")
    assert response.status_code == 409
    assert response.json() == {"detail": "only a paused account can be resumed", "action": "resume"}
    Connection.objects.filter(pk=connection.pk).update(status="disconnected")
    assert api.post(f"{URL}/{connection.pk}/pause").status_code == 409
    connection.refresh_from_db()
    assert connection.status == "disconnected"


# --- containers -----------------------------------------------------------------------------------
@responses.activate
def test_the_containers_the_service_offers(api, connection, credential):
    responses.get(
        PROJECTS,
        json={
            "results": [
                {"id": "p-1", "name": "Inbox"},
                {"id": "p-2", "name": "Errands", "parent_id": "p-1"},
            ],
            "next_cursor": None,
        },
    )

    response = api.get(f"{URL}/{connection.pk}/containers")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "containers": [
            {"id": "p-1", "name": "Inbox", "kind": "project", "parent": "", "item_types": ["task"]},
            {
                "id": "p-2",
                "name": "Errands",
                "kind": "project",
                "parent": "p-1",
                "item_types": ["task"],
            },
        ]
    }
    assert "at-secret-1" not in response.content.decode()


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 403, "json": {"error": "forbidden"}},
        {"status": 200, "json": {"unexpected": True}},
        {"body": requests.exceptions.SSLError("certificate verify failed")},
    ],
    ids=["refused", "unreadable", "tls"],
)
@responses.activate
def test_a_service_failure_is_a_502_in_words(api, connection, credential, monkeypatch, answer):
    monkeypatch.setattr("integrations.providers.http.HttpClient._backoff", _no_retry)
    responses.get(PROJECTS, **answer)

    response = api.get(f"{URL}/{connection.pk}/containers")

    assert response.status_code == 502
    assert response.json() == {"detail": "Todoist failed or could not be reached; try again later."}


def _no_retry(self, attempt, started, what, *, retry=True):
    from integrations.providers.errors import Transient

    raise Transient(what, service=self.service)


@responses.activate
def test_a_rate_limited_service_is_a_503_with_retry_after(api, connection, credential):
    responses.get(PROJECTS, status=429, headers={"Retry-After": "3600"})
    response = api.get(f"{URL}/{connection.pk}/containers")
    assert response.status_code == 503
    assert int(response["Retry-After"]) == 3600


@responses.activate
def test_a_refused_token_is_a_409_reconnect(api, connection, credential):
    responses.get(PROJECTS, status=401)

    response = api.get(f"{URL}/{connection.pk}/containers")

    assert response.status_code == 409
    assert response.json()["detail"] == "the account must be connected again"
    connection.refresh_from_db()
    assert connection.status == "needs_reauth"  # no refresh token: the token layer said so
    assert api.get(f"{URL}/{connection.pk}/containers").status_code == 409  # without a call
    assert len(responses.calls) == 1


def test_a_connection_without_credentials_is_a_409(api, connection):
    assert api.get(f"{URL}/{connection.pk}/containers").status_code == 409


def test_a_disconnected_connection_offers_no_containers(api, connection):
    Connection.objects.filter(pk=connection.pk).update(status="disconnected")
    assert api.get(f"{URL}/{connection.pk}/containers").status_code == 409
