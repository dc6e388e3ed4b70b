"""The audit events the rules read, written by the real code paths (and never a secret), and
the alerts the monitoring raises from them."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import time_machine
from cryptography.fernet import Fernet
from rest_framework.test import APIClient

from audit.models import AuditEvent
from dayflow.models import ApiToken
from integrations.crypto import DecryptionError
from integrations.models import Connection, Credential
from integrations.providers.errors import RateLimited, Transient
from integrations.tokens import refresh_access_token
from notifications.models import Kind, Notification
from security.models import SecurityAlert
from security.tasks import check_usage, evaluate
from sync import engine
from sync.models import SyncJob
from tests.integrations.oauth.fixtures import make_connection, no_backoff, oauth_clients
from tests.sync.conftest import fake_provider, remote

__all__ = ["fake_provider", "make_connection", "no_backoff", "oauth_clients", "remote"]
pytestmark = pytest.mark.django_db


def test_forged_oauth_callbacks_raise_an_alert_about_the_person(client, user, oauth_clients):
    # given a person whose session started a connect flow
    client.force_login(user)
    response = client.post("/integrations/google-calendar/connect/")
    assert parse_qs(urlsplit(response["Location"]).query)["state"]
    # when three callbacks arrive with a state this session never issued
    for n in range(3):
        client.get("/integrations/google-calendar/callback/", {"code": "c", "state": f"forged-{n}"})
    evaluate()
    # then one alert about them, and their notice
    alert = SecurityAlert.objects.get()
    assert (alert.rule, alert.user) == ("oauth_state_mismatches", user)
    assert alert.details["mismatches"] == 3
    notice = Notification.objects.get(kind=Kind.SECURITY)
    assert notice.title == "Connect links that were not yours"


@responses.activate
def test_a_failed_token_refresh_is_audited_without_the_tokens(make_connection):
    connection = make_connection("todoist")
    responses.post("https://api.todoist.com/oauth/access_token", status=503, body="down")
    with pytest.raises(Transient):
        refresh_access_token(connection, failed_token="at-old")
    event = AuditEvent.objects.get(action="connection.token_refresh_failed")
    assert (event.connection_id, event.actor, event.success) == (
        connection.pk,
        connection.user,
        False,
    )
    assert "rt-old" not in str(event.details)
    assert "at-old" not in str(event.details)


def test_three_failed_refreshes_within_the_hour_raise_one_alert(connection):
    from audit.writer import record

    for _ in range(4):
        record(
            "connection.token_refresh_failed",
            actor=connection.user,
            connection=connection,
            details={"error": "token endpoint answered 503"},
            success=False,
        )
    evaluate()
    alert = SecurityAlert.objects.get()
    assert (alert.rule, alert.connection_id, alert.user) == (
        "refresh_failures",
        connection.pk,
        connection.user,
    )


def test_a_decrypt_failure_is_audited_once_a_minute_without_the_ciphertext(
    connection, settings, fresh_cache
):
    settings.DAYFLOW_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    Credential.objects.create(connection=connection, access_token="at-lost-secret")
    settings.DAYFLOW_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    for _ in range(3):
        with pytest.raises(DecryptionError):
            Credential.objects.get()
    event = AuditEvent.objects.get(action="crypto.decrypt_failed")
    assert event.details == {"where": "integrations.Credential.access_token"}
    evaluate()
    alert = SecurityAlert.objects.get()
    assert (alert.rule, alert.severity, alert.user) == ("decrypt_failures", "critical", None)


def test_a_token_used_from_a_new_address_alerts_its_owner(user, fresh_cache):
    _, secret = ApiToken.objects.create(user=user, expiry=None, name="laptop")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    for address in ("192.0.2.1", "192.0.2.1", "192.0.2.1"):
        assert api.get("/api/tokens", REMOTE_ADDR=address).status_code == 200
    evaluate()
    assert not SecurityAlert.objects.exists()  # the token's first address is its normal

    api.get("/api/tokens", REMOTE_ADDR="198.51.100.7")
    evaluate()

    used = AuditEvent.objects.filter(action="api_token.used_from_new_ip")
    assert [(e.ip_address, e.channel, e.actor) for e in used] == [
        ("198.51.100.7", "api: laptop", user)
    ]
    assert secret not in str([e.details for e in used])
    alert = SecurityAlert.objects.get()
    assert (alert.rule, alert.user, alert.ip_address) == ("api_token_new_ip", user, "198.51.100.7")
    notice = Notification.objects.get(kind=Kind.SECURITY)
    assert "laptop" in notice.title
    assert "198.51.100.7" in notice.body


def test_a_rate_limited_sync_is_audited(connection, fake_provider):
    fake_provider.fail_next("pull", RateLimited("slow down", retry_after=42))
    job = SyncJob.objects.create(connection=connection)
    engine.run_job(job.pk)
    event = AuditEvent.objects.get(action="sync.job.rate_limited")
    assert (event.connection_id, event.details) == (connection.pk, {"retry_after": 42.0})


def test_a_mass_deletion_held_alerts_staff_only(connection):
    from audit.writer import record

    record(
        "sync.job.needs_confirmation",
        connection=connection,
        resource="sync job 3",
        details={"counters": {"local_deleted": 120}},
    )
    evaluate()
    alert = SecurityAlert.objects.get()
    assert (alert.rule, alert.user, alert.details["deletions"]) == (
        "mass_deletion_held",
        connection.user,
        120,
    )
    assert not Notification.objects.filter(kind=Kind.SECURITY).exists()


def _synced(connection, at, calls: int) -> None:
    SyncJob.objects.create(
        connection=connection, status=SyncJob.Status.SUCCEEDED, finished_at=at, api_calls=calls
    )


NOW = dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.UTC)


def test_a_connection_far_above_its_own_normal_raises_one_alert(connection):
    # given five days of 2,400 calls (100 an hour), then 3,000 in the last hour
    for days in range(1, 6):
        _synced(connection, NOW - dt.timedelta(days=days), 2400)
    _synced(connection, NOW - dt.timedelta(minutes=20), 3000)
    # when the hourly check runs
    with time_machine.travel(NOW, tick=False):
        assert check_usage() == 1
    # then one alert about the connection, told to its owner
    alert = SecurityAlert.objects.get()
    assert (alert.rule, alert.connection_id, alert.user) == (
        "usage_spike",
        connection.pk,
        connection.user,
    )
    assert alert.details["api_calls_last_hour"] == 3000
    notice = Notification.objects.get(kind=Kind.SECURITY)
    assert notice.connection == connection
    assert "made 3000 requests" in notice.body


def test_a_connection_busy_as_usual_or_without_history_raises_nothing(connection, other_user):
    for days in range(1, 6):
        _synced(connection, NOW - dt.timedelta(days=days), 48_000)
    _synced(connection, NOW - dt.timedelta(minutes=20), 3000)
    young = Connection.objects.create(
        user=other_user, service=connection.service, external_account_id="new", label="new"
    )
    _synced(young, NOW - dt.timedelta(days=1), 24)
    _synced(young, NOW - dt.timedelta(minutes=5), 5000)
    with time_machine.travel(NOW, tick=False):
        assert check_usage() == 0
    assert not SecurityAlert.objects.exists()


def test_rate_limits_far_above_normal_raise_an_alert(connection):
    from audit.writer import record

    for days in range(1, 5):
        _synced(connection, NOW - dt.timedelta(days=days), 2400)
    with time_machine.travel(NOW - dt.timedelta(minutes=30), tick=False):
        for _ in range(8):
            record("sync.job.rate_limited", connection=connection, success=False)
    with time_machine.travel(NOW, tick=False):
        assert check_usage() == 1
    assert SecurityAlert.objects.get().details["rate_limited_last_hour"] == 8
