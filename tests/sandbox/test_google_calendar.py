"""Google Calendar's emulator: the recorded shapes (tests/fixtures/google), PKCE, the sync
token and its 410, push channels, and the real GoogleCalendarProvider through it over HTTP."""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client as Browser

from integrations.providers.base import Write
from integrations.providers.errors import PreconditionFailed
from integrations.providers.google_calendar.provider import GoogleCalendarProvider
from integrations.providers.google_calendar.webhook import verify_google
from integrations.providers.http import HttpClient
from integrations.sandbox.google_calendar import CALENDAR, EVENT
from integrations.sandbox.models import Account, Delivery, Item
from tests.integrations.providers.support import load
from tests.sandbox.conftest import VERIFIER, account, challenge, same_shape

KEY = "google-calendar"
API = "/sandbox/google-calendar/calendar/v3"


@pytest.fixture
def app(register):
    return register(KEY)


@pytest.fixture
def token(app, connect) -> str:
    return connect(KEY, app, "token", code_challenge=challenge(), code_challenge_method="S256")[
        "access_token"
    ]


def api(token: str, method: str, path: str, data: Any = None, **headers: str):
    call = getattr(Browser(), method)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    if method in ("post", "put"):
        return call(
            f"{API}/{path}",
            data,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            **extra,
        )
    return call(f"{API}/{path}", data or {}, HTTP_AUTHORIZATION=f"Bearer {token}", **extra)


def everything(token: str, calendar: str = "primary", **params: Any) -> list[dict[str, Any]]:
    items, query = [], {"singleEvents": "false", "showDeleted": "true", **params}
    while True:
        body = api(token, "get", f"calendars/{calendar}/events", query).json()
        items += body["items"]
        if "nextPageToken" not in body:
            return items
        query = {**query, "pageToken": body["nextPageToken"]}


def without(event: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in names}


# --- OAuth: PKCE, no rotation, Google's revoke ----------------------------------------------
def exchange(app, code: str, verifier: str):
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    form |= {
        "redirect_uri": app.redirect_uri,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }
    return Browser().post("/sandbox/google-calendar/token", form)


def test_a_wrong_code_verifier_is_invalid_grant(app, authorize):
    code = authorize(KEY, app, code_challenge=challenge(), code_challenge_method="S256")["code"]

    assert exchange(app, code, "another-verifier").json()["error"] == "invalid_grant"


def test_the_right_code_verifier_buys_tokens_and_the_refresh_token_stays(app, authorize):
    code = authorize(KEY, app, code_challenge=challenge(), code_challenge_method="S256")["code"]
    body = exchange(app, code, VERIFIER).json()
    form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    form |= {"client_id": app.client_id, "client_secret": app.client_secret}

    refreshed = Browser().post("/sandbox/google-calendar/token", form).json()

    assert body["expires_in"] == 3599
    assert "refresh_token" not in refreshed  # Google's refresh tokens do not rotate
    assert Browser().post("/sandbox/google-calendar/token", form).status_code == 200


def test_revoking_an_unknown_token_is_invalid_token(app, token):
    assert Browser().post("/sandbox/google-calendar/revoke", {"token": "nope"}).json() == {
        "error": "invalid_token",
        "error_description": "Token expired or revoked",
    }
    assert Browser().post("/sandbox/google-calendar/revoke", {"token": token}).status_code == 200
    assert api(token, "get", "users/me/calendarList").status_code == 401


# --- contract: the recordings win -------------------------------------------------------------
def test_the_calendar_list_has_the_recorded_fields(token):
    body = api(token, "get", "users/me/calendarList").json()

    assert same_shape(load("google", "calendar_list.json"), body) == []
    assert {c["timeZone"] for c in body["items"]} == {"Europe/Berlin", "America/New_York"}


def test_events_have_the_recorded_fields_kind_by_kind(token):
    recorded = load("google", "events_full_page1.json")["items"]
    recorded += load("google", "events_full_page2.json")["items"]
    events = everything(token)
    master = next(e for e in events if e["summary"] == "Weekly sync")
    moved = next(e for e in events if e.get("summary") == "Weekly sync (moved)")
    cancelled = next(e for e in events if e["status"] == "cancelled")
    all_day = next(e for e in events if "date" in e["start"] and "recurrence" not in e)

    # extendedProperties is there only on events that have some (DayFlow's id).
    assert same_shape(without(recorded[0], "extendedProperties"), master) == []
    assert same_shape(recorded[1], moved) == []
    assert same_shape(recorded[2], cancelled) == []
    assert cancelled.keys() == recorded[2].keys()
    assert same_shape(without(recorded[3], "transparency"), all_day) == []


