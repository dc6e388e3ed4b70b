"""Google Calendar's batched writes (`GoogleCalendarProvider.write_batch`, integrations/providers/
google_calendar/batch.py) at the HTTP seam: batch requests of at most 50 calls to
`/batch/calendar/v3`, against the events fake (fake_google.py, which parses each multipart
request and answers in the documented multipart shape) or a hand-written answer. Each part is
its write's alone: a 412, a 404 or a rate limit inside a batch touches no other write; an answer
that cannot be read is Transient for the whole batch, which is never resent."""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
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
from integrations.providers.google_calendar import batch
from integrations.providers.google_calendar.batch import Answer, MalformedBatch, error_of, parse
from integrations.providers.google_calendar.provider import DAYFLOW_ID, GoogleCalendarProvider
from tests.integrations.calendar.fake_google import ANSWER_BOUNDARY, BATCH, FakeGoogleCalendar

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


def google_event(event_id: str, title: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "summary": title,
        "start": {"dateTime": "2026-03-25T13:00:00Z", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-25T14:00:00Z", "timeZone": "UTC"},
        **extra,
    }


def marked(event_id: str, title: str, dayflow_id: str) -> dict[str, Any]:
    return google_event(event_id, title, extendedProperties={"private": {DAYFLOW_ID: dayflow_id}})


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield FakeGoogleCalendar(mocked)


@pytest.fixture
def provider(http_for) -> GoogleCalendarProvider:
    connection = SimpleNamespace(field_mapping={"calendars": ["primary"]})
    return GoogleCalendarProvider(connection, http=http_for("google-calendar"))


def google_error(status: int, reason: str) -> dict[str, Any]:
    # The documented error shape (developers.google.com/calendar/api/guides/errors).
    detail = {"domain": "global", "reason": reason, "message": reason}
    return {"error": {"errors": [detail], "code": status, "message": reason}}


def answer(parts: list[tuple[str, int, Any]], boundary: str = ANSWER_BOUNDARY) -> str:
    """A batch answer as Google documents it: (request Content-ID, status, JSON body)."""
    out = []
    for content_id, status, body in parts:
        text = json.dumps(body) if body is not None else ""
        out += [
            f"--{boundary}",
            "Content-Type: application/http",
            f"Content-ID: <response-{content_id}>",
            "",
            f"HTTP/1.1 {status} X",
            "Content-Type: application/json; charset=UTF-8",
            f"Content-Length: {len(text.encode())}",
            "",
            text,
        ]
    return "\r\n".join([*out, f"--{boundary}--", ""])


def sent_parts(call) -> list[tuple[str, str]]:
    """(Content-ID, request line) of each part of a recorded batch request."""
    head = f"Content-Type: {call.request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        head + call.request.body
    )
    return [
        (p["Content-ID"], p.get_payload(decode=True).decode().split("\r\n")[0])
        for p in message.get_payload()
    ]


# --- a part's status as that write's error (a table) -------------------------------------------
STATUSES = [
    ("ok", 200, None, None),
    ("no content", 204, None, None),
    ("stale If-Match", 412, google_error(412, "conditionNotMet"), PreconditionFailed),
    ("not found", 404, google_error(404, "notFound"), NotFound),
    ("deleted", 410, google_error(410, "deleted"), Gone),
    ("bad request", 400, google_error(400, "invalid"), Permanent),
    ("forbidden", 403, google_error(403, "forbiddenForNonOrganizer"), Permanent),
    ("429", 429, google_error(429, "rateLimitExceeded"), RateLimited),
    ("403 rate limit", 403, google_error(403, "rateLimitExceeded"), RateLimited),
    ("403 user rate limit", 403, google_error(403, "userRateLimitExceeded"), RateLimited),
    ("backend error", 503, google_error(503, "backendError"), Transient),
    ("token refused inside", 401, google_error(401, "authError"), Transient),
]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [case[1:] for case in STATUSES],
    ids=[case[0] for case in STATUSES],
)
def test_a_part_maps_as_a_single_answer_does(status, body, expected) -> None:
    error = error_of(Answer(status, {}, body), "PUT")
    assert type(error) is expected if expected is not None else error is None
    if expected in (PreconditionFailed, NotFound, Gone, Permanent):
        assert error.status == status


