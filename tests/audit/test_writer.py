"""The one audit writer scrubs secrets and records who, what, where, and whether it worked."""

import pytest
from django.test import RequestFactory

from audit.models import AuditEvent
from audit.writer import REDACTED, record, scrub

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ({"access_token": "ya29.abc"}, {"access_token": REDACTED}),
        ({"refresh_token": "rt"}, {"refresh_token": REDACTED}),
        ({"client_secret": "s"}, {"client_secret": REDACTED}),
        ({"password": "hunter2"}, {"password": REDACTED}),
        ({"app_password": "abcd-efgh"}, {"app_password": REDACTED}),
        ({"code": "4/0AX"}, {"code": REDACTED}),
        ({"Authorization": "Bearer abc"}, {"Authorization": REDACTED}),
        ({"headers": {"X-Signature": "f7bc"}}, {"headers": {"X-Signature": REDACTED}}),
        ({"note": "sent Bearer eyJhbGciOi to the API"}, {"note": f"sent {REDACTED} to the API"}),
        ({"url": "https://x/cb?code=abc&state=1"}, {"url": f"https://x/cb?{REDACTED}&state=1"}),
        (
            {"items": [{"token": "t"}, "Basic dXNlcjpwYXNz"]},
            {"items": [{"token": REDACTED}, REDACTED]},
        ),
        ({"status_code": 401, "service": "notion"}, {"status_code": 401, "service": "notion"}),
        ({"token": ""}, {"token": ""}),
    ],
)
def test_scrub_removes_secrets_and_keeps_the_rest(details, expected):
    assert scrub(details) == expected


def test_record_writes_actor_connection_request_and_scrubbed_details(user, connection):
    request = RequestFactory().post("/x", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="pytest/1")
    request.user = user

    event = record(
        "connection.tested",
        connection=connection,
        request=request,
        resource="todoist:acct-1",
        details={"refresh_token": "rt-123", "attempt": 2},
        success=False,
    )

    event.refresh_from_db()
    assert event.actor == user
    assert event.connection_id == connection.pk
    assert event.connection_label == str(connection)
    assert event.ip_address == "203.0.113.9"
    assert event.user_agent == "pytest/1"
    assert event.details == {"refresh_token": REDACTED, "attempt": 2}
    assert event.success is False


def test_login_logout_and_failed_login_are_audited(client, user):
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    client.post("/accounts/login/", {"username": "alice", "password": "pw-alice-123"})
    client.post("/accounts/logout/")

    actions = list(AuditEvent.objects.order_by("id").values_list("action", "success"))
    assert actions == [
        ("auth.login_failed", False),
        ("auth.login", True),
        ("auth.logout", True),
    ]
    assert "wrong" not in str(AuditEvent.objects.values_list("details", flat=True))


def test_connection_created_updated_deleted_are_audited(connection):
    connection.conflict_resolution = "latest"
    connection.save()
    connection.last_error = "rate limited"
    connection.save(update_fields=["last_error"])  # bookkeeping: not an audited change
    connection_id = connection.pk
    connection.delete()

    events = AuditEvent.objects.filter(connection_id=connection_id).order_by("id")
    assert [e.action for e in events] == [
        "connection.created",
        "connection.updated",
        "connection.deleted",
    ]
    assert all(e.actor_id == connection.user_id for e in events)
