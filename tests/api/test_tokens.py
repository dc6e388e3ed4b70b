"""`/api/tokens` and the rules every endpoint shares: hashed tokens shown once, 401 for the
anonymous, 404 for another user's object, 400 field by field, bounded bodies, throttles with
Retry-After, and the token's name as the audit channel."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit.models import AuditEvent
from dayflow.api.throttling import PerToken
from dayflow.models import ApiToken

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)


def test_a_token_is_made_shown_once_and_stored_hashed(api, user):
    response = api.post("/api/tokens", {"name": "backup script"}, format="json")

    assert response.status_code == 201, response.content
    token = response.json()["token"]
    assert token.startswith("dayflow_")
    assert len(token) > 60
    stored = ApiToken.objects.get(pk=response.json()["id"])
    assert token not in {stored.digest, stored.token_key}
    assert stored.name == "backup script"
    listed = api.get("/api/tokens").content.decode()
    assert token not in listed
    assert stored.digest not in listed

    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert fresh.get("/api/tokens").status_code == 200


def test_a_token_records_when_it_was_last_used(api, user):
    with time_machine.travel(NOW, tick=False):
        api.get("/api/tokens")
    (used,) = ApiToken.objects.values_list("last_used_at", flat=True)
    assert used == NOW


def test_writes_are_audited_with_the_tokens_name_as_the_channel(api, user):
    api.post("/api/tokens", {"name": "CI"}, format="json")

    event = AuditEvent.objects.get(action="api_token.created")
    assert event.channel == "api: script"
    assert event.actor == user
    assert event.details == {"name": "CI"}


def test_revoking_a_token_ends_it_at_once(api, user, token_client):
    victim = token_client(user, name="old laptop")
    pk = ApiToken.objects.get(name="old laptop").pk

    assert api.delete(f"/api/tokens/{pk}").status_code == 204
    assert victim.get("/api/tokens").status_code == 401
    assert AuditEvent.objects.filter(action="api_token.revoked").exists()


def test_an_expired_token_is_refused(user, token_client):
    with time_machine.travel(NOW, tick=False):
        client = token_client(user)
        ApiToken.objects.update(expiry=NOW + dt.timedelta(days=1))
        assert client.get("/api/tokens").status_code == 200
    with time_machine.travel(NOW + dt.timedelta(days=2), tick=False):
        response = client.get("/api/tokens")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    assert ApiToken.objects.filter(name="script").exists()  # still listed, as expired


def test_the_anonymous_get_401_with_the_scheme_to_use(anonymous):
    response = anonymous.get("/api/tokens")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert anonymous.post("/api/tokens", {"name": "x"}, format="json").status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        b"Token nonsense",
        b"Token " + b"a" * 5000,
        b"Token \xff\xfe\xfd",
        b"Token dayflow_1 2",
        b"Token",
    ],
    ids=["unknown", "huge", "not-ascii", "spaces", "empty"],
)
def test_a_bad_token_is_a_401_never_a_500(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header.decode("latin-1"))
    assert client.get("/api/tokens").status_code == 401


def test_another_users_token_is_not_found_and_not_revoked(api, others_api, other_user):
    theirs = ApiToken.objects.get(user=other_user).pk

    assert api.get(f"/api/tokens/{theirs}").status_code == 404
    assert api.delete(f"/api/tokens/{theirs}").status_code == 404
    assert ApiToken.objects.filter(pk=theirs).exists()
    assert str(theirs) not in {str(t["id"]) for t in api.get("/api/tokens").json()["results"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": ["a"]}, "name"),
        ({"name": "ok", "expiry": "tomorrow-ish"}, "expiry"),
        ({"name": "ok", "expiry": "2000-01-01T00:00:00Z"}, "expiry"),
        ({"name": "ok", "expiry": "2999-01-01T00:00:00Z"}, "expiry"),
        ({"name": "ok", "admin": True}, "admin"),
        ({"name": "ok", "last_used_at": "2030-01-01T00:00:00Z"}, "last_used_at"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_makes_nothing(api, body, field):
    with time_machine.travel(NOW, tick=False):
        response = api.post("/api/tokens", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert ApiToken.objects.count() == 1  # the client's own


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"name": ' * 70 + b'"x"' + b"}" * 70, b"{not json", b'"\xff"'],
    ids=["deep-array", "deep-object", "not-json", "not-utf8"],
)
def test_a_hostile_body_is_a_400(api, body):
    response = api.generic("POST", "/api/tokens", body, content_type="application/json")
    assert response.status_code == 400
    assert ApiToken.objects.count() == 1


def test_a_body_over_the_upload_limit_is_a_400(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = b'{"name": "' + b"x" * 2000 + b'"}'
    response = api.generic("POST", "/api/tokens", body, content_type="application/json")
    assert response.status_code == 400


def test_a_person_has_at_most_fifty_tokens(api, user):
    for n in range(49):
        ApiToken.objects.create(user=user, expiry=None, name=f"t{n}")
    response = api.post("/api/tokens", {"name": "one more"}, format="json")
    assert response.status_code == 400
    assert "revoke one first" in str(response.json())


def test_a_token_spending_its_budget_gets_429_with_retry_after(api, monkeypatch):
    monkeypatch.setattr(PerToken, "THROTTLE_RATES", {**PerToken.THROTTLE_RATES, "token": "3/min"})
    codes = [api.get("/api/tokens").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert int(api.get("/api/tokens")["Retry-After"]) > 0


def test_the_list_is_cursor_paginated_in_a_constant_number_of_queries(api, user):
    def queries(page_size: int) -> int:
        with CaptureQueriesContext(db) as captured:
            response = api.get(f"/api/tokens?page_size={page_size}")
        assert response.status_code == 200
        return len(captured)

    for n in range(30):
        ApiToken.objects.create(user=user, expiry=None, name=f"t{n}")
    api.get("/api/tokens")  # the token's first use is recorded once
    assert queries(2) == queries(25)
    first = api.get("/api/tokens?page_size=20").json()
    assert len(first["results"]) == 20
    assert first["next"]
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 11
    assert not second["next"]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "bz0tNQ==", "cj1h"])  # junk, o=-5, r=a
def test_a_mangled_cursor_is_a_400(api, cursor):
    response = api.get(f"/api/tokens?cursor={cursor}")
    assert response.status_code == 400
    assert "cursor" in response.json()


def test_tokens_order_only_by_fields_that_are_never_null(api, user):
    response = api.get("/api/tokens?ordering=last_used_at")
    assert response.status_code == 200  # ignored, as an unknown ordering is
    assert [t["id"] for t in response.json()["results"]] == list(
        ApiToken.objects.filter(user=user).order_by("-id").values_list("id", flat=True)
    )
