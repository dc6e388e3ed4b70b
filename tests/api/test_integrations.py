"""`/api/integrations`, the seed's route: the catalog and your connections (GET), connect a
service or start a sync (POST), change settings (PUT), disconnect (DELETE). Each calls what the
pages call; another person's connection is a 404, the anonymous get 401, and no secret is ever
in a response."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import time_machine
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit.models import AuditEvent
from dayflow.api.throttling import SyncStart
from integrations.crypto import ciphertext
from integrations.models import Connection, Credential, OAuthHandoff, Service
from integrations.providers import caldav
from integrations.providers.base import Container
from integrations.providers.errors import AuthExpired
from sync.models import SyncJob

pytestmark = pytest.mark.django_db

URL = "/api/integrations"
SECRETS = ("at-secret-1", "rt-secret-1", "client-secret-1", "app-password-1")


@pytest.fixture(autouse=True)
def oauth_clients(settings):
    settings.DAYFLOW_OAUTH_CLIENTS = {
        "todoist": {"client_id": "todoist-id", "client_secret": "client-secret-1"}
    }
    settings.PUBLIC_URL = "https://dayflow.test"


@pytest.fixture
def credential(connection) -> Credential:
    return Credential.objects.create(
        connection=connection, access_token="at-secret-1", refresh_token="rt-secret-1"
    )


def make_connection(user, key: str, account: str, **fields) -> Connection:
    service = Service.objects.get(key=key)
    return Connection.objects.create(
        user=user, service=service, external_account_id=account, label=account, **fields
    )


def assert_no_secret(response) -> None:
    body = response.content.decode()
    for secret in SECRETS:
        assert secret not in body


def channel_of(action: str) -> str:
    return AuditEvent.objects.filter(action=action).latest("id").channel


# --- GET ----------------------------------------------------------------------------------------
def test_the_catalog_and_your_connections(api, connection, credential, other_user):
    make_connection(other_user, "todoist", "theirs")

    response = api.get(URL)

    assert response.status_code == 200
    body = response.json()
    services = {service["key"]: service for service in body["services"]}
    assert set(services) >= {"todoist", "notion", "google-calendar", "apple-calendar"}
    todoist = services["todoist"]
    assert (todoist["kind"], todoist["configured"], todoist["sandbox"]) == ("tasks", True, False)
    assert todoist["connects_with"] == "oauth"
    assert todoist["capabilities"]["webhooks"] is True
    assert services["notion"]["configured"] is False  # no client on this server
    assert services["apple-calendar"]["connects_with"] == "caldav"
    assert "calendars" in services["apple-calendar"]["field_mapping_keys"]
    [mine] = body["connections"]
    assert mine["id"] == connection.pk
    assert mine["service"] == "todoist"
    assert mine["status"] == "connected"
    assert mine["allowed_actions"] == ["disconnect", "pause", "settings", "sync"]
    assert mine["sync_interval"] == 15
    assert mine["last_sync_status"] is None
    assert_no_secret(response)


def test_a_connections_last_sync_is_its_latest_jobs(api, connection):
    SyncJob.objects.create(connection=connection, status="failed")
    SyncJob.objects.create(connection=connection, status="succeeded")
    [mine] = api.get(URL).json()["connections"]
    assert mine["last_sync_status"] == "succeeded"


def test_a_sandboxed_service_says_so(api, settings):
    settings.DAYFLOW_SANDBOX = True
    settings.PUBLIC_URL = "http://127.0.0.1:8000"
    settings.DAYFLOW_SERVICE_URLS = {"todoist": "http://127.0.0.1:8000/sandbox/todoist"}
    services = {service["key"]: service for service in api.get(URL).json()["services"]}
    assert services["todoist"]["sandbox"] is True
    assert services["linear"]["sandbox"] is False


def test_the_catalog_costs_the_same_queries_for_one_connection_or_many(api, user):
    def queries() -> int:
        with CaptureQueriesContext(db) as captured:
            assert api.get(URL).status_code == 200
        return len(captured)

    first = make_connection(user, "todoist", "a")
    SyncJob.objects.create(connection=first)
    api.get(URL)  # the token's first use is recorded once
    one = queries()
    for key in ("notion", "linear", "clickup", "google-calendar", "outlook"):
        SyncJob.objects.create(connection=make_connection(user, key, f"acct-{key}"))
    assert queries() == one


def test_the_anonymous_get_401_for_every_method(anonymous, connection):
    assert anonymous.get(URL).status_code == 401
    assert anonymous.post(URL, {"service": "todoist"}, format="json").status_code == 401
    body = {"connection": connection.pk, "sync_interval": 30}
    assert anonymous.put(URL, body, format="json").status_code == 401
    assert anonymous.delete(f"{URL}?connection={connection.pk}&keep_items=true").status_code == 401
    connection.refresh_from_db()
    assert (connection.sync_interval, connection.status) == (15, "connected")


# --- POST: connect --------------------------------------------------------------------------------
def test_an_oauth_connect_started_here_is_finished_by_the_callback_page(user):
    # given the pages' own script, signed in with the session
    client = APIClient()
    client.force_login(user)
    # when it starts a Todoist connection
    response = client.post(URL, {"service": "todoist"}, format="json")
    # then it gets the consent page and its state, kept in the session as the page keeps it
    assert response.status_code == 200, response.content
    body = response.json()
    query = parse_qs(urlsplit(body["authorize_url"]).query)
    assert body["authorize_url"].startswith("https://todoist.com/oauth/authorize?")
    assert query["state"] == [body["state"]]
    assert query["redirect_uri"] == ["https://dayflow.test/integrations/todoist/callback/"]
    assert channel_of("connection.connect_started") == "api: session"
    assert_no_secret(response)

    # and the callback page finishes it with that state
    with responses.RequestsMock() as service:
        service.post("https://todoist.com/oauth/access_token", json={"access_token": "t-1"})
        service.post(
            "https://api.todoist.com/api/v1/sync",
            json={"user": {"id": "td-9", "email": "alice@todoist.test"}},
        )
        callback = client.get(
            "/integrations/todoist/callback/", {"code": "the-code", "state": body["state"]}
        )
    assert callback.status_code == 302
    assert Connection.objects.get(user=user, external_account_id="td-9").status == "connected"


def test_a_token_client_gets_the_consent_page_and_the_start_is_audited(api):
    response = api.post(URL, {"service": "todoist"}, format="json")
    assert response.status_code == 200
    assert response.json()["state"]
    assert channel_of("connection.connect_started") == "api: script"


def todoist_answers(service) -> None:
    service.post("https://todoist.com/oauth/access_token", json={"access_token": "t-1"})
    service.post(
        "https://api.todoist.com/api/v1/sync",
        json={"user": {"id": "td-9", "email": "alice@todoist.test"}},
    )


def test_a_connect_a_script_started_is_finished_in_its_persons_browser(api, client, user):
    # The script's session is not the browser's: the flow is handed off to the user
    # (integrations/oauth/handoff.py), encrypted, and claimed once by the callback.
    state = api.post(URL, {"service": "todoist"}, format="json").json()["state"]
    stored = OAuthHandoff.objects.get(user=user)
    raw = OAuthHandoff.objects.filter(pk=stored.pk).values_list(ciphertext("session"), flat=True)
    assert state in stored.session
    assert state not in raw[0]  # encrypted at rest
    client.force_login(user)

    with responses.RequestsMock() as service:
        todoist_answers(service)
        callback = client.get("/integrations/todoist/callback/", {"code": "c", "state": state})

    assert callback.status_code == 302
    assert Connection.objects.get(user=user, external_account_id="td-9").status == "connected"
    assert not OAuthHandoff.objects.exists()  # used up


def test_a_handed_off_connect_is_not_finished_by_another_user(api, client, other_user):
    state = api.post(URL, {"service": "todoist"}, format="json").json()["state"]
    client.force_login(other_user)

    with responses.RequestsMock():  # no call leaves
        callback = client.get("/integrations/todoist/callback/", {"code": "c", "state": state})

    assert callback.status_code == 302
    assert not Connection.objects.exists()
    assert AuditEvent.objects.filter(action="connection.connect_failed").exists()
    assert OAuthHandoff.objects.exists()  # still its owner's, until it expires


def test_a_handed_off_connect_lapses_after_ten_minutes(api, client, user):
    with time_machine.travel(dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        state = api.post(URL, {"service": "todoist"}, format="json").json()["state"]
    client.force_login(user)

    later = dt.datetime(2030, 6, 1, 12, 11, tzinfo=dt.UTC)
    with time_machine.travel(later, tick=False), responses.RequestsMock():  # no call leaves
        client.get("/integrations/todoist/callback/", {"code": "c", "state": state})

    assert not Connection.objects.exists()


def test_a_caldav_account_is_checked_and_stored_as_the_connect_page_does(api, user, monkeypatch):
    calendars = [Container("https://caldav.icloud.com/1/calendars/home/", "Home", "calendar")]
    seen = {}

    def discover(server_url, username, password, *, service):
        seen.update(server_url=server_url, service=service)
        return calendars

    monkeypatch.setattr(caldav, "discover", discover)
    body = {"service": "apple-calendar", "username": "me@icloud.com", "password": "app-password-1"}

    response = api.post(URL, body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["service"] == "apple-calendar"
    assert seen == {"server_url": "https://caldav.icloud.com/", "service": "apple-calendar"}
    connection = Connection.objects.get(pk=response.json()["id"], user=user)
    assert connection.credential.app_password == "app-password-1"
    assert channel_of("connection.connected") == "api: script"
    assert_no_secret(response)


def test_a_caldav_account_the_server_refuses_is_a_400_naming_the_password(api, monkeypatch):
    def refuse(*args, **kwargs):
        raise AuthExpired("401", service="fastmail")

    monkeypatch.setattr(caldav, "discover", refuse)
    body = {"service": "fastmail", "username": "me@fastmail.com", "password": "app-password-1"}

    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert "app-specific password" in response.json()["password"][0]
    assert not Connection.objects.exists()
    assert AuditEvent.objects.filter(action="connection.connect_failed").exists()
    assert_no_secret(response)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "service"),
        ([], "service"),
        ({"service": "myspace"}, "service"),
        ({"service": ["todoist"]}, "service"),
        ({"service": "notion"}, "service"),  # not configured here
        ({"service": "todoist", "scope": "all"}, "scope"),
        ({"service": "apple-calendar", "username": "me"}, "password"),
        ({"service": "fastmail", "username": "me", "password": "p", "x": 1}, "x"),
        (
            {"service": "fastmail", "username": "u", "password": "p", "server_url": "ftp://x"},
            "server_url",
        ),
        ({"connection": "seven", "action": "sync"}, "connection"),
        ({"connection": 2**64, "action": "sync"}, "connection"),
        ({"connection": 1, "action": "explode"}, "action"),
        ({"connection": 1}, "action"),
        ({"connection": 1, "action": "sync", "mode": "everything"}, "mode"),
    ],
)
def test_a_bad_post_is_a_400_naming_the_field(api, connection, celery_sent, body, field):
    response = api.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not SyncJob.objects.exists()
    assert Connection.objects.count() == 1


# --- POST: sync -----------------------------------------------------------------------------------
def test_a_sync_starts_as_the_sync_button_does(
    api, connection, celery_sent, django_capture_on_commit_callbacks
):
    body = {"connection": connection.pk, "action": "sync", "mode": "preview"}
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, body, format="json")

    assert response.status_code == 202, response.content
    job = SyncJob.objects.get()
    assert response.json() == {
        "id": job.pk,
        "status": "queued",
        "kind": job.kind,  # the first sync of a connection is a full one
        "dry_run": True,
        "url": f"/api/jobs/{job.pk}",
    }
    assert job.trigger == "api"
    assert [args for args, _ in celery_sent] == [(job.pk,)]
    assert channel_of("sync.requested") == "api: script"


def test_the_same_idempotency_key_returns_the_same_job(api, connection, celery_sent):
    body = {"connection": connection.pk, "action": "sync"}
    first = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.json()["id"] == again.json()["id"]
    assert SyncJob.objects.count() == 1


def test_a_connection_that_cannot_sync_is_a_409_with_the_reason(api, connection, celery_sent):
    Connection.objects.filter(pk=connection.pk).update(status="paused")
    response = api.post(URL, {"connection": connection.pk, "action": "sync"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "only a connected account can sync", "action": "sync"}
    assert not SyncJob.objects.exists()


def test_starting_syncs_has_its_own_stricter_throttle(api, connection, celery_sent, monkeypatch):
    monkeypatch.setattr(
        SyncStart, "THROTTLE_RATES", {**SyncStart.THROTTLE_RATES, "sync_start": "2/min"}
    )
    body = {"connection": connection.pk, "action": "sync", "mode": "preview"}
    codes = [api.post(URL, body, format="json").status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    assert api.get(URL).status_code == 200  # reading is not starting


# --- PUT ------------------------------------------------------------------------------------------
def test_settings_are_saved_as_the_settings_page_saves_them(api, connection, credential):
    body = {"connection": connection.pk, "sync_interval": 30, "conflict_resolution": "source"}

    response = api.put(URL, body, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["sync_interval"], response.json()["conflict_resolution"]) == (
        30,
        "source",
    )
    connection.refresh_from_db()
    assert (connection.sync_interval, connection.conflict_resolution) == (30, "source")
    assert (connection.auto_sync, connection.sync_direction) == (True, "two_way")  # kept
    event = AuditEvent.objects.get(action="connection.settings_changed")
    assert event.channel == "api: script"
    assert event.details == {
        "service": "todoist",
        "fields": ["conflict_resolution", "sync_interval"],
    }
    assert_no_secret(response)


def test_every_setting_can_be_set_at_once(api, connection):
    body = {
        "connection": connection.pk,
        "auto_sync": False,
        "sync_interval": 60,
        "sync_direction": "one_way",
        "sync_tasks": False,
        "sync_events": False,
        "conflict_resolution": "merge",
        "field_mapping": {"project_id": "p-1"},
    }
    assert api.put(URL, body, format="json").status_code == 200
    connection.refresh_from_db()
    assert {name: getattr(connection, name) for name in body if name != "connection"} == {
        key: value for key, value in body.items() if key != "connection"
    }


def test_saving_settings_restarts_a_connection_stopped_by_bad_ones(api, connection):
    Connection.objects.filter(pk=connection.pk).update(status="error", last_error="bad project")
    body = {"connection": connection.pk, "field_mapping": {"project_id": "p-2"}}
    assert api.put(URL, body, format="json").json()["status"] == "connected"


SETTINGS_400 = [
    ({"sync_interval": 1}, "sync_interval"),
    ({"sync_interval": 10**12}, "sync_interval"),
    ({"sync_interval": "soon"}, "sync_interval"),
    ({"sync_direction": "sideways"}, "sync_direction"),
    ({"conflict_resolution": "coin"}, "conflict_resolution"),
    ({"auto_sync": "banana"}, "auto_sync"),
    ({"field_mapping": "junk"}, "field_mapping"),
    ({"field_mapping": ["project_id"]}, "field_mapping"),
    ({"field_mapping": {"database_id": "x"}}, "field_mapping"),
    ({"field_mapping": {"project_id": 5}}, "field_mapping"),
    ({"field_mapping": {"project_id": "x" * 300}}, "field_mapping"),
    ({"color": "blue"}, "color"),
    ({"status": "connected"}, "status"),
]


@pytest.mark.parametrize(("body", "field"), SETTINGS_400)
def test_bad_settings_are_a_400_naming_the_field_and_change_nothing(api, connection, body, field):
    response = api.put(URL, {"connection": connection.pk, **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    connection.refresh_from_db()
    # unchanged: the fixture's settings (its project, since issue 15)
    assert (connection.sync_interval, connection.field_mapping) == (15, {"project_id": "p-1"})


def test_settings_need_a_connection(api):
    response = api.put(URL, {"sync_interval": 30}, format="json")
    assert response.status_code == 400
    assert "connection" in response.json()


def test_a_disconnected_connection_has_no_settings_to_change(api, connection):
    Connection.objects.filter(pk=connection.pk).update(status="disconnected")
    response = api.put(URL, {"connection": connection.pk, "sync_interval": 30}, format="json")
    assert response.status_code == 409
    assert response.json()["action"] == "settings"


# --- DELETE ---------------------------------------------------------------------------------------
def test_disconnect_keeping_the_items_with_query_parameters(api, connection, credential):
    response = api.delete(f"{URL}?connection={connection.pk}&keep_items=true")

    assert response.status_code == 200, response.content
    assert response.json()["connection"]["status"] == "disconnected"
    assert response.json()["connection"]["allowed_actions"] == ["reconnect"]
    assert not Credential.objects.exists()
    event = AuditEvent.objects.get(action="connection.disconnected")
    assert event.channel == "api: script"
    assert event.details["keep_items"] is True
    assert_no_secret(response)


def test_disconnect_removing_the_items_with_a_body(api, connection):
    body = {"connection": connection.pk, "keep_items": False}
    response = api.delete(URL, body, format="json")
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="connection.disconnected")
    assert event.details["keep_items"] is False


def test_disconnecting_twice_is_a_409(api, connection):
    api.delete(f"{URL}?connection={connection.pk}&keep_items=true")
    response = api.delete(f"{URL}?connection={connection.pk}&keep_items=true")
    assert response.status_code == 409
    assert response.json()["detail"] == "the account is already disconnected"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("keep_items=true", "connection"),
        ("connection={pk}", "keep_items"),
        ("connection={pk}&keep_items=perhaps", "keep_items"),
        ("connection=x&keep_items=true", "connection"),
        ("connection={pk}&keep_items=true&force=1", "force"),
    ],
)
def test_a_bad_disconnect_is_a_400_and_disconnects_nothing(api, connection, query, field):
    response = api.delete(f"{URL}?{query.format(pk=connection.pk)}")
    assert response.status_code == 400
    assert field in response.json()
    connection.refresh_from_db()
    assert connection.status == "connected"


# --- another person's connection ------------------------------------------------------------------
def test_another_persons_connection_is_not_found_for_every_method(api, other_user, celery_sent):
    theirs = make_connection(other_user, "todoist", "theirs")
    Credential.objects.create(connection=theirs, access_token="at-secret-1")

    sync = api.post(URL, {"connection": theirs.pk, "action": "sync"}, format="json")
    settings = api.put(URL, {"connection": theirs.pk, "sync_interval": 30}, format="json")
    gone = api.delete(f"{URL}?connection={theirs.pk}&keep_items=false")

    assert (sync.status_code, settings.status_code, gone.status_code) == (404, 404, 404)
    assert theirs.pk not in [c["id"] for c in api.get(URL).json()["connections"]]
    theirs.refresh_from_db()
    assert (theirs.status, theirs.sync_interval) == ("connected", 15)
    assert not SyncJob.objects.exists()
    assert Credential.objects.filter(connection=theirs).exists()


def test_the_last_sync_time_is_shown_in_utc(api, connection):
    stamp = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)
    Connection.objects.filter(pk=connection.pk).update(last_sync_at=stamp)
    [mine] = api.get(URL).json()["connections"]
    assert mine["last_sync_at"] == "2030-06-01T12:00:00Z"


def test_a_caldav_account_on_a_real_server_connects_and_lists_its_calendars(api, radicale_calendar):
    body = {
        "service": "fastmail",
        "server_url": radicale_calendar.server_url,
        "username": radicale_calendar.username,
        "password": radicale_calendar.password,
    }
    created = api.post(URL, body, format="json")
    assert created.status_code == 201, created.content
    assert radicale_calendar.password not in created.content.decode()

    response = api.get(f"/api/connections/{created.json()['id']}/containers")

    assert response.status_code == 200, response.content
    [calendar] = response.json()["containers"]
    assert calendar["kind"] == "calendar"
    assert calendar["id"].startswith(radicale_calendar.server_url.rstrip("/"))
