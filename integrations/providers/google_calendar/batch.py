"""Google Calendar's batched writes (`GoogleCalendarProvider.write_batch`): HTTP batch requests.

"Send batch requests", https://developers.google.com/calendar/api/guides/batch: a POST to the
API's batch path, `/batch/calendar/v3`, with a `multipart/mixed` body; each part is
`Content-Type: application/http` with an optional `Content-ID`, and holds one whole HTTP
request whose URL is the path only (`/calendar/v3/calendars/{calendarId}/events`). The outer
request's headers (Authorization) apply to every part. The answer is one `multipart/mixed`
response, a part per call "in the same order as the requests", each `Content-ID:
response-<the request's Content-ID>` holding an HTTP status line, headers and the JSON body.
At most 1,000 calls a batch, and "a set of n requests batched together counts toward your
usage limit as n requests, not as one request".

So a batch saves HTTP requests, not quota: each inner call takes a slot of the connection's
token bucket before the batch leaves (`HttpClient.request`'s `quota`), and `MAX_CALLS` is 50,
the size Google's batch guides recommend as an upper bound for their other APIs (Gmail: "sending
batches larger than 50 requests is not recommended"): a batch of 1,000 would ask for more than
a user's per-minute quota (600) at once and come back as rateLimitExceeded parts.

Each write sends what the single write sends: creates first look for the event carrying
DayFlow's id (`privateExtendedProperty`), updates read the event to send it back whole with
DayFlow's fields (events.update replaces the event), both as GETs batched together; then the
POSTs (insert), PUTs (with If-Match) and DELETEs (with If-Match) go in one batch. Each part's
status becomes that write's typed error as the single call's would be: a 412 is that write's
conflict, a 404 or 410 its NotFound / Gone (a delete's success), a 429 or a 403
rateLimitExceeded its RateLimited. A batch of GETs may be resent; a batch of writes never is
(`idempotent=False`): a call that fails as a whole, or an answer that cannot be read (not
multipart, a part without its Content-ID, too large), is Transient for each write of the
batch, which the engine leaves for the next run, where a create finds the event it made and
an update whose etag moved meets a 412. Instances of a series are written one by one, as the
single path writes them (`events.instances` first).

Why a create looks before it inserts, unless the caller looked already: Google takes
client-supplied event ids, but "due to the globally distributed nature of the system, we cannot
guarantee that ID collisions will be detected at event creation time"
(https://developers.google.com/calendar/api/v3/reference/events, `id`), so an id derived from
DayFlow's would not reliably turn a resent insert into a 409; the find by DayFlow's id does.
The engine's creates come `looked_up` (it looked for every earlier run's unfinished create
before this run wrote anything: `sync.engine.plan.settle_intents`), so they cost one quota
unit, not two.
"""

from __future__ import annotations

import dataclasses
import email.parser
import email.policy
import json
import uuid
from email.message import Message
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from integrations.providers import events
from integrations.providers.base import Provider, Write, WriteResult
from integrations.providers.errors import (
    Gone,
    NotFound,
    Permanent,
    ProviderError,
    RateLimited,
    Transient,
)
from integrations.providers.http import BACKOFF_BASE, ERRORS_BY_STATUS, OVERLOAD_STATUSES

if TYPE_CHECKING:
    from integrations.providers.google_calendar.provider import GoogleCalendarProvider

SERVICE = "google-calendar"
MAX_CALLS = 50  # per batch request; Google's own limit is 1,000 (see the module docstring)
API_PATH = "/calendar/v3"  # what an inner request's path starts with
BATCH_PATH = "/batch/calendar/v3"
# An answer larger than this is not read: 50 events of Google's largest plausible size
# (descriptions up to 8 KB, attendees, extended properties) fit many times over.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


