"""The one HTTP client: retries, waits, refresh, typed errors, logging, counters, the bucket."""

from __future__ import annotations

import email.utils
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.test import override_settings

from integrations import clients
from integrations.clients import client_for, provider_for, rate_for
from integrations.models import Connection, Credential, Service
from integrations.providers import errors
from integrations.providers.http import HttpClient, TokenBucket, api_calls

URL = "https://api.example.test/v1/things"


# --- retries and backoff ------------------------------------------------------------------
def test_500_then_success_retries_after_a_jittered_backoff(mocked, make_client, clock):
    # given a server that fails once
    mocked.get(URL, status=500)
    mocked.get(URL, json={"ok": True})
    # when
    result = make_client("notion").request_json("GET", URL)
    # then one backoff of base * (1/2 + rng/2) happened on the injected clock
    assert result == {"ok": True}
    assert clock.sleeps == [0.375]
    assert len(mocked.calls) == 2


@pytest.mark.parametrize("status", [502, 503, 504, 529])
def test_overload_statuses_are_retried(mocked, make_client, status):
    mocked.put(URL, status=status)
    mocked.put(URL, json={"ok": 1})
    assert make_client("notion").request_json("PUT", URL, json={}) == {"ok": 1}


@pytest.mark.parametrize(
    "failure", [{"status": 500}, {"status": 503}, {"body": requests.ReadTimeout()}]
)
def test_a_post_that_may_have_been_applied_is_not_resent(mocked, make_client, failure):
    # a create that timed out may exist already: the caller's retry looks for it instead
    mocked.post(URL, **failure)
    with pytest.raises(errors.Transient, match="not resent"):
        make_client("clickup").request("POST", URL, json={"name": "x"})
    assert len(mocked.calls) == 1


@pytest.mark.parametrize("failure", [{"status": 529}, {"body": requests.ConnectTimeout()}])
def test_a_post_turned_away_before_processing_is_resent(mocked, make_client, failure):
    mocked.post(URL, **failure)
    mocked.post(URL, json={"ok": 1})
    assert make_client("notion").request_json("POST", URL, json={}) == {"ok": 1}


def test_a_post_declared_idempotent_is_resent_after_a_5xx(mocked, make_client):
    mocked.post(URL, status=500)
    mocked.post(URL, json={"results": []})
    client = make_client("notion")
    assert client.request_json("POST", URL, json={}, idempotent=True) == {"results": []}


def test_backoff_grows_exponentially_and_gives_up_after_max_attempts(mocked, make_client, clock):
    for _ in range(4):
        mocked.get(URL, status=503)
    with pytest.raises(errors.Transient) as caught:
        make_client("notion", max_attempts=4, rng=lambda: 1.0).request("GET", URL)
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert "4 attempt" in str(caught.value)
    assert caught.value.service == "notion"


def test_backoff_stops_when_the_total_wait_budget_is_spent(mocked, make_client, clock):
    for _ in range(2):
        mocked.get(URL, status=500)
    with pytest.raises(errors.Transient):
        make_client("notion", max_total_wait=1.2, rng=lambda: 1.0).request("GET", URL)
    assert clock.sleeps == [0.5]  # the next 1.0 s would overrun the 1.2 s budget


@pytest.mark.parametrize(
    "exc", [requests.ConnectTimeout(), requests.ReadTimeout(), requests.ConnectionError()]
)
def test_network_errors_and_timeouts_are_retried(mocked, make_client, exc):
    mocked.get(URL, body=exc)
    mocked.get(URL, json=[1])
    assert make_client("todoist").request_json("GET", URL) == [1]


def test_a_timeout_that_persists_becomes_transient(mocked, make_client):
    for _ in range(3):
        mocked.get(URL, body=requests.ReadTimeout())
    with pytest.raises(errors.Transient, match="ReadTimeout"):
        make_client("todoist", max_attempts=3).request("GET", URL)


def test_every_call_carries_connect_and_read_timeouts(mocked, make_client):
    mocked.get(URL, json={})
    make_client("notion", timeout=(2.0, 9.0)).request("GET", URL)
    assert mocked.calls[0].request.req_kwargs["timeout"] == (2.0, 9.0)


# --- 429 --------------------------------------------------------------------------------
def _http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


