"""The beat task refreshes tokens that expire within ten minutes, and only those."""

from __future__ import annotations

import pytest
import responses

from dayflow.celery import app
from integrations.models import Connection, Credential
from integrations.tasks import refresh_connection_token, refresh_expiring_tokens
from tests.integrations.oauth.fixtures import make_connection, no_backoff, oauth_clients

__all__ = ["make_connection", "no_backoff", "oauth_clients"]  # fixtures used below

pytestmark = pytest.mark.django_db
TODOIST_TOKEN = "https://todoist.com/oauth/access_token"


@pytest.fixture(autouse=True)
def eager():
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@responses.activate
def test_only_tokens_expiring_within_ten_minutes_are_refreshed(make_connection, user):
    # given one token expiring in 5 minutes, one in 30, and a paused one expiring in 5
    soon = make_connection("todoist", expires_in=300)
    later = make_connection("linear", expires_in=1800)
    paused = make_connection("google-calendar", expires_in=300)
    Connection.objects.filter(pk=paused.pk).update(status="paused")
    responses.post(TODOIST_TOKEN, json={"access_token": "at-new", "refresh_token": "rt-new"})
    # when beat runs
    queued = refresh_expiring_tokens()
    # then only the active, soon-expiring one was refreshed
    assert queued == 1
    assert Credential.objects.get(connection=soon).access_token == "at-new"
    assert Credential.objects.get(connection=later).access_token == "at-old"
    assert Credential.objects.get(connection=paused).access_token == "at-old"
    assert len(responses.calls) == 1


@responses.activate
def test_a_connection_refreshed_meanwhile_is_skipped(make_connection):
    connection = make_connection("todoist", expires_in=3600)
    assert refresh_connection_token(connection.pk) is False
    assert len(responses.calls) == 0


@responses.activate
def test_a_transient_failure_leaves_the_connection_for_the_next_run(make_connection):
    connection = make_connection("todoist", expires_in=60)
    responses.post(TODOIST_TOKEN, status=502)
    assert refresh_connection_token(connection.pk) is False
    connection.refresh_from_db()
    assert connection.status == "connected"


@responses.activate
def test_a_refused_grant_flips_the_connection_to_needs_reauth(make_connection):
    connection = make_connection("todoist", expires_in=60)
    responses.post(TODOIST_TOKEN, status=400, json={"error": "invalid_grant"})
    assert refresh_connection_token(connection.pk) is False
    connection.refresh_from_db()
    assert connection.status == "needs_reauth"
