"""A captured delivery sent again with a fresh delivery-id header (which no service signs) is
stored and processed once: the inbox deduplicates on what the signature covers."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine

from .helpers import b64_hmac, deliveries, fixture, hex_hmac, jobs, meta, raw, url

pytestmark = pytest.mark.django_db
TODOIST_SECRET = "todoist-client-secret"
LINEAR_SECRET = "lin_wh_our-chosen-signing-secret"
LINEAR_EVENT = fixture("linear", "Issue.update")
LINEAR_SENT_AT = dt.datetime.fromtimestamp(LINEAR_EVENT["webhookTimestamp"] / 1000, tz=dt.UTC)


@pytest.fixture
def todoist(make_connection, settings):
    settings.DAYFLOW_OAUTH_CLIENTS = {
        **settings.DAYFLOW_OAUTH_CLIENTS,
        "todoist": {"client_id": "todoist-client", "client_secret": TODOIST_SECRET},
    }
    return make_connection("todoist", account="2671355")


@pytest.fixture
def linear(make_connection, make_subscription):
    connection = make_connection("linear", account="2a4e1c5f")
    return make_subscription(connection, remote_id="0c9b7e2e", secret=LINEAR_SECRET)


def test_a_todoist_replay_with_a_new_delivery_id_is_processed_once(client, todoist, sync_calls):
    body = raw(fixture("todoist", "item_updated"))
    signature = b64_hmac(TODOIST_SECRET, body)

    for delivery_id in ["del-1", "attacker-chosen-2"]:
        headers = meta({"X-Todoist-Hmac-SHA256": signature, "X-Todoist-Delivery-ID": delivery_id})
        response = client.post(url("todoist"), body, content_type="application/json", **headers)
        assert response.status_code == 200

    assert deliveries() == 1
    assert sync_calls == [todoist.pk]
    assert jobs(todoist) == 1


def test_a_linear_replay_with_a_new_delivery_id_is_processed_once(client, linear, sync_calls):
    body = raw(LINEAR_EVENT)
    signature = hex_hmac(LINEAR_SECRET, body)

    with time_machine.travel(LINEAR_SENT_AT + dt.timedelta(seconds=1), tick=False):
        for delivery_id in ["d-1", "attacker-chosen-2"]:
            headers = meta({"Linear-Signature": signature, "Linear-Delivery": delivery_id})
            response = client.post(
                url("linear", linear), body, content_type="application/json", **headers
            )
            assert response.status_code == 200

        assert deliveries() == 1
        assert sync_calls == [linear.connection.pk]


def test_linears_retry_with_a_fresh_timestamp_is_the_same_delivery(client, linear, sync_calls):
    later = LINEAR_SENT_AT + dt.timedelta(minutes=1)
    retry = {**LINEAR_EVENT, "webhookTimestamp": int(later.timestamp() * 1000)}

    with time_machine.travel(later, tick=False):
        for payload, delivery_id in [(LINEAR_EVENT, "d-1"), (retry, "d-1")]:
            body = json.dumps(payload).encode()
            headers = meta(
                {"Linear-Signature": hex_hmac(LINEAR_SECRET, body), "Linear-Delivery": delivery_id}
            )
            response = client.post(
                url("linear", linear), body, content_type="application/json", **headers
            )
            assert response.status_code == 200

        assert deliveries() == 1
        assert sync_calls == [linear.connection.pk]


def test_two_linear_events_are_two_deliveries(client, linear, sync_calls):
    second = {**LINEAR_EVENT, "updatedFrom": {"title": "another edit"}}

    with time_machine.travel(LINEAR_SENT_AT + dt.timedelta(seconds=1), tick=False):
        for payload in [LINEAR_EVENT, second]:
            body = raw(payload)
            headers = meta({"Linear-Signature": hex_hmac(LINEAR_SECRET, body)})
            response = client.post(
                url("linear", linear), body, content_type="application/json", **headers
            )
            assert response.status_code == 200

        assert deliveries() == 2
