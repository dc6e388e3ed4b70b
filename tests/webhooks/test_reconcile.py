"""Subscriptions follow the connection's settings after connecting, and failed registrations
are retried by beat with backoff (services faked with `responses` at the HTTP seam)."""

from __future__ import annotations

import datetime as dt

import pytest
import responses
import time_machine
from celery.exceptions import MaxRetriesExceededError

from audit.models import AuditEvent
from integrations.providers import http
from webhooks import subscriptions
from webhooks.models import WebhookSubscription

pytestmark = pytest.mark.django_db
Status = WebhookSubscription.Status
GOOGLE = "https://www.googleapis.com/calendar/v3"
GRAPH = "https://graph.microsoft.com/v1.0"
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def public_https(settings):
    settings.PUBLIC_URL = "https://dayflow.example"
    settings.WEBHOOKS_RETRY_BASE_SECONDS = 600


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


@pytest.fixture
def google(make_connection, make_subscription):
    """A Google connection watching its primary calendar."""
    connection = make_connection("google-calendar", field_mapping={"calendars": ["primary"]})
    make_subscription(
        connection,
        remote_id="chan-1",
        resource_id="res-1",
        secret="t",
        resource="primary",
        expires_at=NOW + dt.timedelta(days=6),
    )
    return connection


def watch(mocked, calendar: str, status: int = 200):
    return mocked.post(
        f"{GOOGLE}/calendars/{calendar}/events/watch",
        status=status,
        json={"resourceId": f"res-{calendar}"} if status == 200 else {"error": {"code": status}},
    )


def save_settings(connection, capture, **changes) -> None:
    for name, value in changes.items():
        setattr(connection, name, value)
    with capture(execute=True):
        connection.save()


@time_machine.travel(NOW, tick=False)
def test_a_calendar_picked_after_connecting_gets_watched(
    google, mocked, django_capture_on_commit_callbacks
):
    # given a connection watching "primary", in push mode
    assert subscriptions.delivery_mode(google) == "push"
    work = watch(mocked, "work%40acme.example")
    # when the user adds a calendar in the connection's settings
    google.field_mapping = {"calendars": ["primary", "work@acme.example"]}
    # then, until it is watched, the connection is not all push
    assert subscriptions.delivery_mode(google) == "polling"
    save_settings(google, django_capture_on_commit_callbacks)
    # and once saved, the new calendar has its own live channel and the mode is push again
    assert work.call_count == 1
    live = WebhookSubscription.objects.filter(connection=google, status=Status.ACTIVE)
    assert sorted(live.values_list("resource", flat=True)) == ["primary", "work@acme.example"]
    assert subscriptions.delivery_mode(google) == "push"


@time_machine.travel(NOW, tick=False)
def test_a_calendar_dropped_from_the_settings_is_unwatched(
    google, mocked, django_capture_on_commit_callbacks
):
    watch(mocked, "work%40acme.example")
    stop = mocked.post(f"{GOOGLE}/channels/stop", status=204)
    save_settings(
        google,
        django_capture_on_commit_callbacks,
        field_mapping={"calendars": ["work@acme.example"]},
    )
    assert stop.call_count == 1
    assert WebhookSubscription.objects.get(remote_id="chan-1").status == Status.REMOVED


def test_switching_to_manual_sync_removes_the_subscriptions(
    google, mocked, django_capture_on_commit_callbacks
):
    stop = mocked.post(f"{GOOGLE}/channels/stop", status=204)
    save_settings(google, django_capture_on_commit_callbacks, auto_sync=False)
    assert stop.call_count == 1
    assert not WebhookSubscription.objects.filter(connection=google, status=Status.ACTIVE).exists()


@pytest.mark.parametrize(
    "changes", [{"label": "renamed"}, {"field_mapping": {"calendars": ["primary"]}}]
)
def test_a_save_that_changes_no_watch_setting_calls_nobody(
    google, mocked, django_capture_on_commit_callbacks, changes
):
    save_settings(google, django_capture_on_commit_callbacks, **changes)
    assert len(mocked.calls) == 0


def test_a_paused_connection_keeps_its_subscriptions_when_settings_change(
    google, mocked, django_capture_on_commit_callbacks
):
    google.status = "paused"
    save_settings(google, django_capture_on_commit_callbacks, field_mapping={"calendars": []})
    assert len(mocked.calls) == 0
    assert WebhookSubscription.objects.get(remote_id="chan-1").status == Status.ACTIVE