@pytest.mark.parametrize(
    ("headers", "expected_wait"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "HTTPDATE+12"}, 12.0),
        ({"X-RateLimit-Reset": "EPOCH+20"}, 20.0),  # ClickUp: unix seconds
        ({"X-RateLimit-Requests-Reset": "EPOCHMS+3"}, 3.0),  # Linear: unix milliseconds
    ],
)
def test_429_waits_as_the_server_says_then_retries(
    mocked, make_client, clock, headers, expected_wait
):
    # given
    values = {
        name: value.replace("HTTPDATE+12", _http_date(clock.now + 12))
        .replace("EPOCHMS+3", str(int((clock.now + 3) * 1000)))
        .replace("EPOCH+20", str(int(clock.now + 20)))
        for name, value in headers.items()
    }
    mocked.get(URL, status=429, headers=values)
    mocked.get(URL, json={"done": True})
    # when
    result = make_client("clickup").request_json("GET", URL)
    # then the wait is on the injected clock, not the wall
    assert result == {"done": True}
    assert clock.sleeps == [pytest.approx(expected_wait, abs=1.0)]


def test_429_with_todoist_retry_after_in_the_body(mocked, make_client, clock):
    mocked.post(URL, status=429, json={"error": "Too many", "error_extra": {"retry_after": 4}})
    mocked.post(URL, json={})
    make_client("todoist").request("POST", URL)
    assert clock.sleeps == [4.0]


def test_429_with_a_long_wait_is_handed_back_to_the_engine(mocked, make_client, clock):
    mocked.get(URL, status=429, headers={"Retry-After": "600"})
    with pytest.raises(errors.RateLimited) as caught:
        make_client("notion", max_total_wait=60).request("GET", URL)
    assert caught.value.retry_after == 600.0
    assert clock.sleeps == []


# --- auth -------------------------------------------------------------------------------
def test_401_refreshes_once_and_retries_with_the_new_token(mocked, make_client):
    # given a token that the server rejects until refreshed
    token = {"value": "old-token"}
    refreshed_with: list[str] = []

    def refresh(failed: str) -> None:
        refreshed_with.append(failed)
        token["value"] = "new-token"

    mocked.get(URL, status=401)
    mocked.get(URL, json={"ok": 1})
    client = make_client(
        "linear",
        auth_headers=lambda: {"Authorization": f"Bearer {token['value']}"},
        refresh=refresh,
    )
    # when
    assert client.request_json("GET", URL) == {"ok": 1}
    # then
    assert refreshed_with == ["Bearer old-token"]
    assert mocked.calls[1].request.headers["Authorization"] == "Bearer new-token"


def test_a_second_401_after_refresh_is_auth_expired(mocked, make_client):
    calls: list[str] = []
    mocked.get(URL, status=401)
    mocked.get(URL, status=401)
    with pytest.raises(errors.AuthExpired):
        make_client("linear", refresh=calls.append).request("GET", URL)
    assert len(calls) == 1
    assert len(mocked.calls) == 2


def test_a_revoked_token_whose_refresh_fails_is_auth_expired(mocked, make_client):
    def refresh(failed: str) -> None:
        raise errors.AuthExpired("invalid_grant", service="notion")

    mocked.get(URL, status=401, json={"code": "unauthorized"})
    with pytest.raises(errors.AuthExpired, match="invalid_grant"):
        make_client("notion", refresh=refresh).request("GET", URL)


def test_401_without_a_refresh_hook_is_auth_expired(mocked, make_client):
    mocked.get(URL, status=401)
    with pytest.raises(errors.AuthExpired):
        make_client("clickup").request("GET", URL)


# --- typed errors -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, errors.Permanent),
        (403, errors.Permanent),
        (404, errors.NotFound),
        (409, errors.PreconditionFailed),
        (410, errors.Gone),
        (412, errors.PreconditionFailed),
        (422, errors.Permanent),
    ],
)
def test_4xx_are_permanent_and_typed(mocked, make_client, status, error):
    mocked.get(URL, status=status, json={"message": "nope"})
    with pytest.raises(error) as caught:
        make_client("notion").request("GET", URL)
    assert caught.value.status == status
    assert type(caught.value) is error
    assert len(mocked.calls) == 1  # never retried


@pytest.mark.parametrize(
    "url", ["calendars/primary/events", "ftp://api.example.test/v1", "https://", "http://[::1"]
)
def test_an_address_no_retry_can_fix_is_permanent_and_never_retried(mocked, make_client, url):
    # settings that are not an id end up in an address requests refuses before sending
    with pytest.raises(errors.Permanent, match="not a usable address") as caught:
        make_client("notion").request("GET", url)
    assert type(caught.value) is errors.Permanent
    assert len(mocked.calls) == 0


def test_malformed_json_is_an_unexpected_payload_naming_the_service(mocked, make_client):
    mocked.get(URL, body="{not json", content_type="application/json")
    with pytest.raises(errors.UnexpectedPayload) as caught:
        make_client("todoist").request_json("GET", URL)
    assert caught.value.field == "body"
    assert caught.value.service == "todoist"


