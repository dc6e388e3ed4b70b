"""Google's 403 rate-limit answers are a rate limit (back off), not a permanent failure.
https://developers.google.com/calendar/api/guides/errors#403_rate_limit_exceeded"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import responses

from integrations.models import Connection, Credential, Service
from integrations.providers.errors import Permanent, RateLimited
from integrations.providers.google_calendar.provider import GoogleCalendarProvider
from sync import engine
from sync.models import SyncJob

EVENTS = "https://www.googleapis.com/calendar/v3/calendars/primary/events"


def google_403(reason: str, message: str) -> dict:
    # The documented error shape (developers.google.com/calendar/api/guides/errors).
    return {
        "error": {
            "errors": [{"domain": "usageLimits", "reason": reason, "message": message}],
            "code": 403,
            "message": message,
        }
    }


@pytest.fixture
def provider(http_for) -> GoogleCalendarProvider:
    connection = SimpleNamespace(field_mapping={"calendars": ["primary"]})
    return GoogleCalendarProvider(connection, http=http_for("google-calendar"))


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("rateLimitExceeded", "Rate Limit Exceeded"),
        ("userRateLimitExceeded", "User Rate Limit Exceeded"),
    ],
)
def test_a_rate_limit_403_is_rate_limited_with_the_servers_wait(
    provider: GoogleCalendarProvider, mocked: responses.RequestsMock, reason: str, message: str
) -> None:
    mocked.get(EVENTS, status=403, json=google_403(reason, message), headers={"Retry-After": "7"})

    with pytest.raises(RateLimited) as raised:
        provider.pull(None)

    assert raised.value.retry_after == 7
    assert reason in str(raised.value)


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("forbiddenForNonOrganizer", "Shared properties can only be changed by the organizer."),
        ("quotaExceeded", "Calendar usage limits exceeded."),
        ("", ""),
    ],
)
def test_any_other_403_stays_permanent(
    provider: GoogleCalendarProvider, mocked: responses.RequestsMock, reason: str, message: str
) -> None:
    body = google_403(reason, message) if reason else {}
    mocked.get(EVENTS, status=403, json=body)

    with pytest.raises(Permanent) as raised:
        provider.pull(None)

    assert raised.value.status == 403
    assert not isinstance(raised.value, RateLimited)


def test_a_write_answered_with_a_rate_limit_403_is_rate_limited(
    provider: GoogleCalendarProvider, mocked: responses.RequestsMock
) -> None:
    mocked.delete(f"{EVENTS}/ev1", status=403, json=google_403("rateLimitExceeded", "x"))

    with pytest.raises(RateLimited):
        provider.delete("primary/ev1", '"1"')


@pytest.mark.django_db
def test_the_sync_job_is_requeued_not_failed(use_provider, http_for, user, mocked) -> None:
    # given a Google connection whose first listing meets a rate-limit 403
    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="google-calendar"),
        external_account_id="alice@example.com",
        field_mapping={"calendars": ["primary"]},
    )
    Credential.objects.create(connection=connection, access_token="tok-live")
    use_provider(lambda conn: GoogleCalendarProvider(conn, http=http_for("google-calendar")))
    body = json.dumps(google_403("userRateLimitExceeded", "User Rate Limit Exceeded"))
    mocked.get(EVENTS, status=403, body=body, headers={"Retry-After": "30"})
    job = SyncJob.objects.create(connection=connection, kind=SyncJob.Kind.INCREMENTAL)
    # when the job runs
    outcome = engine.run_job(job.pk)
    # then it waits its turn again instead of failing
    job.refresh_from_db()
    assert job.status == SyncJob.Status.QUEUED
    assert "userRateLimitExceeded" in job.error
    assert outcome.retry_in == 30