class TestRetry:
    """A failed registration is retried by beat, later each time."""

    @pytest.fixture
    def failed(self, make_connection, mocked):
        connection = make_connection("outlook")
        mocked.post(f"{GRAPH}/subscriptions", status=503, json={"error": {"code": "busy"}})
        with time_machine.travel(NOW, tick=False):
            [sub] = subscriptions.register(connection)
        mocked.reset()
        return sub

    def test_a_failed_registration_waits_for_its_backoff(self, failed, mocked):
        assert (failed.status, failed.failures) == (Status.FAILED, 1)
        assert failed.retry_at == NOW + dt.timedelta(minutes=10)
        with time_machine.travel(NOW + dt.timedelta(minutes=9), tick=False):
            assert subscriptions.maintain()["retried"] == 0
        assert len(mocked.calls) == 0

    def test_it_is_retried_after_the_backoff_and_goes_live(self, failed, mocked):
        mocked.post(f"{GRAPH}/subscriptions", json={"id": "gs-9"}, status=201)
        with time_machine.travel(NOW + dt.timedelta(minutes=11), tick=False):
            assert subscriptions.maintain()["retried"] == 1
            failed.refresh_from_db()
            assert (failed.status, failed.remote_id, failed.failures) == (Status.ACTIVE, "gs-9", 0)
            assert failed.retry_at is None
            assert WebhookSubscription.objects.count() == 1  # retried in place, not duplicated
            assert subscriptions.delivery_mode(failed.connection) == "push"

    def test_each_failure_doubles_the_wait(self, failed, mocked):
        mocked.post(f"{GRAPH}/subscriptions", status=503, json={"error": {"code": "busy"}})
        later = NOW + dt.timedelta(minutes=11)
        with time_machine.travel(later, tick=False):
            subscriptions.maintain()
        failed.refresh_from_db()
        assert (failed.status, failed.failures) == (Status.FAILED, 2)
        assert failed.retry_at == later + dt.timedelta(minutes=20)
        assert AuditEvent.objects.filter(action="webhook.subscription.create").count() == 2

    def test_a_failed_recreation_leaves_one_row_to_retry(
        self, make_connection, make_subscription, mocked
    ):
        connection = make_connection("outlook")
        old = make_subscription(
            connection, remote_id="gs-1", secret="s", resource="me/events", status=Status.EXPIRED
        )
        mocked.post(f"{GRAPH}/subscriptions", status=503, json={"error": {"code": "busy"}})
        with time_machine.travel(NOW, tick=False):
            subscriptions.maintain()
            subscriptions.maintain()  # beat again before the backoff: nothing new
        old.refresh_from_db()
        assert WebhookSubscription.objects.count() == 1
        assert (old.status, old.failures) == (Status.EXPIRED, 1)
        assert len(mocked.calls) == 1  # one create (a 503 POST is not resent by the client)


def test_a_connection_left_without_subscriptions_is_picked_up_by_beat(
    make_connection, mocked, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(http, "BACKOFF_BASE", 0.001)  # the 500s' retries, without 5 s of sleeps
    # given a ClickUp connection whose workspace lookup failed when it was connected
    clickup = "https://api.clickup.com/api/v2"
    connection = make_connection("clickup", account="183")
    mocked.get(f"{clickup}/team", status=500, json={"err": "down"})
    assert subscriptions.register(connection) == []
    assert not WebhookSubscription.objects.exists()
    # when beat runs once ClickUp answers again
    mocked.replace(responses.GET, f"{clickup}/team", json={"teams": [{"id": "9012345"}]})
    mocked.post(f"{clickup}/team/9012345/webhook", json={"webhook": {"id": "w", "secret": "s"}})
    # (the next beat checks the new webhook's health: https://developer.clickup.com/docs/webhookhealth)
    listing = {"webhooks": [{"id": "w", "health": {"status": "active", "fail_count": 0}}]}
    mocked.get(f"{clickup}/team/9012345/webhook", json=listing)
    # then the connection is subscribed on its workspace
    assert subscriptions.maintain()["adopted"] == 1
    assert WebhookSubscription.objects.get(connection=connection).status == Status.ACTIVE
    assert subscriptions.maintain()["adopted"] == 0


def test_two_reconciliations_of_one_connection_do_not_run_at_once(
    make_connection, mocked, fresh_cache
):
    from django.core.cache import cache

    from webhooks.tasks import register_subscriptions

    # given a reconciliation of this connection already running (its lock held)
    connection = make_connection("outlook")
    cache.add(f"webhooks:reconcile:{connection.pk}", 1)
    # when another one starts, it retries later instead of subscribing again (run eagerly,
    # the retries come at once and run out while the lock is still held)
    result = register_subscriptions.apply(args=[connection.pk])
    assert isinstance(result.result, MaxRetriesExceededError)
    assert len(mocked.calls) == 0
    assert not WebhookSubscription.objects.exists()
    # and once the lock is free it runs
    cache.delete(f"webhooks:reconcile:{connection.pk}")
    mocked.post(f"{GRAPH}/subscriptions", json={"id": "gs-1"}, status=201)
    assert register_subscriptions.apply(args=[connection.pk]).get() == 1
    assert cache.get(f"webhooks:reconcile:{connection.pk}") is None