def test_pages_carry_a_page_token_and_only_the_last_a_sync_token(token):
    first = api(token, "get", "calendars/primary/events", {"maxResults": 3}).json()
    body = load("google", "events_full_page1.json")

    assert same_shape(without(body, "items"), without(first, "items")) == []
    assert "nextSyncToken" not in first
    assert len(everything(token, maxResults=3)) == len(everything(token))


def copies(kind: str, count: int) -> None:
    """`count` more items like the account's first of `kind` (events: in the primary
    calendar), in one insert."""
    owner = account(KEY)
    found = Item.objects.filter(account=owner, kind=kind, deleted=False).order_by("pk")
    if kind == EVENT:
        found = found.filter(container=owner.login)  # the primary calendar's id
    model = found.first()
    Item.objects.bulk_create(
        Item(
            account=owner,
            kind=kind,
            remote_id=f"copy{n}",
            container=model.container,
            data={**model.data, "id": f"copy{n}", "status": "confirmed"},
            seq=owner.seq,
        )
        for n in range(count)
    )


PAGE_CAPS = [
    pytest.param("calendars/primary/events", EVENT, 2500, id="events-2500"),
    pytest.param("users/me/calendarList", CALENDAR, 250, id="calendar-list-250"),
]


@pytest.mark.parametrize(("path", "kind", "cap"), PAGE_CAPS)
def test_a_page_is_served_at_the_documented_maximum_at_most(token, path, kind, cap):
    copies(kind, cap + 1)
    asked = api(token, "get", path, {"maxResults": cap * 2}).json()
    exact = api(token, "get", path, {"maxResults": cap}).json()

    assert len(asked["items"]) == len(exact["items"]) == cap
    assert "nextPageToken" in asked


def test_the_calendar_list_pages_by_100_unless_asked(token):
    copies(CALENDAR, 150)
    first = api(token, "get", "users/me/calendarList").json()
    second = api(token, "get", "users/me/calendarList", {"pageToken": first["nextPageToken"]})

    assert len(first["items"]) == 100
    assert "nextSyncToken" not in first
    assert "nextSyncToken" in second.json()
    assert len(first["items"]) + len(second.json()["items"]) == 152


@pytest.mark.parametrize("size", ["0", "-1", "ten", "1e3"])
def test_a_page_size_that_is_no_positive_number_is_400(token, size):
    for path in ("calendars/primary/events", "users/me/calendarList"):
        response = api(token, "get", path, {"maxResults": size})

        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["location"] == "maxResults"


def test_an_expired_sync_token_is_410_as_recorded(token):
    sync_token = api(token, "get", "calendars/primary/events").json()["nextSyncToken"]
    Account.objects.update(cursor_floor=10**9)

    response = api(token, "get", "calendars/primary/events", {"syncToken": sync_token})

    assert response.status_code == 410
    assert response.json() == load("google", "error_410_gone.json")


def test_a_stale_if_match_is_412_as_recorded(token):
    event = everything(token)[0]

    response = api(
        token, "delete", f"calendars/primary/events/{event['id']}", **{"If-Match": '"1"'}
    )

    assert response.status_code == 412
    assert response.json() == load("google", "error_412.json")


def test_an_unknown_token_is_401_and_a_storm_is_429(token):
    assert api("nope", "get", "users/me/calendarList").json()["error"]["code"] == 401
    account(KEY).__class__.objects.update(throttled=1)

    response = api(token, "get", "users/me/calendarList")

    assert response.status_code == 429
    assert response.json()["error"]["errors"][0]["reason"] == "rateLimitExceeded"


