"""Evaluation end to end: audit events written by the real code paths → `security.evaluate` →
alerts, the person's notice and the staff email, each once."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.signals import user_login_failed
from django.core import mail

from audit.activity import Filters, timeline
from audit.models import AuditEvent
from audit.writer import record
from integrations.models import Credential, Service
from notifications.models import Kind, Notification
from security import evaluate as evaluation
from security import tasks
from security.models import SecurityAlert, Watermark
from tests.webhooks.helpers import fixture, hex_hmac, meta, raw
from webhooks.models import WebhookSubscription

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
SECRET = "clickup-webhook-secret"


@pytest.fixture
def evaluate(django_capture_on_commit_callbacks):
    """One run of the beat task, its after-commit work (the staff email) done."""

    def run() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return tasks.evaluate.delay().get()

    return run


@pytest.fixture
def sub(user):
    from integrations.models import Connection

    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="clickup"),
        external_account_id="9012345",
        label="alice@clickup",
    )
    return WebhookSubscription.objects.create(
        service=connection.service,
        connection=connection,
        remote_id="wh-1",
        secret=SECRET,
        status=WebhookSubscription.Status.ACTIVE,
    )


def forge(client, sub, times: int, ip: str = "203.0.113.9") -> None:
    body = raw({**fixture("clickup", "taskUpdated"), "task_id": "task-1"})
    forged = meta({"X-Signature": hex_hmac("guess", body)})
    for _ in range(times):
        response = client.post(
            f"/api/webhooks/clickup/{sub.public_id}/",
            body,
            content_type="application/json",
            REMOTE_ADDR=ip,
            **forged,
        )
        assert response.status_code == 401


def test_a_burst_of_forged_webhooks_raises_one_alert_and_emails_staff_once(
    client, sub, evaluate, fresh_cache
):
    # given a source posting seven forged deliveries (no alert in the request)
    forge(client, sub, 7)
    assert not SecurityAlert.objects.exists()
    # when the monitoring runs, twice
    assert evaluate() == 1
    forge(client, sub, 2)
    evaluate()
    # then one alert names the source, and staff got one email
    [alert] = SecurityAlert.objects.all()
    assert (alert.rule, alert.severity, alert.ip_address) == (
        "signature_failures",
        "high",
        "203.0.113.9",
    )
    assert alert.count == 1
    assert alert.details["failures"] == 5
    [email] = mail.outbox
    assert email.to == ["ops@example.com"]
    assert "signature_failures" in email.subject
    assert "203.0.113.9" in email.body
    assert SECRET not in email.body
    assert AuditEvent.objects.filter(action="security.alert.raised").count() == 1


def test_a_second_burst_counts_in_the_open_alert_without_another_email(
    client, sub, evaluate, fresh_cache
):
    forge(client, sub, 5)
    evaluate()
    forge(client, sub, 5)
    evaluate()
    [alert] = SecurityAlert.objects.all()
    assert alert.count == 2
    assert len(mail.outbox) == 1


def test_failures_below_the_threshold_raise_nothing(client, sub, evaluate, fresh_cache):
    forge(client, sub, 2, ip="203.0.113.1")
    forge(client, sub, 2, ip="203.0.113.2")
    evaluate()
    assert not SecurityAlert.objects.exists()
    assert not mail.outbox


def test_a_burst_split_across_two_runs_is_still_one_burst(client, sub, evaluate, fresh_cache):
    forge(client, sub, 3)
    evaluate()
    forge(client, sub, 2)
    evaluate()
    assert SecurityAlert.objects.get().details["failures"] == 5


def test_evaluation_reads_a_bounded_batch_and_carries_on_from_its_watermark(
    evaluate, settings, user
):
    settings.SECURITY_EVALUATE_BATCH = 3
    for _ in range(5):
        record("auth.logout", actor=user)
    evaluate()
    first = Watermark.objects.get().last_event_id
    evaluate()
    assert (
        Watermark.objects.get().last_event_id
        == first + 2
        == AuditEvent.objects.order_by("id").last().id
    )


def _fail_login(username: str) -> None:
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=None)


def test_five_failed_sign_ins_raise_one_alert_and_the_persons_notice(user, evaluate):
    with time_machine.travel(T0, tick=True):
        for _ in range(4):
            _fail_login("alice")
        evaluate()
        assert not Notification.objects.exists()
        _fail_login("alice")
        _fail_login("alice")
        evaluate()
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=True):
        for _ in range(4):
            _fail_login("alice")
        evaluate()

    [alert] = SecurityAlert.objects.all()
    assert (alert.rule, alert.user) == ("login_failures", user)
    [notice] = Notification.objects.filter(kind=Kind.SECURITY)
    assert notice.user == user
    assert notice.title == "Repeated failed sign-ins"
    assert "5 times within 15 minutes" in notice.body
    # the person's timeline shows it, through the notice
    entries = timeline(user, Filters(kind="security")).entries
    assert [entry.title for entry in entries] == ["Repeated failed sign-ins"]


def test_failed_sign_ins_for_a_name_nobody_has_notify_nobody(user, evaluate):
    for _ in range(6):
        _fail_login("mallory")
    evaluate()
    assert not Notification.objects.exists()
    assert not SecurityAlert.objects.exists()


def test_a_lockout_alerts_the_person(user, evaluate):
    record("auth.locked_out", details={"username": "alice"}, success=False)
    evaluate()
    alert = SecurityAlert.objects.get(rule="locked_out")
    assert alert.user == user
    assert (
        Notification.objects.get(kind=Kind.SECURITY).title == "Sign-ins to your account were locked"
    )


def test_a_revoked_grant_alerts_staff_but_leaves_the_person_their_reconnect_notice(
    connection, evaluate
):
    from integrations.tokens import mark_needs_reauth

    mark_needs_reauth(connection, "the service refused the refresh token (invalid_grant)")
    evaluate()
    alert = SecurityAlert.objects.get(rule="grant_revoked")
    assert (alert.user, alert.connection_id) == (connection.user, connection.pk)
    assert not Notification.objects.filter(kind=Kind.SECURITY).exists()
    assert Notification.objects.filter(kind=Kind.RECONNECT).count() == 1
    [email] = mail.outbox  # staff's (the person's reconnect email waits for a real commit)
    assert email.to == ["ops@example.com"]


def test_a_credential_deleted_in_the_admin_alerts_its_owner(
    client, connection, django_user_model, evaluate
):
    Credential.objects.create(connection=connection, access_token="secret-token-123")
    staff = django_user_model.objects.create_superuser("staff", "staff@example.com", "pw-staff-1")
    client.force_login(staff)
    credential = Credential.objects.get()
    response = client.post(
        f"/admin/integrations/credential/{credential.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    evaluate()
    alert = SecurityAlert.objects.get(rule="credential_admin_action")
    assert (alert.user, alert.connection_id) == (connection.user, connection.pk)
    assert alert.details == {"what": "deleted", "staff_id": staff.pk}
    assert "secret-token-123" not in str(alert.details)


def test_staff_acknowledge_alerts_in_the_admin_and_a_repeat_opens_a_new_one(
    client, django_user_model, evaluate, fresh_cache, sub
):
    forge(client, sub, 5)
    evaluate()
    alert = SecurityAlert.objects.get()
    staff = django_user_model.objects.create_superuser("staff", "staff@example.com", "pw-staff-1")
    client.force_login(staff)
    listing = client.get("/admin/security/securityalert/?acknowledged=no&severity=high")
    assert listing.status_code == 200
    assert "signature_failures" in listing.text

    response = client.post(
        "/admin/security/securityalert/",
        {"action": "acknowledge", "_selected_action": [alert.pk]},
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == staff
    assert alert.acknowledged_at is not None
    assert client.get(f"/admin/security/securityalert/{alert.pk}/change/").status_code == 200
    assert AuditEvent.objects.filter(action="security.alert.acknowledged", actor=staff).exists()

    forge(client, sub, 5, ip="203.0.113.9")
    evaluate()
    assert SecurityAlert.objects.count() == 2
    assert len(mail.outbox) == 2


def test_the_admin_list_costs_the_same_queries_for_more_alerts(
    admin_client, django_assert_max_num_queries, user
):
    def add(n: int) -> None:
        for i in range(n):
            SecurityAlert.objects.create(
                rule="login_failures",
                severity="medium",
                subject_key=f"user:{i}-{n}",
                first_seen=T0,
                last_seen=T0,
                user=user,
                acknowledged_by=user if i % 2 else None,
                acknowledged_at=T0 if i % 2 else None,
            )

    add(2)
    with django_assert_max_num_queries(12) as few:
        admin_client.get("/admin/security/securityalert/")
    add(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get("/admin/security/securityalert/")
    assert response.status_code == 200
    assert response.text.count("alice") >= 22


def test_alerts_last_seen_over_a_year_ago_are_deleted(user):
    def alert(last_seen: dt.datetime, key: str) -> SecurityAlert:
        return SecurityAlert.objects.create(
            rule="login_failures",
            severity="medium",
            subject_key=key,
            first_seen=last_seen,
            last_seen=last_seen,
            user=user,
        )

    old = alert(T0, "old")
    recent = alert(T0 + dt.timedelta(days=300), "recent")
    with time_machine.travel(T0 + dt.timedelta(days=366)):
        assert tasks.delete_old_alerts.delay().get() == 1
    assert list(SecurityAlert.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not SecurityAlert.objects.filter(pk=old.pk).exists()


def test_retention_follows_its_setting(user, settings):
    settings.SECURITY_ALERT_RETENTION_DAYS = 30
    SecurityAlert.objects.create(
        rule="locked_out", severity="high", subject_key="k", first_seen=T0, last_seen=T0
    )
    with time_machine.travel(T0 + dt.timedelta(days=29)):
        assert tasks.delete_old_alerts() == 0
    with time_machine.travel(T0 + dt.timedelta(days=31)):
        assert tasks.delete_old_alerts() == 1


def test_alert_details_are_scrubbed_and_bounded():
    assert evaluation.bounded({"refresh_token": "abc", "n": 1}) == {
        "refresh_token": "[redacted]",
        "n": 1,
    }
    assert evaluation.bounded({"huge": "x" * 5000}) == {"truncated": True}


def test_events_younger_than_the_lag_wait_for_the_next_run(user, evaluate, settings):
    settings.SECURITY_EVALUATE_LAG_SECONDS = 10
    with time_machine.travel(T0, tick=False):
        record("auth.locked_out", details={"username": "alice"}, success=False)
        evaluate()
    assert not SecurityAlert.objects.exists()
    with time_machine.travel(T0 + dt.timedelta(seconds=11), tick=False):
        evaluate()
    assert SecurityAlert.objects.get().rule == "locked_out"