# --- the parser ---------------------------------------------------------------------------------
def test_the_documented_answer_is_read_by_content_id_in_any_order() -> None:
    text = answer([("1", 204, None), ("0", 200, {"id": "e1", "summary": "Café ☕"})])
    content_type = f"multipart/mixed; boundary={ANSWER_BOUNDARY}"

    answers = parse(content_type, text.encode(), {"0", "1"})

    assert answers["0"].status == 200
    assert answers["0"].body["summary"] == "Café ☕"
    assert answers["1"] == Answer(204, answers["1"].headers, None)


MALFORMED = [
    ("application/json", '{"error": {}}', "not multipart"),
    ("multipart/mixed", answer([("0", 200, {})]), "no boundary"),
    (
        f"multipart/mixed; boundary={ANSWER_BOUNDARY}",
        answer([("7", 200, {})]),
        "a part for a call not sent",
    ),
    (
        f"multipart/mixed; boundary={ANSWER_BOUNDARY}",
        answer([("0", 200, {}), ("0", 200, {})]),
        "a call answered twice",
    ),
    (
        f"multipart/mixed; boundary={ANSWER_BOUNDARY}",
        answer([("0", 200, {}), ("1", 200, {}), ("2", 200, {})]),
        "more parts than calls",
    ),
    (
        f"multipart/mixed; boundary={ANSWER_BOUNDARY}",
        answer([("0", 200, {})]).replace("HTTP/1.1 200 X", "garbage"),
        "no status line",
    ),
    (
        f"multipart/mixed; boundary={ANSWER_BOUNDARY}",
        answer([("0", 200, {})]).replace("Content-ID: <response-0>", "Content-ID: <0>"),
        "a Content-ID that is not a response's",
    ),
]


@pytest.mark.parametrize(("content_type", "text", "why"), MALFORMED, ids=[c[2] for c in MALFORMED])
def test_an_answer_that_cannot_be_read_is_malformed(content_type, text, why) -> None:
    with pytest.raises(MalformedBatch):
        parse(content_type, text.encode(), {"0", "1"})


def test_an_answer_larger_than_the_bound_is_not_read(monkeypatch) -> None:
    monkeypatch.setattr(batch, "MAX_RESPONSE_BYTES", 100)
    text = answer([("0", 200, {"description": "x" * 200})])
    with pytest.raises(MalformedBatch, match="bytes"):
        parse(f"multipart/mixed; boundary={ANSWER_BOUNDARY}", text.encode(), {"0"})


# --- against the fake ---------------------------------------------------------------------------
def test_creates_updates_and_deletes_go_in_one_write_call_and_a_412_is_that_update_alone(
    provider, fake
) -> None:
    stale = fake.add(google_event("standup", "Standup"))
    gone_soon = fake.add(google_event("lunch", "Lunch"))
    writes = [
        Write("create", fields("Dentist"), dayflow_id="dayflow-event-1"),
        Write("update", fields("Standup moved"), remote_id="primary/standup", version='"old"'),
        Write("delete", remote_id="primary/lunch", version=gone_soon["etag"]),
    ]

    created, conflict, deleted = provider.write_batch(writes)

    assert isinstance(created, RemoteItem)
    assert created.fields["title"] == "Dentist"
    assert created.dayflow_id == "dayflow-event-1"
    assert isinstance(conflict, PreconditionFailed)
    assert deleted is None
    # The create's find and the update's read, then the three writes together.
    assert [[c["method"] for c in b] for b in fake.batches] == [
        ["GET", "GET"],
        ["POST", "PUT", "DELETE"],
    ]
    assert fake.batches[0][0]["path"].startswith(
        "/calendar/v3/calendars/primary/events?privateExtendedProperty=dayflowId%3Ddayflow-event-1"
    )
    assert fake.batches[1][1]["headers"]["If-Match"] == '"old"'
    assert fake.batches[1][2]["headers"]["If-Match"] == gone_soon["etag"]
    assert fake.events["standup"]["summary"] == stale["summary"] == "Standup"
    assert fake.events["lunch"]["status"] == "cancelled"


def test_an_update_sends_the_event_back_whole_with_dayflows_fields(provider, fake) -> None:
    kept = fake.add(google_event("kept", "Kept", colorId="5", attendees=[{"email": "a@b.c"}]))

    (renamed,) = provider.write_batch(
        [Write("update", fields("Kept, renamed"), remote_id="primary/kept", version=kept["etag"])]
    )

    assert renamed.fields["title"] == "Kept, renamed"
    put = fake.batches[-1][0]
    assert put["method"] == "PUT"
    assert put["body"]["colorId"] == "5"  # what DayFlow does not model goes back as it was
    assert put["body"]["attendees"] == [{"email": "a@b.c"}]