def test_a_channel_says_sync_then_exists_with_its_token(token):
    watch = {
        "id": "chan-1",
        "type": "web_hook",
        "address": "http://127.0.0.1:8000/hook",
        "token": "tok-1",
    }
    channel = api(token, "post", "calendars/primary/events/watch", watch).json()
    event = everything(token)[0]
    api(token, "put", f"calendars/primary/events/{event['id']}", {**event, "summary": "Changed"})

    states = [d.headers["X-Goog-Resource-State"] for d in Delivery.objects.order_by("pk")]
    last = Delivery.objects.last()
    assert set(channel) == {"kind", "id", "resourceId", "resourceUri", "token", "expiration"}
    assert states == ["sync", "exists"]
    assert bytes(last.body) == b""
    assert verify_google(last.headers, "chan-1", "tok-1").ok
    recorded = without(load("webhooks/google-calendar", "exists.json"), "_comment")
    assert recorded.keys() <= last.headers.keys()


# --- the real provider, over HTTP -------------------------------------------------------------
@pytest.fixture
def provider(transactional_db, live_server, app, connect, connection, monkeypatch):
    tokens = connect(KEY, app, "token", code_challenge=challenge(), code_challenge_method="S256")
    base = f"{live_server.url}/sandbox/google-calendar/calendar/v3"
    monkeypatch.setattr(GoogleCalendarProvider, "api_base", base)
    connection.field_mapping = {"calendars": ["primary"]}
    http = HttpClient(
        KEY,
        auth_headers=lambda: {"Authorization": f"Bearer {tokens['access_token']}"},
        rate=(0, 1.0),
        sleep=lambda seconds: None,
    )
    yield GoogleCalendarProvider(connection, http=http)
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
    items, _, cursor = pull_all(provider)
    titles = {i.fields["title"] for i in items}
    assert {"Weekly sync", "Weekly sync (moved)", "Team offsite", "Flight to New York"} <= titles
    flight = next(i for i in items if i.fields["title"] == "Flight to New York")
    day = flight.fields["start"].date()
    arrival = dt.datetime.combine(day, dt.time(13, 5), ZoneInfo("America/New_York"))
    assert flight.fields["end"] == arrival  # it ends in another zone than it starts

    start = dt.datetime(2026, 12, 10, 15, 0, tzinfo=dt.UTC)
    fields = {"title": "Sandbox demo", "start": start, "end": start + dt.timedelta(hours=1)}
    created = provider.create({**fields, "timezone": "UTC", "all_day": False}, dayflow_id="df-1")
    items, deleted, cursor = pull_all(provider, cursor)
    assert ([i.remote_id for i in items], deleted) == ([created.remote_id], [])
    assert items[0].dayflow_id == "df-1"

    updated = provider.update(
        created.remote_id, {**created.fields, "title": "Demo"}, created.version
    )
    assert updated.version != created.version
    items, _, cursor = pull_all(provider, cursor)
    assert [(i.remote_id, i.fields["title"]) for i in items] == [(created.remote_id, "Demo")]

    provider.delete(created.remote_id, updated.version)
    items, deleted, cursor = pull_all(provider, cursor)
    assert (items, deleted) == ([], [created.remote_id])


def test_the_provider_starts_over_when_the_sync_token_expires(provider):
    _, _, cursor = pull_all(provider)
    Account.objects.update(cursor_floor=10**9)

    page = provider.pull(cursor)

    assert page.full
    assert page.items


# --- batch requests (https://developers.google.com/calendar/api/guides/batch) ----------------
BATCH = "/sandbox/google-calendar/batch/calendar/v3"


def batch_request(token: str, parts: list[str], boundary: str = "dayflow_b"):
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return Browser().post(
        BATCH,
        body.encode(),
        content_type=f"multipart/mixed; boundary={boundary}",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def http_part(content_id: str, line: str, body: Any = None, **headers: str) -> str:
    lines = ["Content-Type: application/http", f"Content-ID: <{content_id}>", "", line]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    if body is None:
        return "\r\n".join([*lines, "", ""])
    return "\r\n".join([*lines, "Content-Type: application/json", "", json.dumps(body)])


def answered(response) -> dict[str, tuple[int, Any]]:
    head = f"Content-Type: {response['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        head + response.content
    )
    out = {}
    for part in message.get_payload():
        assert part.get_content_type() == "application/http"
        raw = part.get_payload(decode=True).decode().replace("\r\n", "\n")
        head_text, _, body = raw.partition("\n\n")
        status = int(head_text.split("\n")[0].split(" ")[1])
        out[part["Content-ID"]] = (status, json.loads(body) if body.strip() else None)
    return out