def test_extra_ok_statuses_are_returned(mocked, make_client):
    mocked.post(URL, status=400, json={"errors": []})
    assert make_client("linear").request("POST", URL, ok=(200, 400)).status_code == 400


# --- logging and counters ---------------------------------------------------------------
def test_calls_are_logged_without_tokens_query_values_or_bodies(mocked, make_client, caplog):
    mocked.post(URL, json={"secret_echo": "tok-live"})
    caplog.set_level(logging.INFO, logger="integrations.http")
    make_client("notion", token="tok-live").request(
        "POST", URL, params={"api_key": "qs-secret"}, json={"password": "body-secret"}
    )
    record = caplog.records[-1]
    assert record.service == "notion"
    assert record.method == "POST"
    assert record.path == "api.example.test/v1/things"
    assert record.status == 200
    assert isinstance(record.duration_ms, int)
    logged = caplog.text
    for secret in ("tok-live", "qs-secret", "body-secret"):
        assert secret not in logged


def test_api_calls_are_counted_per_connection(mocked, make_client):
    mocked.get(URL, status=500)
    mocked.get(URL, json={})
    before = api_calls(41)
    make_client("notion", connection_id=41).request("GET", URL)
    assert api_calls(41) == before + 2
    assert api_calls(42) == 0


@pytest.mark.django_db
def test_counting_calls_costs_no_query_per_call(mocked, make_client, django_assert_num_queries):
    # given a client without a rate limit, so only the counter could touch the cache
    mocked.get(URL, json={})
    client = make_client("notion", connection_id=43)
    before = api_calls(43)
    # when it makes many calls, then none of them queries the (database) cache
    with django_assert_num_queries(0):
        for _ in range(20):
            client.request("GET", URL)
    # and the count is complete when read, in one flush
    assert api_calls(43) == before + 20


@pytest.mark.django_db
def test_a_long_run_of_calls_is_flushed_without_being_read(mocked, make_client):
    from integrations.providers import http

    mocked.get(URL, json={})
    client = make_client("notion", connection_id=44)
    http.flush_call_counts()
    for _ in range(http.CALLS_FLUSH_EVERY):
        client.request("GET", URL)
    # read the shared counter directly: another worker sees the calls without our flush
    assert http.cache.get("dayflow:http:calls:44", 0) == http.CALLS_FLUSH_EVERY


# --- rate limit -------------------------------------------------------------------------
def test_rate_comes_from_the_provider_unless_settings_override():
    assert rate_for("notion") == (3, 1.0)
    with override_settings(DAYFLOW_RATE_LIMITS={"notion": (9, 2)}):
        assert rate_for("notion") == (9, 2.0)


def test_the_bucket_spaces_requests_at_the_configured_rate(mocked, make_client, clock):
    # given 2 requests per second and 5 calls in a burst
    mocked.get(URL, json={})
    client = make_client("notion", connection_id=7, rate=(2, 1.0))
    # when
    for _ in range(5):
        client.request("GET", URL)
    # then the 3rd waits for the window to slide, and so on
    assert clock.sleeps == [1.0, 1.0]  # 3rd at t+1 (4th too), 5th at t+2
    assert len(mocked.calls) == 5


def test_a_long_wait_for_the_bucket_is_handed_back_and_takes_no_slot(mocked, make_client, clock):
    # given a bucket of 2 per hour, already used up
    mocked.get(URL, json={})
    client = make_client("linear", connection_id=8, rate=(2, 3600.0), max_total_wait=60)
    client.request("GET", URL)
    client.request("GET", URL)
    # when a third call would wait an hour
    with pytest.raises(errors.RateLimited) as caught:
        client.request("GET", URL)
    # then the engine is told when to come back, nobody slept, nothing was sent
    assert caught.value.retry_after == pytest.approx(3600.0)
    assert caught.value.service == "linear"
    assert clock.sleeps == []
    assert len(mocked.calls) == 2
    clock.now += 3600
    client.request("GET", URL)  # the refused call did not take a slot
    assert clock.sleeps == []


def test_a_call_counted_as_several_takes_as_many_slots(mocked, make_client, clock):
    # given 10 requests per second, and a batch the service counts as its 6 inner calls
    mocked.post(URL, json={})
    client = make_client("outlook", connection_id=11, rate=(10, 1.0))
    client.request("POST", URL, quota=6)
    assert clock.sleeps == []
    # when a second batch of 6 follows: 12 would not fit in one second
    client.request("POST", URL, quota=6)
    # then it waits for the first batch's slots to leave the window
    assert clock.sleeps == [1.0]
    client.request("POST", URL)  # the 13th request fits beside the second batch
    assert clock.sleeps == [1.0]


