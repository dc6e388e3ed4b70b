"""Subscription lifecycle at the services' APIs (faked with `responses` at the HTTP seam):
registered on connect, removed on disconnect, renewed before expiry, recreated when dropped."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import responses
import time_machine
from responses import matchers

from audit.models import AuditEvent
from integrations.signals import connection_connected, connection_disconnecting
from webhooks import subscriptions
from webhooks.models import WebhookSubscription

pytestmark = pytest.mark.django_db
Status = WebhookSubscription.Status
CLICKUP = "https://api.clickup.com/api/v2"
LINEAR = "https://api.linear.app/graphql"
GOOGLE = "https://www.googleapis.com/calendar/v3"
GRAPH = "https://graph.microsoft.com/v1.0"
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def public_https(settings):
    settings.PUBLIC_URL = "https://dayflow.example"


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


def connect(connection, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        connection_connected.send(sender=type(connection), connection=connection, created=True)


def sent(call) -> dict:
    return json.loads(call.request.body)


# The OAuth backend stores ClickUp's *user* id as the account; webhooks live on a workspace.
CLICKUP_USER = "183"
TEAMS = {"teams": [{"id": "9012345", "name": "Acme", "members": [{"user": {"id": 183}}]}]}


def test_clickup_is_registered_on_connect_with_the_secret_it_returns(
    make_connection, mocked, django_capture_on_commit_callbacks
):
    # given a new ClickUp connection of user 183, who authorized one workspace (team 9012345)
    connection = make_connection("clickup", account=CLICKUP_USER)
    teams = mocked.get(f"{CLICKUP}/team", json=TEAMS)
    create = mocked.post(
        f"{CLICKUP}/team/9012345/webhook",
        json={"id": "4b67ac88", "webhook": {"id": "4b67ac88", "secret": "from-clickup"}},
    )
    # when the connection is made
    connect(connection, django_capture_on_commit_callbacks)
    # then a webhook pointing at the subscription's own URL is live, keyed with ClickUp's secret
    sub = WebhookSubscription.objects.get(connection=connection)
    assert (sub.status, sub.remote_id, sub.secret) == (Status.ACTIVE, "4b67ac88", "from-clickup")
    assert (teams.call_count, sub.resource) == (1, "9012345")
    body = sent(create.calls[0])
    assert body["endpoint"] == f"https://dayflow.example/api/webhooks/clickup/{sub.public_id}/"
    assert "taskUpdated" in body["events"]
    assert create.calls[0].request.headers["Authorization"].endswith("token-clickup")
    assert AuditEvent.objects.filter(action="webhook.subscription.created").count() == 1
    assert subscriptions.delivery_mode(connection) == "push"


def test_clickup_uses_the_team_id_setting_without_asking(
    make_connection, mocked, django_capture_on_commit_callbacks
):
    connection = make_connection(
        "clickup", account=CLICKUP_USER, field_mapping={"team_id": "777", "list_id": "L1"}
    )
    create = mocked.post(
        f"{CLICKUP}/team/777/webhook", json={"webhook": {"id": "w", "secret": "s"}}
    )
    connect(connection, django_capture_on_commit_callbacks)
    assert create.call_count == 1
    assert sent(create.calls[0])["list_id"] == "L1"
    assert WebhookSubscription.objects.get(connection=connection).resource == "777"


def test_clickup_with_several_workspaces_and_no_team_id_stays_on_polling(
    make_connection, mocked, django_capture_on_commit_callbacks
):
    connection = make_connection("clickup", account=CLICKUP_USER)
    mocked.get(f"{CLICKUP}/team", json={"teams": [{"id": "1"}, {"id": "2"}]})
    connect(connection, django_capture_on_commit_callbacks)
    assert not WebhookSubscription.objects.exists()
    assert len(mocked.calls) == 1  # only the Authorized Teams lookup, no POST to a user id
    assert subscriptions.delivery_mode(connection) == "polling"


def test_linear_is_registered_with_a_signing_secret_we_choose(
    make_connection, mocked, django_capture_on_commit_callbacks
):
    connection = make_connection("linear", account="org-1", field_mapping={"team_id": "team-9"})
    connection.credential.scopes = "read,write,admin"  # webhookCreate needs admin
    connection.credential.save()
    create = mocked.post(
        LINEAR,
        json={"data": {"webhookCreate": {"success": True, "webhook": {"id": "lw-1"}}}},
    )
    connect(connection, django_capture_on_commit_callbacks)
    sub = WebhookSubscription.objects.get(connection=connection)
    variables = sent(create.calls[0])["variables"]["input"]
    assert variables["secret"] == sub.secret
    assert len(sub.secret) >= 32
    assert variables["teamId"] == "team-9"
    assert variables["resourceTypes"] == ["Issue"]
    assert variables["url"].endswith(f"/api/webhooks/linear/{sub.public_id}/")
    assert (sub.status, sub.remote_id) == (Status.ACTIVE, "lw-1")


def test_a_graphql_error_leaves_a_failed_subscription_and_polling(
    make_connection, mocked, django_capture_on_commit_callbacks
):
    connection = make_connection("linear", account="org-1")
    connection.credential.scopes = "read write admin"
    connection.credential.save()
    mocked.post(LINEAR, json={"errors": [{"message": "Webhook URL must be https"}]})
    connect(connection, django_capture_on_commit_callbacks)
    sub = WebhookSubscription.objects.get(connection=connection)
    assert sub.status == Status.FAILED
    assert "must be https" in sub.last_error
    assert AuditEvent.objects.filter(action="webhook.subscription.create", success=False).exists()
    assert subscriptions.delivery_mode(connection) == "polling"


@time_machine.travel(NOW, tick=False)
def test_google_watches_each_calendar_with_our_channel_token(
    make_connection, mocked, django_capture_on_commit_callbacks
):
    connection = make_connection(
        "google-calendar", account="alice", field_mapping={"calendars": ["primary", "a@b.c"]}
    )
    expiry_ms = int((NOW + dt.timedelta(days=7)).timestamp() * 1000)
    for calendar in ("primary", "a%40b.c"):
        mocked.post(
            f"{GOOGLE}/calendars/{calendar}/events/watch",
            json={
                "kind": "api#channel",
                "resourceId": f"res-{calendar}",
                "expiration": str(expiry_ms),
            },
        )
    connect(connection, django_capture_on_commit_callbacks)
    subs = {s.resource: s for s in WebhookSubscription.objects.filter(connection=connection)}
    assert set(subs) == {"primary", "a@b.c"}
    body = sent(mocked.calls[0])
    sub = subs["primary"]
    assert (body["id"], body["token"], body["type"]) == (sub.remote_id, sub.secret, "web_hook")
    assert sub.resource_id == "res-primary"
    assert sub.expires_at == NOW + dt.timedelta(days=7)


@time_machine.travel(NOW, tick=False)
def test_graph_subscription_lifetime_is_a_setting(
    make_connection, mocked, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_GRAPH_MAX_MINUTES = 10_070
    connection = make_connection("outlook", account="alice@contoso.com")
    create = mocked.post(f"{GRAPH}/subscriptions", json={"id": "gs-1"}, status=201)
    connect(connection, django_capture_on_commit_callbacks)
    body = sent(create.calls[0])
    sub = WebhookSubscription.objects.get(connection=connection)
    assert body["expirationDateTime"] == "2026-12-02T11:49:00Z"  # 10,069 minutes from now
    assert body["clientState"] == sub.secret
    assert body["lifecycleNotificationUrl"] == body["notificationUrl"]
    assert body["resource"] == "me/events"
    assert sub.expires_at == NOW + dt.timedelta(minutes=10_069)


@pytest.mark.parametrize(
    ("key", "fields", "public_url"),
    [
        ("notion", {}, "https://dayflow.example"),  # set up in Notion's console
        ("todoist", {}, "https://dayflow.example"),  # set up in Todoist's console
        ("clickup", {"sync_direction": "manual"}, "https://dayflow.example"),
        ("clickup", {"auto_sync": False}, "https://dayflow.example"),
        ("clickup", {}, "http://127.0.0.1:8000"),  # the services refuse plain HTTP
    ],
)
def test_nothing_is_registered_when_the_service_or_settings_do_not_allow_it(
    make_connection, mocked, settings, key, fields, public_url, django_capture_on_commit_callbacks
):
    settings.PUBLIC_URL = public_url
    connection = make_connection(key, **fields)
    connect(connection, django_capture_on_commit_callbacks)
    assert not WebhookSubscription.objects.exists()
    assert len(mocked.calls) == 0


def test_reconnecting_does_not_register_twice(make_connection, make_subscription, mocked):
    connection = make_connection(
        "clickup", account=CLICKUP_USER, field_mapping={"team_id": "9012345"}
    )
    make_subscription(connection, remote_id="old", secret="s", resource="9012345")
    assert subscriptions.register(connection) == []
    assert len(mocked.calls) == 0


@pytest.mark.parametrize(
    ("key", "method", "endpoint", "fields"),
    [
        ("clickup", "DELETE", f"{CLICKUP}/webhook/wh-1", {}),
        ("linear", "POST", LINEAR, {}),
        ("google-calendar", "POST", f"{GOOGLE}/channels/stop", {"resource_id": "res-1"}),
        ("outlook", "DELETE", f"{GRAPH}/subscriptions/wh-1", {}),
    ],
)
def test_subscriptions_are_removed_on_disconnect(
    make_connection, make_subscription, mocked, key, method, endpoint, fields
):
    # given a live subscription
    connection = make_connection(key)
    sub = make_subscription(connection, remote_id="wh-1", secret="s", **fields)
    reply = {"data": {"webhookDelete": {"success": True}}} if key == "linear" else None
    removal = mocked.add(method, endpoint, json=reply, status=200 if reply else 204)
    # when the connection is about to be disconnected (its token still works)
    connection_disconnecting.send(sender=type(connection), connection=connection, keep_items=True)
    # then the service is told and the row is marked removed
    assert removal.call_count == 1
    if key == "google-calendar":
        assert sent(removal.calls[0]) == {"id": "wh-1", "resourceId": "res-1"}
    if key == "linear":
        assert sent(removal.calls[0])["variables"] == {"id": "wh-1"}
    sub.refresh_from_db()
    assert sub.status == Status.REMOVED
    assert AuditEvent.objects.filter(action="webhook.subscription.removed").count() == 1


def test_removal_failures_do_not_block_the_disconnect(make_connection, make_subscription, mocked):
    connection = make_connection("clickup")
    sub = make_subscription(connection, remote_id="wh-1", secret="s")
    mocked.delete(f"{CLICKUP}/webhook/wh-1", status=403, json={"err": "Team not authorized"})
    subscriptions.remove_all(connection)
    sub.refresh_from_db()
    assert sub.status == Status.REMOVED
    assert sub.last_error


class TestRenewal:
    """The beat task renews before expiry; the clock is frozen and moved."""

    @pytest.fixture
    def graph_sub(self, make_connection, make_subscription):
        connection = make_connection("outlook")
        return make_subscription(
            connection,
            remote_id="gs-1",
            secret="s",
            resource="me/events",
            expires_at=NOW + dt.timedelta(days=2),
        )

    def test_not_renewed_while_far_from_expiry(self, graph_sub, mocked):
        with time_machine.travel(NOW + dt.timedelta(hours=35), tick=False):
            assert subscriptions.maintain()["renewed"] == 0
        assert len(mocked.calls) == 0

    def test_graph_is_renewed_before_it_expires(self, graph_sub, mocked):
        renewed_until = "2026-11-30T10:00:00Z"
        patch = mocked.patch(
            f"{GRAPH}/subscriptions/gs-1", json={"id": "gs-1", "expirationDateTime": renewed_until}
        )
        # when beat runs 11 hours before the subscription lapses (margin: 12 hours)
        with time_machine.travel(NOW + dt.timedelta(hours=37), tick=False):
            assert subscriptions.maintain()["renewed"] == 1
        assert patch.call_count == 1
        assert "expirationDateTime" in sent(patch.calls[0])
        graph_sub.refresh_from_db()
        assert graph_sub.expires_at == dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC)
        assert graph_sub.status == Status.ACTIVE
        assert AuditEvent.objects.filter(action="webhook.subscription.renewed").count() == 1

    def test_a_graph_subscription_gone_at_the_service_is_recreated(self, graph_sub, mocked):
        mocked.patch(f"{GRAPH}/subscriptions/gs-1", status=404, json={"error": {"code": "x"}})
        mocked.post(f"{GRAPH}/subscriptions", json={"id": "gs-2"}, status=201)
        mocked.delete(f"{GRAPH}/subscriptions/gs-1", status=404)
        with time_machine.travel(NOW + dt.timedelta(hours=40), tick=False):
            subscriptions.maintain()
        graph_sub.refresh_from_db()
        assert graph_sub.status == Status.REMOVED
        assert WebhookSubscription.objects.get(remote_id="gs-2").status == Status.ACTIVE

    def test_a_google_channel_is_replaced_and_the_old_one_stopped(
        self, make_connection, make_subscription, mocked
    ):
        connection = make_connection("google-calendar")
        old = make_subscription(
            connection,
            remote_id="chan-old",
            resource_id="res-1",
            secret="t",
            resource="primary",
            expires_at=NOW + dt.timedelta(hours=6),
        )
        watch = mocked.post(
            f"{GOOGLE}/calendars/primary/events/watch", json={"resourceId": "res-1"}
        )
        stop = mocked.post(
            f"{GOOGLE}/channels/stop",
            status=204,
            match=[matchers.json_params_matcher({"id": "chan-old", "resourceId": "res-1"})],
        )
        with time_machine.travel(NOW, tick=False):
            subscriptions.maintain()
        assert (watch.call_count, stop.call_count) == (1, 1)
        old.refresh_from_db()
        assert old.status == Status.REMOVED
        fresh = WebhookSubscription.objects.get(connection=connection, status=Status.ACTIVE)
        assert fresh.remote_id != "chan-old"
        assert fresh.expires_at > NOW + dt.timedelta(days=6)

    def test_subscriptions_of_paused_connections_are_left_alone(self, graph_sub, mocked):
        graph_sub.connection.status = "paused"
        graph_sub.connection.save(update_fields=["status"])
        with time_machine.travel(NOW + dt.timedelta(hours=40), tick=False):
            assert subscriptions.maintain()["renewed"] == 0

    def test_the_beat_task_is_scheduled(self, settings):
        tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
        assert "webhooks.renew_subscriptions" in tasks


def test_a_clickup_webhook_suspended_by_clickup_is_recreated(
    make_connection, make_subscription, mocked
):
    connection = make_connection(
        "clickup", account=CLICKUP_USER, field_mapping={"team_id": "9012345"}
    )
    old = make_subscription(connection, remote_id="wh-1", secret="s", resource="9012345")
    mocked.get(
        f"{CLICKUP}/team/9012345/webhook",
        json={"webhooks": [{"id": "wh-1", "health": {"status": "suspended", "fail_count": 100}}]},
    )
    mocked.post(f"{CLICKUP}/team/9012345/webhook", json={"webhook": {"id": "wh-2", "secret": "n"}})
    mocked.delete(f"{CLICKUP}/webhook/wh-1", status=200, json={})
    assert subscriptions.maintain()["recreated"] == 1
    old.refresh_from_db()
    assert old.status == Status.REMOVED
    assert WebhookSubscription.objects.get(remote_id="wh-2").secret == "n"


def test_a_healthy_clickup_webhook_is_kept(make_connection, make_subscription, mocked):
    connection = make_connection(
        "clickup", account=CLICKUP_USER, field_mapping={"team_id": "9012345"}
    )
    make_subscription(connection, remote_id="wh-1", secret="s", resource="9012345")
    mocked.get(
        f"{CLICKUP}/team/9012345/webhook",
        json={"webhooks": [{"id": "wh-1", "health": {"status": "active", "fail_count": 0}}]},
    )
    assert subscriptions.maintain()["recreated"] == 0


@pytest.mark.parametrize(
    ("status", "expires_in", "mode"),
    [
        (Status.ACTIVE, dt.timedelta(days=1), "push"),
        (Status.ACTIVE, None, "push"),
        (Status.ACTIVE, -dt.timedelta(minutes=1), "polling"),
        (Status.SUSPENDED, None, "polling"),
        (Status.FAILED, None, "polling"),
    ],
)
def test_delivery_mode_follows_the_subscription(
    make_connection, make_subscription, status, expires_in, mode
):
    connection = make_connection("outlook")
    expires = dt.datetime.now(dt.UTC) + expires_in if expires_in is not None else None
    make_subscription(
        connection, status=status, expires_at=expires, secret="s", resource="me/events"
    )
    assert subscriptions.delivery_mode(connection) == mode


def test_the_connection_pages_can_show_the_mode(make_connection, make_subscription):
    from django.template import Context, Template

    connection = make_connection("outlook")
    page = Template("{% load webhook_tags %}{{ connection|delivery_mode }}")
    assert page.render(Context({"connection": connection})) == "polling"
    make_subscription(connection, secret="s", resource="me/events")
    assert page.render(Context({"connection": connection})) == "push"


def test_a_resumed_connection_gets_its_missing_subscriptions(
    make_connection, mocked, django_capture_on_commit_callbacks
):
    from integrations.signals import connection_status_changed

    connection = make_connection("clickup", account=CLICKUP_USER)
    mocked.get(f"{CLICKUP}/team", json=TEAMS)
    mocked.post(f"{CLICKUP}/team/9012345/webhook", json={"webhook": {"id": "w", "secret": "s"}})
    with django_capture_on_commit_callbacks(execute=True):
        connection_status_changed.send(
            sender=type(connection), connection=connection, old="paused", new="connected"
        )
    assert WebhookSubscription.objects.get(connection=connection).status == Status.ACTIVE