def test_a_batch_runs_each_part_as_its_route_and_a_412_is_that_ones_alone(token):
    event = everything(token)[0]
    new = {
        "summary": "From a batch",
        "start": {"dateTime": "2026-12-10T15:00:00Z"},
        "end": {"dateTime": "2026-12-10T16:00:00Z"},
    }
    parts = [
        http_part("a", "POST /calendar/v3/calendars/primary/events HTTP/1.1", new),
        http_part(
            "b",
            f"PUT /calendar/v3/calendars/primary/events/{event['id']} HTTP/1.1",
            {**event, "summary": "Stale"},
            If_Match='"0"',
        ),
        http_part("c", f"GET /calendar/v3/calendars/primary/events/{event['id']} HTTP/1.1"),
    ]

    response = batch_request(token, parts)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("multipart/mixed; boundary=")
    answers = answered(response)
    assert list(answers) == ["<response-a>", "<response-b>", "<response-c>"]  # in order
    assert answers["<response-a>"][0] == 200
    assert answers["<response-a>"][1]["summary"] == "From a batch"
    assert answers["<response-b>"][0] == 412
    assert answers["<response-b>"][1]["error"]["errors"][0]["reason"] == "conditionNotMet"
    assert answers["<response-c>"] == (200, event)  # the 412 changed nothing


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{}"),
        ("multipart/mixed; boundary=x", b"--x--\r\n"),
        ("multipart/mixed; boundary=x", b"--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n"),
    ],
    ids=["not multipart", "no parts", "a part that is not a request"],
)
def test_a_batch_it_cannot_carry_is_400_and_runs_nothing(token, content_type, body):
    before = Item.objects.count()
    response = Browser().post(
        BATCH, body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code == 400
    assert Item.objects.count() == before


def test_more_than_1000_calls_is_400(token):
    part = http_part("x", "GET /calendar/v3/calendars/primary/events/nope HTTP/1.1")

    assert batch_request(token, [part] * 1001).status_code == 400


def test_a_batch_without_a_token_is_401(app):
    response = Browser().post(BATCH, b"--x--\r\n", content_type="multipart/mixed; boundary=x")

    assert response.status_code == 401


def test_a_part_outside_the_calendar_api_or_a_nested_batch_is_that_parts_404(token):
    parts = [
        http_part("1", "GET /gmail/v1/users/me/messages HTTP/1.1"),
        http_part("2", "POST /calendar/v3/../batch/calendar/v3 HTTP/1.1"),
        http_part("3", "GET /calendar/v3/users/me/calendarList HTTP/1.1"),
    ]

    answers = answered(batch_request(token, parts))

    assert [status for status, _ in answers.values()] == [404, 404, 200]


def test_a_part_with_an_escaped_calendar_id_reaches_that_calendar(token):
    family = next(c for c in account(KEY).items.filter(kind=CALENDAR) if "@group" in c.remote_id)
    event = everything(token, family.remote_id)[0]
    escaped = family.remote_id.replace("@", "%40")
    line = f"GET /calendar/v3/calendars/{escaped}/events/{event['id']} HTTP/1.1"

    answers = answered(batch_request(token, [http_part("1", line)]))

    assert answers["<response-1>"] == (200, event)


def test_the_provider_writes_through_the_sandbox_batch(provider):
    start = dt.datetime(2026, 12, 10, 15, 0, tzinfo=dt.UTC)
    fields = {"start": start, "end": start + dt.timedelta(hours=1), "timezone": "UTC"}
    fields |= {"all_day": False}
    writes = [
        Write("create", {**fields, "title": f"B{n}"}, dayflow_id=f"df-b{n}") for n in range(3)
    ]
    created = provider.write_batch(writes)
    assert [c.dayflow_id for c in created] == ["df-b0", "df-b1", "df-b2"]
    assert provider.write_batch(writes) == created  # a retry finds them

    renamed, stale, deleted = provider.write_batch(
        [
            Write("update", {**fields, "title": "B0!"}, created[0].remote_id, created[0].version),
            Write("update", {**fields, "title": "B1!"}, created[1].remote_id, '"old"'),
            Write("delete", remote_id=created[2].remote_id, version=created[2].version),
        ]
    )

    assert renamed.fields["title"] == "B0!"
    assert isinstance(stale, PreconditionFailed)
    assert deleted is None
    titles = [i.fields["title"] for i in pull_all(provider)[0]]
    assert {"B0!", "B1"} <= set(titles)
    assert "B2" not in titles
    assert titles.count("B0!") == 1