@dataclasses.dataclass(frozen=True)
class Call:
    """One inner request of a batch; `path` from the host on (`/calendar/v3/...`)."""

    method: str
    path: str
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body: dict[str, Any] | None = None

    def as_part(self, content_id: str) -> str:
        lines = [
            "Content-Type: application/http",
            f"Content-ID: <{content_id}>",
            "",
            f"{self.method} {self.path} HTTP/1.1",
        ]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.body is None:
            return "\r\n".join([*lines, "", ""])
        # ASCII JSON: the part needs no charset, and no byte of it is ever misread.
        payload = json.dumps(self.body, ensure_ascii=True, separators=(",", ":"))
        lines += ["Content-Type: application/json; charset=UTF-8", "", payload]
        return "\r\n".join(lines)


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


Outcome = Answer | ProviderError


class MalformedBatch(Exception):
    """The batch answer cannot be read as Google documents it."""


def build(calls: dict[str, Call], boundary: str) -> bytes:
    """The multipart/mixed body of a batch request: one part per call, by Content-ID."""
    parts = [f"--{boundary}\r\n{call.as_part(cid)}\r\n" for cid, call in calls.items()]
    return ("".join(parts) + f"--{boundary}--\r\n").encode("ascii")


def parse(content_type: str, content: bytes, expected: set[str]) -> dict[str, Answer]:
    """The answers of a batch response by the Content-ID of their request (`response-<id>`
    in the part). MalformedBatch for anything but a multipart/mixed answer whose parts are
    application/http responses to `expected` ids, each at most once."""
    if len(content) > MAX_RESPONSE_BYTES:
        raise MalformedBatch(f"answer of {len(content)} bytes")
    if not content_type.lower().startswith("multipart/mixed") or "boundary" not in content_type:
        raise MalformedBatch(f"not multipart/mixed: {content_type[:100]!r}")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(head + content)
    parts = message.get_payload() if message.is_multipart() else None
    if not isinstance(parts, list) or message.defects:
        raise MalformedBatch("not a readable multipart body")
    if len(parts) > len(expected):
        raise MalformedBatch(f"{len(parts)} parts for {len(expected)} calls")
    answers: dict[str, Answer] = {}
    for part in parts:
        content_id = _content_id(part)
        if content_id not in expected or content_id in answers:
            raise MalformedBatch(f"a part answers {content_id[:80]!r}")
        answers[content_id] = _inner_response(part)
    return answers


def _content_id(part: Message) -> str:
    value = (part.get("Content-ID") or "").strip().removeprefix("<").removesuffix(">")
    return value.removeprefix("response-") if value.startswith("response-") else ""


