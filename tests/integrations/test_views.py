"""The connection pages: list, pause/resume, settings, disconnect; all audited, all scoped to
the logged-in user."""

from __future__ import annotations

import pytest
import responses
from django.contrib.messages import get_messages

from audit.models import AuditEvent
from integrations.models import Connection, Credential
from integrations.signals import connection_disconnecting, connection_status_changed
from tests.integrations.oauth.fixtures import make_connection, no_backoff, oauth_clients

__all__ = ["make_connection", "no_backoff", "oauth_clients"]  # fixtures used below

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def signals():
    seen: list[tuple] = []

    def on_status(connection, old, new, **kw):
        seen.append(("status", connection.pk, old, new))

    def on_disconnecting(connection, keep_items, **kw):
        seen.append(("disconnecting", connection.pk, keep_items))

    connection_status_changed.connect(on_status, weak=False, dispatch_uid="views-status")
    connection_disconnecting.connect(on_disconnecting, weak=False, dispatch_uid="views-disc")
    yield seen
    connection_status_changed.disconnect(dispatch_uid="views-status")
    connection_disconnecting.disconnect(dispatch_uid="views-disc")


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_page_lists_services_and_the_users_connections(logged_in, make_connection):
    mine = make_connection("todoist")
    Connection.objects.filter(pk=mine.pk).update(status="needs_reauth")
    page = logged_in.get("/integrations/").content.decode()
    assert "alice@todoist" in page
    assert "Needs reconnecting" in page
    assert f"/integrations/connections/{mine.pk}/reconnect/" in page
    for name in ("Notion", "ClickUp", "Linear", "Google Calendar", "Apple Calendar", "Fastmail"):
        assert name in page
    assert "/integrations/fastmail/connect/" in page
    assert "Integrations</a>" in page  # the nav link


def test_another_users_connections_are_neither_listed_nor_reachable(
    client, other_user, make_connection
):
    connection = make_connection("todoist")
    client.force_login(other_user)
    assert "alice@todoist" not in client.get("/integrations/").content.decode()
    for action in ("pause", "resume", "reconnect", "disconnect"):
        response = client.post(f"/integrations/connections/{connection.pk}/{action}/")
        assert response.status_code == 404, action
    assert client.get(f"/integrations/connections/{connection.pk}/settings/").status_code == 404


def test_pause_and_resume(logged_in, make_connection, signals, user):
    connection = make_connection("todoist")
    logged_in.post(f"/integrations/connections/{connection.pk}/pause/", REMOTE_ADDR="10.1.2.3")
    connection.refresh_from_db()
    assert connection.status == "paused"
    logged_in.post(f"/integrations/connections/{connection.pk}/resume/")
    connection.refresh_from_db()
    assert connection.status == "connected"
    assert signals == [
        ("status", connection.pk, "connected", "paused"),
        ("status", connection.pk, "paused", "connected"),
    ]
    paused = AuditEvent.objects.get(action="connection.paused")
    assert (paused.actor, paused.connection_id, paused.ip_address) == (
        user,
        connection.pk,
        "10.1.2.3",
    )
    assert AuditEvent.objects.filter(action="connection.resumed").count() == 1


def test_resuming_a_connection_that_is_not_paused_is_refused(logged_in, make_connection):
    connection = make_connection("todoist")
    response = logged_in.post(f"/integrations/connections/{connection.pk}/resume/")
    assert any("only a paused account" in text for text in messages_of(response))
    connection.refresh_from_db()
    assert connection.status == "connected"