def test_120_deletes_take_3_calls_of_at_most_50(provider, fake) -> None:
    ids = [fake.add(google_event(f"e{n}", f"E{n}"))["id"] for n in range(120)]

    results = provider.write_batch([Write("delete", remote_id=f"primary/{i}") for i in ids])

    assert results == [None] * 120
    assert [len(b) for b in fake.batches] == [50, 50, 20]
    assert all(fake.events[i]["status"] == "cancelled" for i in ids)


def test_120_creates_take_3_find_calls_and_3_insert_calls_and_a_retry_duplicates_nothing(
    provider, fake
) -> None:
    writes = [Write("create", fields(f"E{n}"), dayflow_id=f"dayflow-event-{n}") for n in range(120)]

    first = provider.write_batch(writes)

    assert [r.dayflow_id for r in first] == [f"dayflow-event-{n}" for n in range(120)]
    assert [(len(b), b[0]["method"]) for b in fake.batches] == [
        (50, "GET"),
        (50, "GET"),
        (20, "GET"),
        (50, "POST"),
        (50, "POST"),
        (20, "POST"),
    ]
    fake.batches.clear()

    again = provider.write_batch(writes)  # the engine's retry after a crash

    assert [r.remote_id for r in again] == [r.remote_id for r in first]
    assert [b[0]["method"] for b in fake.batches] == ["GET", "GET", "GET"]
    assert len(fake.events) == 120


def test_creates_the_caller_looked_up_already_take_only_their_insert_calls(provider, fake) -> None:
    writes = [
        Write("create", fields(f"E{n}"), dayflow_id=f"dayflow-event-{n}", looked_up=True)
        for n in range(60)
    ]

    provider.write_batch(writes)

    assert [(len(b), b[0]["method"]) for b in fake.batches] == [(50, "POST"), (10, "POST")]
    assert len(fake.events) == 60


def test_missing_events_an_update_fails_a_delete_is_done(provider, fake) -> None:
    fake.add(google_event("cancelled", "Old"))
    fake.remove("cancelled")
    writes = [
        Write("update", fields("x"), remote_id="primary/nope", version='"1"'),
        Write("delete", remote_id="primary/nope-too"),
        Write("delete", remote_id="primary/cancelled"),  # 410: deleted already
    ]

    missing, deleted, already = provider.write_batch(writes)

    assert isinstance(missing, NotFound)
    assert deleted is None
    assert already is None
    # The failed read leaves nothing for the update to write.
    assert [c["method"] for c in fake.batches[-1]] == ["DELETE", "DELETE"]


def test_a_title_outside_ascii_goes_and_comes_back(provider, fake) -> None:
    (created,) = provider.write_batch(
        [Write("create", fields("Café ☕ 東京"), dayflow_id="dayflow-event-5")]
    )

    assert created.fields["title"] == "Café ☕ 東京"
    assert next(iter(fake.events.values()))["summary"] == "Café ☕ 東京"


def test_an_instance_of_a_series_is_written_alone(provider, fake) -> None:
    fake.add(
        google_event(
            "weekly",
            "Weekly",
            start={"dateTime": "2026-03-25T13:00:00+00:00", "timeZone": "UTC"},
            end={"dateTime": "2026-03-25T14:00:00+00:00", "timeZone": "UTC"},
            recurrence=["RRULE:FREQ=WEEKLY"],
        )
    )
    instance = fields(
        "Weekly (moved)",
        series_remote_id="primary/weekly",
        recurrence_id="2026-04-01T13:00:00+00:00",
    )

    (result,) = provider.write_batch([Write("create", instance, dayflow_id="dayflow-event-3")])

    assert fake.batches == []  # the single path: the instance listed, then PUT
    assert isinstance(result, RemoteItem)
    assert result.fields["title"] == "Weekly (moved)"


def test_a_batch_of_50_takes_50_slots_of_the_token_bucket(provider, fake) -> None:
    for n in range(50):
        fake.add(google_event(f"e{n}", f"E{n}"))
    admitted = []
    provider.http.gate.admit = lambda max_wait=None, slots=1: admitted.append(slots)

    provider.write_batch([Write("delete", remote_id=f"primary/e{n}") for n in range(50)])

    assert len(fake.batches) == 1
    assert admitted == [50]  # Google counts each inner call against the quota