def _inner_response(part: Message) -> Answer:
    if part.get_content_type() != "application/http" or part.is_multipart():
        raise MalformedBatch(f"a part of type {part.get_content_type()}")
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        raise MalformedBatch("a part without a body")
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    status_line, _, header_lines = head.partition(b"\n")
    words = status_line.decode("latin-1").split(" ", 2)
    if len(words) < 2 or not words[0].startswith("HTTP/") or not words[1].isdigit():
        raise MalformedBatch(f"a part's status line {status_line[:80]!r}")
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(header_lines)
    named = {str(k): str(v) for k, v in headers.items()}
    body = body.strip()
    if not body:
        return Answer(int(words[1]), named, None)
    try:
        parsed = json.loads(body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is one
        parsed = None  # a non-JSON error page: the status says enough
    return Answer(int(words[1]), named, parsed)


class GoogleBatch:
    def __init__(self, provider: GoogleCalendarProvider) -> None:
        self.provider = provider

    def write(self, writes: list[Write]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        fields: dict[int, dict[str, Any]] = {}
        for index, one in enumerate(writes):
            try:
                fields[index] = _prepared(one)
            except Permanent as error:
                results[index] = error
                continue
            if fields[index].get("series_remote_id"):
                # An instance is found by its original start first: the single path.
                results[index] = Provider.write_batch(self.provider, [one])[0]
        batched = [i for i in range(len(writes)) if i not in results]
        before = self._read_before(writes, batched)
        calls: dict[int, Call] = {}
        for index in batched:
            outcome = self._call(writes[index], fields[index], before.get(index))
            if isinstance(outcome, Call):
                calls[index] = outcome
            else:
                results[index] = outcome
        for index, answer in self.send(calls, reads=False).items():
            results[index] = self._result(writes[index], answer)
        return [results[index] for index in range(len(writes))]

    # --- before: the finds of creates and the current events of updates -------------------
    def _read_before(self, writes: list[Write], indexes: list[int]) -> dict[int, Outcome]:
        reads: dict[int, Call] = {}
        for index in indexes:
            one = writes[index]
            if one.op == "create" and one.dayflow_id and not one.looked_up:
                reads[index] = Call("GET", self._find_path(self._calendar(one), one.dayflow_id))
            elif one.op == "update":
                reads[index] = Call("GET", self._path(*_split(one.remote_id)))
        answers = self.send(reads, reads=True)
        for index, answer in answers.items():
            one = writes[index]
            if one.op != "create" or not isinstance(answer, Answer) or answer.status != 200:
                continue
            body = answer.body if isinstance(answer.body, dict) else {}
            if not body.get("items") and body.get("nextPageToken"):
                # "May be less than maxResults, or none at all, even if there are more": the
                # single path follows the pages.
                try:
                    found = self.provider._find_by_dayflow_id(self._calendar(one), one.dayflow_id)
                except (Permanent, RateLimited, Transient) as error:
                    answers[index] = error
                    continue
                answers[index] = Answer(200, {}, {"items": [found] if found else []})
        return answers

    def _calendar(self, one: Write) -> str:
        return one.collection or self.provider.calendars()[0]

    def _path(self, calendar: str, event_id: str = "") -> str:
        url = self.provider.events_url(calendar, event_id)
        return API_PATH + url.removeprefix(self.provider.api_base)

    def _find_path(self, calendar: str, dayflow_id: str) -> str:
        params = {
            "privateExtendedProperty": f"{self.provider.dayflow_property}={dayflow_id}",
            "maxResults": self.provider.page_size,
        }
        return f"{self._path(calendar)}?{urlencode(params, quote_via=quote)}"

    # --- the writes -------------------------------------------------------------------------
    def _call(self, one: Write, fields: dict[str, Any], before: Outcome | None) -> Call | Any:
        provider = self.provider
        if one.op == "delete":
            return Call("DELETE", self._path(*_split(one.remote_id)), _if_match(one.version))
        error = error_of(before, "GET") if before is not None else None
        if error is not None:
            return error
        if one.op == "create":
            calendar = self._calendar(one)
            found = (before.body or {}).get("items") if isinstance(before, Answer) else None
            if found and isinstance(found[0], dict):  # a retried create: the event it made
                return _item(provider, found[0], calendar)
            body = provider.new_event_body(fields, one.dayflow_id)
            return Call("POST", self._path(calendar), {}, body)
        if not isinstance(before, Answer) or not isinstance(before.body, dict):
            return provider.unexpected("body", "the event read before the update")
        calendar, event_id = _split(one.remote_id)
        body = provider.replaced_body(before.body, fields)
        return Call("PUT", self._path(calendar, event_id), _if_match(one.version), body)

    def _result(self, one: Write, answer: Outcome) -> WriteResult:
        error = error_of(answer, {"create": "POST", "update": "PUT"}.get(one.op, "DELETE"))
        if one.op == "delete":
            return None if isinstance(error, NotFound | Gone) else error
        if error is not None:
            return error
        assert isinstance(answer, Answer)
        if not isinstance(answer.body, dict):
            return self.provider.unexpected("body", "not a JSON object")
        calendar = self._calendar(one) if one.op == "create" else _split(one.remote_id)[0]
        return _item(self.provider, answer.body, calendar)

    # --- the calls --------------------------------------------------------------------------
    def send(self, calls: dict[int, Call], *, reads: bool) -> dict[int, Outcome]:
        """Each call's answer, in batches of at most MAX_CALLS. A batch that fails as a whole
        (throttled, unreachable, an answer that cannot be read) is the outcome of each of its
        calls."""
        answers: dict[int, Outcome] = {}
        indexes = list(calls)
        for start in range(0, len(indexes), MAX_CALLS):
            chunk = indexes[start : start + MAX_CALLS]
            try:
                answers |= self._batch({index: calls[index] for index in chunk}, reads=reads)
            except (RateLimited, Transient, Permanent) as error:
                answers |= dict.fromkeys(chunk, error)
        return answers

    def _batch(self, calls: dict[int, Call], *, reads: bool) -> dict[int, Outcome]:
        provider = self.provider
        boundary = f"batch_{uuid.uuid4().hex}"
        body = build({str(index): call for index, call in calls.items()}, boundary)
        headers = {"Content-Type": f"multipart/mixed; boundary={boundary}"}
        url = provider.batch_url
        # A batch of GETs may be resent; one of writes may have been applied: never resent.
        # Google counts each inner call against the quota: so does the token bucket.
        response = provider.http.request(
            "POST",
            url,
            data=body,
            headers=headers,
            ok=(200, 403),
            idempotent=reads,
            quota=len(calls),
        )
        if response.status_code == 403:
            raise provider._forbidden("POST", url, response, _json_or_none(response))
        try:
            answers = parse(
                response.headers.get("Content-Type", ""),
                response.content,
                {str(index) for index in calls},
            )
        except MalformedBatch as exc:
            raise Transient(f"batch answer: {exc}", service=SERVICE) from None
        missing = Transient("batch answer: no part for this call", service=SERVICE)
        return {index: answers.get(str(index), missing) for index in calls}


def _prepared(one: Write) -> dict[str, Any]:
    if one.op == "create":
        return events.for_creating(one.fields)
    if one.op == "update":
        return events.for_writing(one.fields)
    return {}


def _split(remote_id: str) -> tuple[str, str]:
    calendar, _, event_id = remote_id.rpartition("/")
    return calendar, event_id


def _if_match(version: str) -> dict[str, str]:
    return {"If-Match": version} if version else {}


def _item(provider: GoogleCalendarProvider, event: dict[str, Any], calendar: str) -> WriteResult:
    try:
        return provider.to_item(event, calendar)
    except Permanent as failed:  # an event DayFlow cannot hold (UnsupportedRecurrence…)
        return failed


def _json_or_none(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_of(outcome: Outcome, method: str) -> ProviderError | None:
    """A call's answer as the typed error the provider raises for the same answer alone."""
    if isinstance(outcome, ProviderError):
        return outcome
    status = outcome.status
    if 200 <= status < 300:
        return None
    reason = _reason(outcome.body)
    what = f"batch {method}: {status} {reason}".strip()
    if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS):
        return RateLimited(what, retry_after=_retry_after(outcome.headers), service=SERVICE)
    if status == 401 or status in OVERLOAD_STATUSES:
        return Transient(what, service=SERVICE)
    return ERRORS_BY_STATUS.get(status, Permanent)(what, status=status, service=SERVICE)


def _reason(body: Any) -> str:
    """Google's error reason (`error.errors[].reason`), else its status name; never a body."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ""
    details = error.get("errors") if isinstance(error.get("errors"), list) else []
    reasons = [d.get("reason") for d in details if isinstance(d, dict)]
    found = next((r for r in reasons if isinstance(r, str) and r), error.get("status"))
    return found[:200] if isinstance(found, str) else ""


def _retry_after(headers: dict[str, str]) -> float:
    """Google sends no Retry-After on its rate limits (clients back off), but honour one."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return BACKOFF_BASE * 4


def batch_url(api_base: str) -> str:
    """The batch endpoint beside `api_base` (the sandbox's emulator keeps the same layout)."""
    parts = urlsplit(api_base)
    root = api_base[: len(api_base) - len(parts.path)] + parts.path.removesuffix(API_PATH)
    return root + BATCH_PATH
