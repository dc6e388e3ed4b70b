"""A registrar parses the service's answer at the edge: an answer without what the service
documents is a typed error (`UnexpectedPayload`, `Permanent`), and the lifecycle records it on
the subscription and retries later, instead of a KeyError escaping from deep inside."""

from __future__ import annotations

import pytest
import responses

from audit.models import AuditEvent
from integrations.signals import connection_connected
from webhooks import subscriptions
from webhooks.models import WebhookSubscription

pytestmark = pytest.mark.django_db
Status = WebhookSubscription.Status
CLICKUP = "https://api.clickup.com/api/v2"
LINEAR = "https://api.linear.app/graphql"
GOOGLE = "https://www.googleapis.com/calendar/v3"
GRAPH = "https://graph.microsoft.com/v1.0"


@pytest.fixture(autouse=True)
def public_https(settings):
    settings.PUBLIC_URL = "https://dayflow.example"


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


def connect(connection, django_capture_on_commit_callbacks) -> WebhookSubscription:
    with django_capture_on_commit_callbacks(execute=True):
        connection_connected.send(sender=type(connection), connection=connection, created=True)
    return WebhookSubscription.objects.get(connection=connection)


def failed_creation() -> AuditEvent:
    return AuditEvent.objects.get(action="webhook.subscription.create", success=False)


@pytest.mark.parametrize(
    ("service", "fields", "url", "answer", "error"),
    [
        (
            "clickup",
            {"field_mapping": {"team_id": "9012345"}},
            f"{CLICKUP}/team/9012345/webhook",
            {"webhook": {"id": "wh-1"}},  # no secret: deliveries could never be verified
            "UnexpectedPayload: clickup: unexpected payload: field 'secret' (missing)",
        ),
        (
            "google-calendar",
            {},
            f"{GOOGLE}/calendars/primary/events/watch",
            {"kind": "api#channel"},  # no resourceId: the channel could never be stopped
            "UnexpectedPayload: google-calendar: unexpected payload: field 'resourceId' (missing)",
        ),
        (
            "outlook",
            {},
            f"{GRAPH}/subscriptions",
            {"expirationDateTime": "2026-11-28T10:00:00Z"},  # no id: it could never be renewed
            "UnexpectedPayload: outlook: unexpected payload: field 'id' (missing)",
        ),
        (
            "outlook",
            {},
            f"{GRAPH}/subscriptions",
            {"id": "gs-1", "expirationDateTime": "soon"},
            "UnexpectedPayload: outlook: unexpected payload: field 'expirationDateTime' "
            "(not an ISO datetime: 'soon')",
        ),
    ],
    ids=["clickup-no-secret", "google-no-resource-id", "graph-no-id", "graph-bad-expiry"],
)
def test_an_answer_without_what_the_service_documents_fails_the_registration(
    make_connection, mocked, django_capture_on_commit_callbacks, service, fields, url, answer, error
):
    # given a connection whose service answers the registration without a documented field
    connection = make_connection(service, **fields)
    mocked.post(url, json=answer)
    # when it is connected
    sub = connect(connection, django_capture_on_commit_callbacks)
    # then the subscription failed with a typed error naming the field, and is retried later
    assert (sub.status, sub.last_error) == (Status.FAILED, error)
    assert sub.retry_at is not None
    assert failed_creation().details["error"] == error


def test_linear_s_unsuccessful_webhook_create_is_a_permanent_error(
    make_connection, mocked, django_capture_on_commit_callbacks
):
    connection = make_connection("linear", field_mapping={"team_id": "team-1"})
    connection.credential.scopes = "read,write,admin"
    connection.credential.save()
    mocked.post(LINEAR, json={"data": {"webhookCreate": {"success": False, "webhook": None}}})

    sub = connect(connection, django_capture_on_commit_callbacks)

    assert sub.status == Status.FAILED
    assert sub.last_error == "Permanent: linear: webhookCreate did not succeed"


def test_linear_s_organization_answer_without_an_id_leaves_the_connection_polling(
    make_connection, mocked, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_LINEAR_APP_SECRET = "app-secret"
    connection = make_connection("linear")
    connection.credential.scopes = "read,write"
    connection.credential.save()
    mocked.post(LINEAR, json={"data": {"organization": None}})

    with django_capture_on_commit_callbacks(execute=True):
        connection_connected.send(sender=type(connection), connection=connection, created=True)

    assert not WebhookSubscription.objects.filter(connection=connection).exists()
    assert subscriptions.delivery_mode(connection) == "polling"


def test_clickup_s_teams_answer_without_teams_subscribes_nothing(make_connection, mocked):
    connection = make_connection("clickup", account="183")
    mocked.get(f"{CLICKUP}/team", json={"error": "none"})

    assert subscriptions.register(connection) == []
    assert not WebhookSubscription.objects.filter(connection=connection).exists()


def test_a_malformed_clickup_health_answer_keeps_the_webhook(
    make_connection, make_subscription, mocked
):
    connection = make_connection("clickup", account="183", field_mapping={"team_id": "9012345"})
    sub = make_subscription(connection, remote_id="wh-1", secret="s", resource="9012345")
    mocked.get(f"{CLICKUP}/team/9012345/webhook", json={"webhooks": [{"id": "wh-1", "health": 3}]})

    counts = subscriptions.maintain()

    assert (counts["checked"], counts["recreated"]) == (1, 0)
    sub.refresh_from_db()
    assert sub.status == Status.ACTIVE