# --- hand-written answers -------------------------------------------------------------------------
def test_mixed_failures_inside_one_batch_are_each_writes_alone(provider) -> None:
    parts = [
        ("3", 204, None),
        ("0", 429, google_error(429, "rateLimitExceeded")),
        ("1", 403, google_error(403, "userRateLimitExceeded")),
        ("2", 412, google_error(412, "conditionNotMet")),
    ]
    content_type = f"multipart/mixed; boundary={ANSWER_BOUNDARY}"
    with responses.RequestsMock() as mocked:
        mocked.post(BATCH, body=answer(parts), content_type=content_type)
        throttled, user_throttled, conflict, done = provider.write_batch(
            [Write("delete", remote_id=f"primary/e{n}", version='"9"') for n in range(4)]
        )
        sent = sent_parts(mocked.calls[0])

    assert isinstance(throttled, RateLimited)
    assert isinstance(user_throttled, RateLimited)
    assert isinstance(conflict, PreconditionFailed)
    assert done is None
    assert sent == [
        (f"<{n}>", f"DELETE /calendar/v3/calendars/primary/events/e{n} HTTP/1.1") for n in range(4)
    ]


@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [
        (200, "application/json", '{"kind": "not a batch"}'),
        (200, f"multipart/mixed; boundary={ANSWER_BOUNDARY}", "no parts at all"),
        (503, "application/json", json.dumps(google_error(503, "backendError"))),
    ],
    ids=["json", "no parts", "503"],
)
def test_a_write_batch_that_fails_as_a_whole_is_transient_and_never_resent(
    provider, status, content_type, body
) -> None:
    with responses.RequestsMock() as mocked:
        mocked.post(BATCH, status=status, body=body, content_type=content_type)
        results = provider.write_batch(
            [Write("delete", remote_id="primary/a"), Write("delete", remote_id="primary/b")]
        )
        calls = len(mocked.calls)

    assert [type(r) for r in results] == [Transient, Transient]
    assert calls == 1


def test_a_part_left_unanswered_is_that_writes_transient_error(provider) -> None:
    content_type = f"multipart/mixed; boundary={ANSWER_BOUNDARY}"
    with responses.RequestsMock() as mocked:
        mocked.post(BATCH, body=answer([("0", 204, None)]), content_type=content_type)
        done, unanswered = provider.write_batch(
            [Write("delete", remote_id="primary/a"), Write("delete", remote_id="primary/b")]
        )

    assert done is None
    assert isinstance(unanswered, Transient)


def test_a_batch_of_reads_is_resent_after_a_503(provider) -> None:
    event = google_event("kept", "Kept", etag='"4"')
    content_type = f"multipart/mixed; boundary={ANSWER_BOUNDARY}"
    with responses.RequestsMock() as mocked:
        mocked.post(BATCH, status=503, json=google_error(503, "backendError"))
        mocked.post(BATCH, body=answer([("0", 200, event)]), content_type=content_type)
        mocked.post(
            BATCH, body=answer([("0", 200, {**event, "etag": '"5"'})]), content_type=content_type
        )
        (updated,) = provider.write_batch(
            [Write("update", fields("Renamed"), remote_id="primary/kept", version='"4"')]
        )
        calls = len(mocked.calls)

    assert calls == 3  # the GETs twice, the PUT once
    assert updated.version == '"5"'


def test_a_garbled_answer_to_applied_creates_then_a_retry_duplicates_nothing(
    provider, fake
) -> None:
    writes = [Write("create", fields(f"E{n}"), dayflow_id=f"dayflow-event-{n}") for n in range(3)]
    fake.garble_writes = 1  # Google applies the inserts; the answer is lost on the way

    lost = provider.write_batch(writes)

    assert [type(r) for r in lost] == [Transient] * 3
    assert len(fake.events) == 3
    assert [b[0]["method"] for b in fake.batches] == ["GET", "POST"]  # not resent

    again = provider.write_batch(writes)

    assert [r.dayflow_id for r in again] == [f"dayflow-event-{n}" for n in range(3)]
    assert len(fake.events) == 3  # found by DayFlow's id, not inserted twice
    assert [b[0]["method"] for b in fake.batches] == ["GET", "POST", "GET"]


@pytest.mark.parametrize(
    ("api_base", "expected"),
    [
        ("https://www.googleapis.com/calendar/v3", BATCH),
        (
            "http://127.0.0.1:8000/sandbox/google-calendar/calendar/v3",
            "http://127.0.0.1:8000/sandbox/google-calendar/batch/calendar/v3",
        ),
    ],
    ids=["google", "sandbox"],
)
def test_the_batch_endpoint_sits_beside_the_api(api_base, expected) -> None:
    assert batch.batch_url(api_base) == expected