def test_a_batch_larger_than_the_window_leaves_when_its_last_slot_comes(db, clock):
    bucket = TokenBucket("google-calendar:12", 10, 1.0, clock=clock, sleep=clock.sleep)
    bucket.acquire(slots=25)  # 10 now, 10 a second later, 5 the second after
    assert clock.sleeps == [2.0]
    bucket.acquire(slots=5)  # the last window holds 5: 5 more fit
    assert clock.sleeps == [2.0]
    bucket.acquire()
    assert clock.sleeps == [2.0, 1.0]


def test_slots_too_far_away_are_not_taken(db, clock):
    bucket = TokenBucket("outlook:13", 10, 1.0, clock=clock, sleep=clock.sleep)
    bucket.acquire(slots=8)
    with pytest.raises(errors.RateLimited) as caught:
        bucket.acquire(max_wait=0.5, slots=4)
    assert caught.value.retry_after == pytest.approx(1.0)
    bucket.acquire(slots=2)  # the refused 4 took nothing: 2 still fit now
    assert clock.sleeps == []


def test_buckets_are_per_connection(db, clock):
    a = TokenBucket("notion:1", 1, 10.0, clock=clock, sleep=clock.sleep)
    b = TokenBucket("notion:2", 1, 10.0, clock=clock, sleep=clock.sleep)
    a.acquire()
    b.acquire()
    assert clock.sleeps == []
    a.acquire()
    assert clock.sleeps == [10.0]


WORKER = """
import os, sys, time, django
django.setup()
from integrations.providers.http import TokenBucket
bucket = TokenBucket("notion:two-workers", 5, 0.5)
for _ in range(int(sys.argv[1])):
    slot = bucket.acquire()
    print(slot, time.time(), flush=True)
"""


def _spawn(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args],
        env=env,
        cwd=Path(__file__).resolve().parents[3],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_worker_processes_share_one_bucket(tmp_path):
    # given two processes using the database cache on one SQLite file
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dayflow.settings",
        "DAYFLOW_VAR_DIR": str(tmp_path),
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.pop("CACHE_URL", None)
    setup = _spawn(env, "manage.py", "createcachetable")
    assert setup.wait(60) == 0, setup.stderr.read()
    # when both hammer the same bucket (5 per 0.5 s), 15 acquisitions each
    workers = [_spawn(env, "-c", WORKER, "15") for _ in range(2)]
    outputs = [w.communicate(timeout=60) for w in workers]
    assert all(w.returncode == 0 for w in workers), [err for _, err in outputs]
    slots = sorted(float(line.split()[0]) for out, _ in outputs for line in out.splitlines())
    granted = sorted(float(line.split()[1]) for out, _ in outputs for line in out.splitlines())
    # then no 0.5 s window ever held more than 5 slots, across both processes
    assert len(slots) == 30
    for i in range(len(slots) - 5):
        assert slots[i + 5] - slots[i] >= 0.5 - 1e-6
    # and the wall-clock grants show the shared pacing: 30 at 5 per 0.5 s take >= 2.5 s
    assert granted[-1] - granted[0] >= 2.5 - 0.05


# --- client_for -------------------------------------------------------------------------
@pytest.fixture
def tokens_module(monkeypatch):
    """Stands in for integrations.tokens' refresh, to see exactly what the 401 hook passes it."""
    calls: list[tuple[int, str | None]] = []

    def refresh_access_token(connection, *, failed_token=None):
        calls.append((connection.pk, failed_token))
        return "fresh-token"

    monkeypatch.setattr(clients, "refresh_access_token", refresh_access_token)
    return calls


def _connection(user, key: str, token: str) -> Connection:
    connection = Connection.objects.create(
        user=user, service=Service.objects.get(key=key), external_account_id=f"{key}-acct"
    )
    Credential.objects.create(connection=connection, access_token=token)
    return connection


@pytest.mark.parametrize(
    ("key", "authorization", "extra"),
    [
        ("notion", "Bearer secret-n", {"Notion-Version": "2025-09-03"}),
        ("clickup", "secret-c", {}),  # ClickUp: the raw token, no "Bearer"
        ("todoist", "Bearer secret-t", {}),
    ],
)
def test_client_for_wires_token_headers_and_rate(user, mocked, key, authorization, extra):
    connection = _connection(user, key, authorization.split()[-1])
    client = client_for(connection, sleep=lambda s: None)
    mocked.get(URL, json={})
    client.request("GET", URL)
    sent = mocked.calls[0].request.headers
    assert sent["Authorization"] == authorization
    for name, value in extra.items():
        assert sent[name] == value
    assert (client.bucket.limit, client.bucket.per) == rate_for(key)
    assert client.connection_id == connection.pk


