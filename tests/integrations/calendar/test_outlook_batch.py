"""Outlook's batched writes (`OutlookProvider.write_batch`, integrations/providers/outlook/
batch.py) at the HTTP seam: Graph's JSON batching of at most 20 requests a `$batch`, against
the calendar fake (fake_graph.py) or a hand-written `$batch` answer. Each answer is its
write's alone: a 412, a 404 or a 429 inside a batch touches no other write."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

import pytest
import responses

from integrations.providers.base import RemoteItem, Write
from integrations.providers.errors import (
    Gone,
    NotFound,
    Permanent,
    PreconditionFailed,
    RateLimited,
    Transient,
)
from integrations.providers.outlook.batch import Answer, _error
from integrations.providers.outlook.provider import DAYFLOW_ID, OutlookProvider
from tests.integrations.calendar.fake_graph import BATCH, FakeGraphCalendar

START = dt.datetime(2026, 3, 25, 13, tzinfo=dt.UTC)


def fields(title: str, **changes: Any) -> dict[str, Any]:
    base = {
        "title": title,
        "start": START,
        "end": START + dt.timedelta(hours=1),
        "timezone": "UTC",
        "all_day": False,
        "description": "",
        "location": "",
    }
    return base | changes


def graph_body(title: str) -> dict[str, Any]:
    return {
        "subject": title,
        "start": {"dateTime": "2026-03-25T13:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-25T14:00:00", "timeZone": "UTC"},
    }


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield FakeGraphCalendar(mocked)


@pytest.fixture
def provider(http_for) -> OutlookProvider:
    return OutlookProvider(SimpleNamespace(field_mapping={}), http=http_for("outlook"))


# --- an answer's status as that write's error (a table) ----------------------------------------
STATUSES = [
    ("created", 201, {}, None),
    ("no content", 204, {}, None),
    ("stale If-Match", 412, {}, PreconditionFailed),
    ("conflict", 409, {}, PreconditionFailed),
    ("not found", 404, {}, NotFound),
    ("gone", 410, {}, Gone),
    ("bad request", 400, {}, Permanent),
    ("throttled", 429, {"Retry-After": "30"}, RateLimited),
    ("server busy", 503, {}, Transient),
    ("token refused inside", 401, {}, Transient),
]


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [case[1:] for case in STATUSES],
    ids=[case[0] for case in STATUSES],
)
def test_an_answer_maps_as_a_single_answer_does(status, headers, expected) -> None:
    body = {"error": {"code": "SomeCode", "message": "x"}}
    error = _error(Answer(status, headers, body), "PATCH")
    assert type(error) is expected if expected is not None else error is None
    if expected is not None and expected is not Transient and expected is not RateLimited:
        assert error.status == status
    if expected is RateLimited:
        assert error.retry_after == 30.0


# --- against the fake ---------------------------------------------------------------------------
def test_three_writes_go_in_one_batch_and_a_412_is_that_update_alone(provider, fake) -> None:
    stale = fake.add(graph_body("Standup"))
    gone_soon = fake.add(graph_body("Lunch"))
    writes = [
        Write("create", fields("Dentist")),
        Write("update", fields("Standup moved"), remote_id=stale["id"], version='W/"old"'),
        Write("delete", remote_id=gone_soon["id"], version=gone_soon["@odata.etag"]),
    ]

    created, conflict, deleted = provider.write_batch(writes)

    assert isinstance(created, RemoteItem)

    assert created.fields["title"] == "Dentist"
    assert isinstance(conflict, PreconditionFailed)
    assert deleted is None
    # The update's read, then the three writes together, with If-Match as the single path.
    assert [[s["method"] for s in batch] for batch in fake.batches] == [
        ["GET"],
        ["POST", "PATCH", "DELETE"],
    ]
    assert fake.batches[1][1]["headers"]["If-Match"] == 'W/"old"'
    assert fake.batches[1][2]["headers"]["If-Match"] == gone_soon["@odata.etag"]
    assert fake.events[stale["id"]]["subject"] == "Standup"
    assert set(fake.events) == {stale["id"], created.remote_id}


def test_45_deletes_take_3_requests_of_at_most_20(provider, fake) -> None:
    ids = [fake.add(graph_body(f"e{n}"))["id"] for n in range(45)]

    results = provider.write_batch([Write("delete", remote_id=i) for i in ids])

    assert results == [None] * 45
    assert [len(batch) for batch in fake.batches] == [20, 20, 5]
    assert fake.events == {}


def test_each_request_of_a_batch_takes_a_slot_of_the_mailbox_limit(provider, fake) -> None:
    # Graph evaluates each request of a $batch against the mailbox's 10,000 per 10 minutes.
    ids = [fake.add(graph_body(f"e{n}"))["id"] for n in range(25)]
    admitted = []
    provider.http.gate.admit = lambda max_wait=None, slots=1: admitted.append(slots)

    provider.write_batch([Write("delete", remote_id=i) for i in ids])

    assert [len(batch) for batch in fake.batches] == [20, 5]
    assert admitted == [20, 5]


def test_45_creates_look_for_their_id_then_post_in_3_plus_3_requests(provider, fake) -> None:
    writes = [Write("create", fields(f"e{n}"), dayflow_id=f"dayflow-event-{n}") for n in range(45)]

    results = provider.write_batch(writes)

    assert [r.dayflow_id for r in results] == [f"dayflow-event-{n}" for n in range(45)]
    assert [(len(b), b[0]["method"]) for b in fake.batches] == [
        (20, "GET"),
        (20, "GET"),
        (5, "GET"),
        (20, "POST"),
        (20, "POST"),
        (5, "POST"),
    ]
    stored = {
        p["value"]
        for e in fake.events.values()
        for p in e["singleValueExtendedProperties"]
        if p["id"] == DAYFLOW_ID
    }
    assert stored == {f"dayflow-event-{n}" for n in range(45)}


def test_a_retried_create_finds_its_event_instead_of_posting(provider, fake) -> None:
    made = fake.add(
        graph_body("Dentist")
        | {"singleValueExtendedProperties": [{"id": DAYFLOW_ID, "value": "dayflow-event-7"}]}
    )

    (found,) = provider.write_batch(
        [Write("create", fields("Dentist"), dayflow_id="dayflow-event-7")]
    )

    assert found.remote_id == made["id"]
    assert [[s["method"] for s in batch] for batch in fake.batches] == [["GET"]]
    assert len(fake.events) == 1


def test_missing_events_an_update_fails_a_delete_is_done(provider, fake) -> None:
    kept = fake.add(graph_body("Kept"))
    writes = [
        Write("update", fields("x"), remote_id="nope", version='W/"1"'),
        Write("delete", remote_id="nope-too"),
        Write("update", fields("Kept, renamed"), remote_id=kept["id"], version=kept["@odata.etag"]),
    ]

    missing, deleted, renamed = provider.write_batch(writes)

    assert isinstance(missing, NotFound)
    assert deleted is None
    assert renamed.fields["title"] == "Kept, renamed"
    # Only what changed is PATCHed, as the single path does.
    patch = fake.batches[-1][-1]
    assert patch["method"] == "PATCH"
    assert set(patch["body"]) == {"subject"}


def test_an_instance_of_a_series_is_written_alone(provider, fake) -> None:
    master = fake.add(
        graph_body("Weekly")
        | {
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["wednesday"]},
                "range": {"type": "noEnd", "startDate": "2026-03-25"},
            }
        }
    )
    instance = fields(
        "Weekly (moved)",
        series_remote_id=master["id"],
        recurrence_id="2026-04-01T13:00:00+00:00",
    )

    (result,) = provider.write_batch([Write("create", instance, dayflow_id="dayflow-event-3")])

    assert fake.batches == []  # the single path: the instances listed, the one PATCHed
    assert isinstance(result, RemoteItem)
    assert result.fields["title"] == "Weekly (moved)"


# --- hand-written answers -------------------------------------------------------------------------
def test_a_throttled_step_is_rate_limited_with_its_retry_after_alone(provider) -> None:
    answers = {
        "responses": [
            {"id": "1", "status": 429, "headers": {"Retry-After": "12"}, "body": {}},
            {"id": "0", "status": 204, "headers": {}},
        ]
    }
    with responses.RequestsMock() as mocked:
        mocked.post(BATCH, json=answers)
        done, throttled = provider.write_batch(
            [Write("delete", remote_id="a"), Write("delete", remote_id="b")]
        )
        sent = json.loads(mocked.calls[0].request.body)["requests"]

    assert done is None
    assert isinstance(throttled, RateLimited)
    assert throttled.retry_after == 12.0
    assert [(s["id"], s["method"], s["url"]) for s in sent] == [
        ("0", "DELETE", "/me/events/a"),
        ("1", "DELETE", "/me/events/b"),
    ]


def test_a_step_left_unanswered_is_that_writes_error(provider) -> None:
    with responses.RequestsMock() as mocked:
        mocked.post(BATCH, json={"responses": [{"id": "0", "status": 204}]})
        done, unanswered = provider.write_batch(
            [Write("delete", remote_id="a"), Write("delete", remote_id="b")]
        )

    assert done is None
    assert isinstance(unanswered, Permanent)
    assert "responses" in str(unanswered)


def test_an_empty_first_page_of_a_find_is_followed_as_the_single_path_does(provider) -> None:
    event = {
        "id": "made-before",
        **graph_body("Dentist"),
        "singleValueExtendedProperties": [{"id": DAYFLOW_ID, "value": "dayflow-event-9"}],
    }
    later = "https://graph.microsoft.com/v1.0/me/events?$skiptoken=2"
    first_page = {"value": [], "@odata.nextLink": later}
    with responses.RequestsMock() as mocked:
        mocked.post(BATCH, json={"responses": [{"id": "0", "status": 200, "body": first_page}]})
        mocked.get("https://graph.microsoft.com/v1.0/me/events", json=first_page)
        mocked.get(later, json={"value": [event]})
        (found,) = provider.write_batch(
            [Write("create", fields("Dentist"), dayflow_id="dayflow-event-9")]
        )
        posts = [c for c in mocked.calls if c.request.method == "POST"]

    assert found.remote_id == "made-before"
    assert len(posts) == 1  # the finds' batch; nothing created
