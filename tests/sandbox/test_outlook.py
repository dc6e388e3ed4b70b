"""Microsoft Graph's emulator: the recorded and hand-built shapes (tests/fixtures/msgraph,
webhooks/outlook), the identity platform's OAuth, the delta feed and syncStateNotFound,
subscriptions with the validationToken handshake, and the real OutlookProvider through it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client as Browser

from integrations.oauth.base import id_token_claims
from integrations.providers.graph_webhook import verify_graph
from integrations.providers.http import HttpClient
from integrations.providers.outlook import provider as outlook_provider
from integrations.providers.outlook.provider import OutlookProvider
from integrations.sandbox.models import Account, Delivery, Item
from tests.integrations.providers.support import load
from tests.sandbox.conftest import challenge, same_shape

KEY = "outlook"
API = "/sandbox/outlook/v1.0"
PKCE = {"code_challenge": challenge(), "code_challenge_method": "S256"}
WINDOW = {"startDateTime": "2020-01-01T00:00:00Z", "endDateTime": "2035-01-01T00:00:00Z"}
UTC = {"HTTP_PREFER": 'outlook.timezone="UTC", odata.maxpagesize=5'}


@pytest.fixture
def app(register):
    return register(KEY)


@pytest.fixture
def tokens(app, connect) -> dict[str, Any]:
    return connect(KEY, app, "common/oauth2/v2.0/token", scope="offline_access openid", **PKCE)


@pytest.fixture
def token(tokens) -> str:
    return tokens["access_token"]


def api(token: str, method: str, path: str, data: Any = None, **headers: Any):
    call = getattr(Browser(), method)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}", **headers}
    if method in ("post", "patch"):
        return call(f"{API}/{path}", data, content_type="application/json", **auth)
    return call(f"{API}/{path}", data or {}, **auth)


def delta_all(token: str) -> list[dict[str, Any]]:
    entries, body = [], api(token, "get", "me/calendar/calendarView/delta", WINDOW, **UTC).json()
    while True:
        entries += body["value"]
        if "@odata.deltaLink" in body:
            return entries
        body = (
            Browser()
            .get(body["@odata.nextLink"], HTTP_AUTHORIZATION=f"Bearer {token}", **UTC)
            .json()
        )


def test_the_token_carries_an_id_token_naming_the_user_and_refresh_rotates(app, tokens):
    claims = id_token_claims(tokens["id_token"])
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    form |= {"client_id": app.client_id, "client_secret": app.client_secret}

    refreshed = Browser().post("/sandbox/outlook/common/oauth2/v2.0/token", form).json()
    again = Browser().post("/sandbox/outlook/common/oauth2/v2.0/token", form)

    assert claims["oid"] == Account.objects.get().external_id
    assert claims["email"] == "alice@sandbox.test"
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert again.json()["error"] == "invalid_grant"
    assert again.json()["error_codes"] == [70000]


def test_a_wrong_verifier_is_refused(app, authorize):
    code = authorize(KEY, app, **PKCE)["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri}
    form |= {"client_id": app.client_id, "client_secret": app.client_secret}

    wrong = Browser().post(
        "/sandbox/outlook/common/oauth2/v2.0/token", {**form, "code_verifier": "x"}
    )

    assert wrong.json()["error"] == "invalid_grant"


# --- contract: the recordings win -------------------------------------------------------------
def test_delta_pages_have_the_recorded_shape_kind_by_kind(token):
    first = api(token, "get", "me/calendar/calendarView/delta", WINDOW, **UTC)
    entries = delta_all(token)
    page1, page2 = load("msgraph", "delta_page1.json"), load("msgraph", "delta_page2.json")
    by_type = {e["type"]: e for e in entries}

    assert same_shape({k: v for k, v in page1.items() if k != "value"}, first.json()) == []
    assert first["Preference-Applied"] == "odata.maxpagesize=5"
    assert same_shape(page1["value"][0], by_type["occurrence"]) == []
    assert same_shape(page1["value"][1], by_type["exception"]) == []
    assert same_shape(page2["value"][0], by_type["singleInstance"]) == []
    assert "seriesMaster" not in by_type  # delta lists instances, not masters
    assert by_type["occurrence"]["start"]["timeZone"] == "UTC"


def test_a_master_and_a_single_event_read_as_recorded(token):
    entries = delta_all(token)
    master_id = next(e["seriesMasterId"] for e in entries if e["type"] == "exception")
    single_id = next(e["id"] for e in entries if e["type"] == "singleInstance")
    query = {"$select": outlook_provider.SELECT, "$expand": outlook_provider.EXPAND}

    master = api(token, "get", f"me/events/{master_id}", query, **UTC).json()
    single = api(token, "get", f"me/events/{single_id}", query, **UTC).json()

    recorded = load("msgraph", "event_master.json")
    # The recording's series carries DayFlow's id; a seeded one has no extended property yet.
    assert same_shape({**recorded, "singleValueExtendedProperties": []}, master) == []
    assert len(master["cancelledOccurrences"]) == 1
    assert same_shape(load("msgraph", "event_single.json"), single) == []


def test_an_expired_delta_link_is_sync_state_not_found(token):
    body = api(
        token, "get", "me/calendar/calendarView/delta", WINDOW, HTTP_PREFER="odata.maxpagesize=500"
    ).json()
    Account.objects.update(cursor_floor=10**9)

    expired = Browser().get(body["@odata.deltaLink"], HTTP_AUTHORIZATION=f"Bearer {token}")

    assert expired.status_code == 410
    recorded = load("msgraph", "error_sync_state_not_found.json")
    assert same_shape(recorded, expired.json()) == []
    assert expired.json()["error"]["code"] == recorded["error"]["code"]


def test_401_and_a_throttling_storm(token):
    Account.objects.update(throttled=1)

    assert (
        api("nope", "get", "me/calendars").json()["error"]["code"] == "InvalidAuthenticationToken"
    )
    throttled = api(token, "get", "me/calendars")
    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "1"


def test_a_stale_if_match_is_412(token):
    single = next(e for e in delta_all(token) if e["type"] == "singleInstance")

    response = api(
        token, "patch", f"me/events/{single['id']}", {"subject": "x"}, HTTP_IF_MATCH='W/"old"'
    )

    assert response.status_code == 412
    assert response.json()["error"]["code"] == "ErrorIrresolvableConflict"


# --- subscriptions and notifications, over HTTP -----------------------------------------------
@pytest.fixture
def live_token(transactional_db, live_server, app, connect) -> str:
    return connect(KEY, app, "common/oauth2/v2.0/token", **PKCE)["access_token"]


def test_a_subscription_needs_the_validation_echo_and_then_notifies_with_client_state(
    live_token, live_server, settings
):
    settings.ROOT_URLCONF = "tests.sandbox.echo_urls"
    hook = f"{live_server.url}/echo/"
    body = {
        "changeType": "created,updated,deleted",
        "notificationUrl": hook,
        "resource": "me/events",
        "expirationDateTime": "2099-01-01T00:00:00Z",
        "clientState": "state-1",
    }

    too_long = api(live_token, "post", "subscriptions", body)
    refused = api(
        live_token,
        "post",
        "subscriptions",
        {**body, "notificationUrl": f"{live_server.url}/silent/", "expirationDateTime": soon()},
    )
    created = api(live_token, "post", "subscriptions", {**body, "expirationDateTime": soon()})
    event = next(e for e in Item.objects.filter(kind="event") if e.data["type"] == "singleInstance")
    api(live_token, "patch", f"me/events/{event.remote_id}", {"subject": "Moved"})

    assert too_long.status_code == 400
    assert refused.status_code == 400
    assert created.status_code == 201
    sent = json.loads(bytes(Delivery.objects.get().body))
    assert same_shape(load("webhooks/outlook", "event.created.json"), sent) == []
    assert sent["value"][0]["changeType"] == "updated"
    assert verify_graph(sent["value"], "state-1").ok


def soon() -> str:
    import datetime as dt

    return (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=4000)).isoformat().replace("+00:00", "Z")


# --- the real provider, over HTTP -------------------------------------------------------------
@pytest.fixture
def provider(transactional_db, live_server, app, connect, connection, monkeypatch):
    tokens = connect(KEY, app, "common/oauth2/v2.0/token", **PKCE)
    monkeypatch.setattr(OutlookProvider, "api_base", f"{live_server.url}/sandbox/outlook/v1.0")
    http = HttpClient(
        KEY,
        auth_headers=lambda: {"Authorization": f"Bearer {tokens['access_token']}"},
        rate=(0, 1.0),
        sleep=lambda seconds: None,
    )
    yield OutlookProvider(connection, http=http)
    http.session.close()


def pull_all(provider, cursor=None):
    items, deleted = [], []
    while True:
        page = provider.pull(cursor)
        items += page.items
        deleted += page.deleted_ids
        cursor = page.next_cursor
        if not page.has_more:
            return items, deleted, cursor


def test_the_provider_pulls_creates_updates_deletes_and_pulls_just_the_changes(provider):
    import datetime as dt

    items, _, cursor = pull_all(provider)
    titles = {i.fields["title"] for i in items}
    assert {"Weekly sync", "Weekly sync (moved)", "Team offsite", "Flight to New York"} <= titles
    series = next(i for i in items if i.fields["title"] == "Weekly sync")
    assert series.fields["rrule"].startswith("FREQ=WEEKLY")
    assert len(series.fields["exdates"]) == 1

    start = dt.datetime(2026, 12, 10, 15, 0, tzinfo=dt.UTC)
    fields = {"title": "Sandbox demo", "start": start, "end": start + dt.timedelta(hours=1)}
    created = provider.create({**fields, "timezone": "UTC", "all_day": False}, dayflow_id="df-2")
    items, deleted, cursor = pull_all(provider, cursor)
    assert ([i.remote_id for i in items], deleted) == ([created.remote_id], [])
    assert items[0].dayflow_id == "df-2"

    updated = provider.update(
        created.remote_id, {**created.fields, "title": "Demo"}, created.version
    )
    items, _, cursor = pull_all(provider, cursor)
    assert [(i.remote_id, i.fields["title"]) for i in items] == [(created.remote_id, "Demo")]

    provider.delete(created.remote_id, updated.version)
    items, deleted, cursor = pull_all(provider, cursor)
    assert deleted == [created.remote_id]
    # An @removed entry names no master, so the provider reads the known series again: they
    # come back unchanged (OutlookProvider._page_of).
    assert {i.remote_id for i in items} <= {i.remote_id for i in pull_all(provider)[0]}
    assert all(i.fields["rrule"] for i in items)


def test_the_provider_starts_over_when_the_delta_link_expires(provider):
    _, _, cursor = pull_all(provider)
    Account.objects.update(cursor_floor=10**9)

    page = provider.pull(cursor)

    assert page.full
    assert page.items


# --- JSON batching -----------------------------------------------------------------------------
def batch(token: str, steps: Any):
    return api(token, "post", "$batch", {"requests": steps} if isinstance(steps, list) else steps)


def test_a_batch_runs_each_request_as_its_route_and_a_412_is_that_ones_alone(token):
    single = next(e for e in delta_all(token) if e["type"] == "singleInstance")
    json_type = {"Content-Type": "application/json"}
    created_body = {
        "subject": "From a batch",
        "start": {"dateTime": "2026-12-10T15:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-10T16:00:00", "timeZone": "UTC"},
    }
    steps = [
        {"id": "a", "method": "POST", "url": "/me/calendar/events", "headers": json_type,
         "body": created_body},
        {"id": "b", "method": "PATCH", "url": f"/me/events/{single['id']}",
         "headers": {**json_type, "If-Match": 'W/"old"'}, "body": {"subject": "x"}},
        {"id": "c", "method": "GET", "url": "/me/events/nope"},
    ]  # fmt: skip

    response = batch(token, steps)

    assert response.status_code == 200
    answers = {r["id"]: r for r in response.json()["responses"]}
    assert answers["a"]["status"] == 201
    assert answers["a"]["body"]["subject"] == "From a batch"
    assert answers["b"]["status"] == 412
    assert answers["b"]["body"]["error"]["code"] == "ErrorIrresolvableConflict"
    assert answers["c"]["status"] == 404
    read = api(token, "get", f"me/events/{single['id']}").json()
    assert read["subject"] == single["subject"]


BAD_BATCHES = [
    ("no requests", {"nope": []}),
    ("empty", []),
    ("21 requests", [{"id": str(n), "method": "GET", "url": "/me"} for n in range(21)]),
    ("same id twice", [{"id": "1", "method": "GET", "url": "/me"}] * 2),
    ("a step without a url", [{"id": "1", "method": "GET"}]),
    ("a body without Content-Type", [{"id": "1", "method": "POST", "url": "/me/events",
                                     "body": {}}]),
]  # fmt: skip


@pytest.mark.parametrize("steps", [c[1] for c in BAD_BATCHES], ids=[c[0] for c in BAD_BATCHES])
def test_a_batch_it_cannot_carry_is_400_and_runs_nothing(token, steps):
    before = Item.objects.count()

    response = batch(token, steps)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"
    assert Item.objects.count() == before


def test_a_nested_batch_or_an_unknown_url_is_that_steps_400(token):
    steps = [
        {"id": "1", "method": "POST", "url": "/$batch"},
        {"id": "2", "method": "GET", "url": "/me/nothing/here"},
        {"id": "3", "method": "GET", "url": "/me"},
    ]

    answers = {r["id"]: r["status"] for r in batch(token, steps).json()["responses"]}

    assert answers == {"1": 400, "2": 400, "3": 200}


def test_the_provider_writes_through_the_sandbox_batch(provider):
    import datetime as dt

    from integrations.providers.base import Write

    start = dt.datetime(2026, 12, 10, 15, 0, tzinfo=dt.UTC)
    fields = {
        "start": start,
        "end": start + dt.timedelta(hours=1),
        "timezone": "UTC",
        "all_day": False,
    }
    writes = [
        Write("create", {**fields, "title": f"B{n}"}, dayflow_id=f"df-b{n}") for n in range(3)
    ]
    created = provider.write_batch(writes)
    assert [c.dayflow_id for c in created] == ["df-b0", "df-b1", "df-b2"]

    renamed, stale, deleted = provider.write_batch(
        [
            Write("update", {**fields, "title": "B0!"}, created[0].remote_id, created[0].version),
            Write("update", {**fields, "title": "B1!"}, created[1].remote_id, 'W/"old"'),
            Write("delete", remote_id=created[2].remote_id, version=created[2].version),
        ]
    )

    assert renamed.fields["title"] == "B0!"
    assert stale.status == 412
    assert deleted is None
    titles = {i.fields["title"] for i in pull_all(provider)[0]}
    assert {"B0!", "B1"} <= titles
    assert "B2" not in titles
