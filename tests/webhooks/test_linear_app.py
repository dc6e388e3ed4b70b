"""Linear's OAuth-app webhook: set once in Linear's console, created by Linear for every
organization that authorizes the app, signed with one app signing secret and routed by
`organizationId`. API registration (webhookCreate) only with the admin scope."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import responses
import time_machine

from integrations.lifecycle import disconnect
from webhooks import subscriptions
from webhooks.models import Delivery, WebhookSubscription

from .helpers import deliveries, fixture, hex_hmac, jobs, meta, raw, rejections

pytestmark = pytest.mark.django_db
Status = WebhookSubscription.Status
LINEAR = "https://api.linear.app/graphql"
APP_SECRET = "lin_wh_app-signing-secret-from-the-console"
PAYLOAD = fixture("linear", "Issue.update")
ORG = PAYLOAD["organizationId"]
SENT_AT = dt.datetime.fromtimestamp(PAYLOAD["webhookTimestamp"] / 1000, tz=dt.UTC)
APP_URL = "/api/webhooks/linear/"


@pytest.fixture(autouse=True)
def configured(settings):
    settings.PUBLIC_URL = "https://dayflow.example"
    settings.WEBHOOKS_LINEAR_APP_SECRET = APP_SECRET


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


def organization_query(mocked, org: str = ORG):
    return mocked.post(LINEAR, json={"data": {"organization": {"id": org}}})


@pytest.fixture
def linear(make_connection, mocked, django_capture_on_commit_callbacks):
    """A Linear connection (granted read,write) of the fixture's organization, connected."""

    def make(viewer: str = "viewer-1"):
        connection = make_connection("linear", account=viewer)
        connection.credential.scopes = "read,write"
        connection.credential.save()
        with django_capture_on_commit_callbacks(execute=True):
            subscriptions.register(connection)
        return connection

    organization_query(mocked)
    return make


def post(client, body: bytes, secret: str = APP_SECRET, delivery: str = "d-1"):
    headers = meta({"Linear-Signature": hex_hmac(secret, body), "Linear-Delivery": delivery})
    return client.post(APP_URL, body, content_type="application/json", **headers)


def test_without_admin_the_organization_is_recorded_and_nothing_is_created(linear, mocked):
    # when a connection granted only read,write is registered
    connection = linear()
    # then Linear is only asked which organization this is (no webhookCreate)
    assert len(mocked.calls) == 1
    assert "organization" in json.loads(mocked.calls[0].request.body)["query"]
    assert "webhookCreate" not in mocked.calls[0].request.body.decode()
    sub = WebhookSubscription.objects.get(connection=connection)
    assert (sub.status, sub.resource, sub.remote_id, sub.secret) == (
        Status.ACTIVE,
        f"organization:{ORG}",
        "",
        "",
    )
    assert subscriptions.delivery_mode(connection) == "push"


def test_the_app_webhook_does_not_count_as_push_once_its_secret_is_unset(linear, settings):
    connection = linear()
    settings.WEBHOOKS_LINEAR_APP_SECRET = ""
    assert subscriptions.delivery_mode(connection) == "polling"


def test_without_admin_or_an_app_secret_the_connection_polls(
    settings, make_connection, mocked, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_LINEAR_APP_SECRET = ""
    connection = make_connection("linear", account="viewer-1")
    assert subscriptions.register(connection) == []
    assert len(mocked.calls) == 0
    assert subscriptions.delivery_mode(connection) == "polling"


@time_machine.travel(SENT_AT + dt.timedelta(seconds=1), tick=False)
def test_an_app_delivery_syncs_every_connection_of_its_organization(client, linear, sync_calls):
    # given two DayFlow users connected to the same Linear organization
    first, second = linear("viewer-1"), linear("viewer-2")
    # when Linear's app webhook delivers an issue update, twice (a retry)
    body = raw(PAYLOAD)
    assert [post(client, body).status_code for _ in range(2)] == [200, 200]
    # then it is stored once and each connection gets one sync
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.subscription) == (Delivery.Status.PROCESSED, None)
    assert sorted(sync_calls) == sorted([first.pk, second.pk])
    assert (jobs(first), jobs(second)) == (1, 1)


@pytest.mark.parametrize(
    ("secret", "moment", "reason"),
    [
        ("a-different-secret", SENT_AT + dt.timedelta(seconds=1), "bad_signature"),
        (APP_SECRET, SENT_AT + dt.timedelta(seconds=61), "stale_timestamp"),
    ],
)
def test_an_app_delivery_must_be_signed_with_the_app_secret_and_fresh(
    client, linear, secret, moment, reason, fresh_cache
):
    linear()
    with time_machine.travel(moment, tick=False):
        response = post(client, raw(PAYLOAD), secret=secret)
    assert response.status_code == 401
    assert deliveries() == 0
    assert [e.details["reason"] for e in rejections()] == [reason]


@time_machine.travel(SENT_AT + dt.timedelta(seconds=1), tick=False)
def test_an_app_delivery_is_refused_when_no_app_secret_is_configured(client, settings, fresh_cache):
    settings.WEBHOOKS_LINEAR_APP_SECRET = ""
    assert post(client, raw(PAYLOAD), secret="").status_code == 401
    assert deliveries() == 0


@time_machine.travel(SENT_AT + dt.timedelta(seconds=1), tick=False)
def test_after_disconnect_app_deliveries_for_the_organization_sync_nothing(
    client, linear, mocked, sync_calls
):
    connection = linear()
    disconnect(connection, keep_items=True)  # no webhook of ours to delete at Linear
    assert not any("webhookDelete" in str(c.request.body) for c in mocked.calls)
    assert WebhookSubscription.objects.get().status == Status.REMOVED
    assert post(client, raw(PAYLOAD)).status_code == 200
    assert Delivery.objects.get().status == Delivery.Status.IGNORED
    assert sync_calls == []