def test_client_for_refreshes_through_the_oauth_hook(user, mocked, tokens_module):
    connection = _connection(user, "linear", "stale")
    mocked.post(URL, status=401)
    mocked.post(URL, json={"data": {}})
    client_for(connection, sleep=lambda s: None).request("POST", URL, json={})
    assert tokens_module == [(connection.pk, "stale")]
    assert mocked.calls[1].request.headers["Authorization"] == "Bearer fresh-token"


def test_provider_builds_its_client_lazily_or_takes_one(user, make_client):
    connection = _connection(user, "todoist", "t0k")
    provider = provider_for(connection)
    assert provider.http.connection_id == connection.pk
    given = make_client("todoist")
    assert connection.service.provider(connection, http=given).http is given


def test_client_uses_a_session_per_client():
    assert HttpClient("x", rate=None).session is not HttpClient("x", rate=None).session


# --- the 401 hook wired to the real token refresh (integrations.tokens) --------------------
LINEAR_TOKEN_URL = "https://api.linear.app/oauth/token"


@pytest.fixture
def linear_with_refresh(user, settings, monkeypatch):
    settings.DAYFLOW_OAUTH_CLIENTS = {
        "linear": {"client_id": "linear-client-id", "client_secret": "linear-client-secret"}
    }
    monkeypatch.setattr("integrations.tokens._sleep", lambda seconds: None)
    connection = Connection.objects.create(
        user=user, service=Service.objects.get(key="linear"), external_account_id="lin-acct"
    )
    Credential.objects.create(connection=connection, access_token="at-old", refresh_token="rt-old")
    return connection


def test_a_401_refreshes_through_the_token_endpoint_and_retries(mocked, linear_with_refresh):
    # given an expired access token and a token endpoint that rotates it
    mocked.post(URL, status=401, json={"errors": [{"message": "expired"}]})
    mocked.post(LINEAR_TOKEN_URL, json={"access_token": "at-new", "refresh_token": "rt-new"})
    mocked.post(URL, json={"data": {}})
    # when
    client_for(linear_with_refresh, sleep=lambda s: None).request("POST", URL, json={})
    # then the retry carried the new token, which is stored encrypted
    assert mocked.calls[2].request.headers["Authorization"] == "Bearer at-new"
    assert Credential.objects.get(connection=linear_with_refresh).access_token == "at-new"


def test_a_revoked_grant_is_auth_expired_and_the_connection_needs_reauth(
    mocked, linear_with_refresh
):
    mocked.post(URL, status=401, json={"errors": [{"message": "revoked"}]})
    mocked.post(LINEAR_TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(errors.AuthExpired):
        client_for(linear_with_refresh, sleep=lambda s: None).request("POST", URL, json={})
    linear_with_refresh.refresh_from_db()
    assert linear_with_refresh.status == Connection.Status.NEEDS_REAUTH
    assert len([c for c in mocked.calls if c.request.url == URL]) == 1


def test_a_connection_without_credentials_is_auth_expired(user):
    connection = Connection.objects.create(
        user=user, service=Service.objects.get(key="notion"), external_account_id="bare"
    )
    with pytest.raises(errors.AuthExpired, match="no credentials"):
        client_for(connection)


def test_a_bucket_whose_lock_stays_held_gives_up_with_a_transient_error(
    transactional_db, clock, monkeypatch
):
    # given another worker (thread, own database connection) holding the bucket's lock, taken
    # through integrations.locks as the bucket takes it (an advisory lock on PostgreSQL)
    import threading

    from django.db import connection

    from integrations import locks
    from integrations.providers import http

    monkeypatch.setattr(http, "LOCK_TTL", 0.05)
    bucket = TokenBucket("notion:9", 5, 10.0, clock=clock, sleep=clock.sleep)
    held, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        try:
            with locks.exclusive(f"{bucket.key}:lock", ttl=60, wait=5):
                held.set()
                release.wait(10)
        finally:
            connection.close()

    worker = threading.Thread(target=other_worker)
    worker.start()
    assert held.wait(10)
    # when this one asks for a slot, then it waits no longer than twice the lock's TTL
    with pytest.raises(errors.Transient, match="rate-limit lock is busy"):
        bucket.acquire()
    release.set()
    worker.join(10)
    # and once the lock is free it gets its slot at once
    assert bucket.acquire() == clock.now