def test_actions_need_a_post(logged_in, make_connection):
    connection = make_connection("todoist")
    assert logged_in.get(f"/integrations/connections/{connection.pk}/pause/").status_code == 405


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"sync_interval": "1"}, "sync_interval", "at least 5 minutes"),
        # Stored, it made beat raise OverflowError and stop the app.
        ({"sync_interval": "4611686018427387904"}, "sync_interval", "at most 10080 minutes"),
        ({"sync_interval": "10081"}, "sync_interval", "at most 10080 minutes"),
        ({"field_mapping": '{"calendars": ["x"]}'}, "field_mapping", "calendars: unknown"),
        ({"field_mapping": "[1, 2"}, "field_mapping", "Enter a valid JSON"),
        ({"sync_direction": "sideways"}, "sync_direction", "not one of the available"),
    ],
)
def test_settings_errors_name_the_field(logged_in, make_connection, data, field, message):
    connection = make_connection("todoist")
    valid = {
        "auto_sync": "on",
        "sync_interval": "15",
        "sync_direction": "two_way",
        "sync_tasks": "on",
        "conflict_resolution": "manual",
        "field_mapping": "{}",
    }
    response = logged_in.post(f"/integrations/connections/{connection.pk}/settings/", valid | data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert not AuditEvent.objects.filter(action="connection.settings_changed").exists()


def test_the_interval_field_says_its_bounds(logged_in, make_connection):
    connection = make_connection("todoist")
    page = logged_in.get(f"/integrations/connections/{connection.pk}/settings/").content.decode()
    assert 'max="10080"' in page
    assert 'min="5"' in page


def test_settings_are_saved_and_audited(logged_in, make_connection):
    connection = make_connection("todoist")
    response = logged_in.post(
        f"/integrations/connections/{connection.pk}/settings/",
        {
            "sync_interval": "30",
            "sync_direction": "one_way",
            "conflict_resolution": "latest",
            "field_mapping": '{"project_id": "p-1"}',
        },
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert (connection.sync_interval, connection.sync_direction, connection.auto_sync) == (
        30,
        "one_way",
        False,
    )
    assert connection.field_mapping == {"project_id": "p-1"}
    event = AuditEvent.objects.get(action="connection.settings_changed")
    assert "sync_interval" in event.details["fields"]


def test_the_disconnect_page_asks_about_the_synced_items(logged_in, make_connection):
    connection = make_connection("todoist")
    page = logged_in.get(f"/integrations/connections/{connection.pk}/disconnect/")
    html = page.content.decode()
    assert 'value="keep"' in html
    assert 'value="remove"' in html
    response = logged_in.post(f"/integrations/connections/{connection.pk}/disconnect/", {})
    assert response.status_code == 200  # the choice is required
    assert Credential.objects.filter(connection=connection).exists()


@responses.activate
def test_disconnect_removing_items_revokes_and_forgets(logged_in, make_connection, signals):
    # given a Todoist connection
    connection = make_connection("todoist")
    responses.post("https://api.todoist.com/api/v1/revoke", body="")
    # when the user disconnects it and removes the synced items
    response = logged_in.post(
        f"/integrations/connections/{connection.pk}/disconnect/", {"keep_items": "remove"}
    )
    # then followers were told first, the grant revoked, the credentials deleted
    assert response.status_code == 302
    assert signals[0] == ("disconnecting", connection.pk, False)
    assert signals[1] == ("status", connection.pk, "connected", "disconnected")
    [call] = responses.calls
    assert "token=at-old" in call.request.body
    assert call.request.headers["Authorization"].startswith("Basic ")
    assert not Credential.objects.filter(connection=connection).exists()
    event = AuditEvent.objects.get(action="connection.disconnected")
    assert event.details == {"service": "todoist", "keep_items": False, "revoked": True}
    assert "at-old" not in str(event.details)


@responses.activate
def test_disconnect_goes_on_when_the_service_has_no_revocation_or_refuses(
    logged_in, make_connection
):
    clickup = make_connection("clickup")
    notion = make_connection("notion")
    responses.post("https://api.notion.com/v1/oauth/revoke", status=500)
    for connection in (clickup, notion):
        logged_in.post(
            f"/integrations/connections/{connection.pk}/disconnect/", {"keep_items": "keep"}
        )
        connection.refresh_from_db()
        assert connection.status == "disconnected"
        assert not Credential.objects.filter(connection=connection).exists()
    assert len(responses.calls) == 1  # only Notion offers revocation
    revoked = dict(
        AuditEvent.objects.filter(action="connection.disconnected").values_list(
            "connection_id", "details__revoked"
        )
    )
    assert revoked == {clickup.pk: False, notion.pk: False}


@responses.activate
def test_reconnect_starts_a_new_flow_for_the_service(logged_in, make_connection):
    connection = make_connection("linear")
    Connection.objects.filter(pk=connection.pk).update(status="needs_reauth")
    response = logged_in.post(f"/integrations/connections/{connection.pk}/reconnect/")
    assert response.status_code == 302
    assert response["Location"].startswith("https://linear.app/oauth/authorize?")
