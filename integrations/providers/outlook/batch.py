"""Outlook's batched writes (`OutlookProvider.write_batch`): Microsoft Graph JSON batching.

A `$batch` call carries at most 20 requests and answers each one on its own, in any order
(https://learn.microsoft.com/graph/json-batching). Each write sends what the single write
sends: creates first look for the event carrying DayFlow's id, updates read the event to
PATCH only what changed, both as GETs batched together (one read call for up to 20 writes);
then the POSTs, PATCHes (with If-Match) and DELETEs (with If-Match) go in one write call. Each
answer's status becomes that write's typed error as the HTTP client maps a single answer:
a 412 or a 404 is that write's alone. Writes the single path treats specially (an instance of
a series, a master with cancelled dates) are written one by one.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from integrations.providers import events
from integrations.providers.base import Provider, Write, WriteResult
from integrations.providers.errors import (
    Gone,
    NotFound,
    Permanent,
    PreconditionFailed,
    ProviderError,
    RateLimited,
    Transient,
)
from integrations.providers.http import BACKOFF_BASE, OVERLOAD_STATUSES

if TYPE_CHECKING:
    from integrations.providers.outlook.provider import OutlookProvider

MAX_REQUESTS = 20  # "up to 20" requests a batch: https://learn.microsoft.com/graph/json-batching
ERRORS: dict[int, type[Permanent]] = {
    404: NotFound,
    409: PreconditionFailed,
    410: Gone,
    412: PreconditionFailed,
}


@dataclasses.dataclass(frozen=True)
class Step:
    """One request of a `$batch` body; `url` relative to the API version."""

    method: str
    url: str
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body: dict[str, Any] | None = None

    def as_json(self, step_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"id": step_id, "method": self.method, "url": self.url}
        headers = dict(self.headers)
        if self.body is not None:
            out["body"] = self.body
            headers["Content-Type"] = "application/json"
        if headers:
            out["headers"] = headers
        return out


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


Outcome = Answer | ProviderError


class GraphBatch:
    def __init__(self, provider: OutlookProvider) -> None:
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
            if _alone(fields[index]):
                # The single path's extra reads and cancellations: one by one.
                results[index] = Provider.write_batch(self.provider, [one])[0]
        batched = [i for i in range(len(writes)) if i not in results]
        before = self._read_before(writes, batched)
        steps: dict[int, Step] = {}
        for index in batched:
            outcome = self._step(writes[index], fields[index], before.get(index))
            if isinstance(outcome, Step):
                steps[index] = outcome
            else:
                results[index] = outcome
        for index, answer in self.send(steps, reads=False).items():
            results[index] = self._result(writes[index], fields[index], steps[index], answer)
        return [results[index] for index in range(len(writes))]

    # --- before: the finds of creates and the current events of updates -------------------
    def _read_before(self, writes: list[Write], indexes: list[int]) -> dict[int, Outcome]:
        provider = self.provider
        reads: dict[int, Step] = {}
        for index in indexes:
            one = writes[index]
            if one.op == "create" and one.dayflow_id and not one.looked_up:  # looked for already
                reads[index] = Step("GET", self._find_url(one.dayflow_id), self._prefer())
            elif one.op == "update":
                reads[index] = Step("GET", self._read_url(one.remote_id), self._prefer())
        answers = self.send(reads, reads=True)
        for index, answer in answers.items():
            one = writes[index]
            if one.op != "create" or not isinstance(answer, Answer) or answer.status != 200:
                continue
            body = answer.body if isinstance(answer.body, dict) else {}
            if not body.get("value") and body.get("@odata.nextLink"):
                # An empty first page that goes on: the single path follows it.
                try:
                    found = provider._find_by_dayflow_id(one.dayflow_id)
                except (Permanent, RateLimited, Transient) as error:
                    answers[index] = error
                    continue
                answers[index] = Answer(200, {}, {"value": [found] if found else []})
        return answers

    def _prefer(self) -> dict[str, str]:
        return {"Prefer": self.provider.prefer}

    def _find_url(self, dayflow_id: str) -> str:
        value = dayflow_id.replace(chr(39), "")
        condition = f"ep/id eq '{self.provider.dayflow_property}' and ep/value eq '{value}'"
        params = {
            "$filter": f"singleValueExtendedProperties/Any(ep: {condition})",
            "$expand": self.provider.expand,
        }
        return f"/me/events?{urlencode(params, quote_via=quote)}"

    def _read_url(self, event_id: str) -> str:
        params = urlencode(
            {"$select": self.provider.select, "$expand": self.provider.expand}, quote_via=quote
        )
        return f"{self._relative(self.provider.event_url(event_id))}?{params}"

    def _relative(self, url: str) -> str:
        return url.removeprefix(self.provider.api_base)

    # --- the writes -------------------------------------------------------------------------
    def _step(
        self, one: Write, fields: dict[str, Any], before: Outcome | None
    ) -> Step | WriteResult:
        provider = self.provider
        if one.op == "delete":
            headers = {"If-Match": one.version} if one.version else {}
            return Step("DELETE", self._relative(provider.event_url(one.remote_id)), headers)
        error = _error(before, "GET") if before is not None else None
        if error is not None:
            return error
        if one.op == "create":
            found = (before.body or {}).get("value") if isinstance(before, Answer) else None
            if found:  # a retried create: the event it made before
                return provider.to_item(found[0])
            calendar = one.collection or provider.calendars()[0]
            url = self._relative(provider.calendar_url(calendar)) + "/events"
            body = self.provider.new_event_body(fields, one.dayflow_id)
            return Step("POST", url, self._prefer(), body)
        if not isinstance(before, Answer) or not isinstance(before.body, dict):
            return provider.unexpected("body", "the event read before the update")
        headers = self._prefer() | ({"If-Match": one.version} if one.version else {})
        body = self.provider.changed_body(before.body, fields)
        url = self._relative(provider.event_url(one.remote_id))
        return Step("PATCH", url, headers, body)

    def _result(self, one: Write, fields: dict[str, Any], step: Step, answer: Outcome) -> Any:
        error = _error(answer, step.method)
        if one.op == "delete":
            return None if isinstance(error, NotFound | Gone) else error
        if error is not None:
            return error
        assert isinstance(answer, Answer)
        if not isinstance(answer.body, dict):
            return self.provider.unexpected("body", "not a JSON object")
        try:
            return self.provider._after_write(answer.body, fields, one.dayflow_id)
        except Permanent as failed:
            return failed

    # --- the calls --------------------------------------------------------------------------
    def send(self, steps: dict[int, Step], *, reads: bool) -> dict[int, Outcome]:
        """Each step's answer, in `$batch` calls of at most 20. A call that fails as a whole
        (throttled, unreachable) is the outcome of each of its steps."""
        answers: dict[int, Outcome] = {}
        indexes = list(steps)
        for start in range(0, len(indexes), MAX_REQUESTS):
            chunk = indexes[start : start + MAX_REQUESTS]
            try:
                answers |= self._call({index: steps[index] for index in chunk}, reads=reads)
            except (RateLimited, Transient) as error:
                answers |= dict.fromkeys(chunk, error)
        return answers

    def _call(self, steps: dict[int, Step], *, reads: bool) -> dict[int, Outcome]:
        provider = self.provider
        body = {"requests": [step.as_json(str(index)) for index, step in steps.items()]}
        # A batch of GETs may be resent; one of writes may have been applied: never resent.
        # Graph evaluates each request of a batch against the mailbox's limits on its own
        # (learn.microsoft.com/graph/json-batching, "Batch size limitations"): the token
        # bucket counts each.
        response = provider.http.request_json(
            "POST", f"{provider.api_base}/$batch", json=body, idempotent=reads, quota=len(steps)
        )
        answers: dict[int, Outcome] = {}
        for raw in (response or {}).get("responses") or []:
            answer = _answer(raw)
            if answer is not None and answer[0] in steps:
                answers[answer[0]] = answer[1]
        for index in steps:
            answers.setdefault(index, provider.unexpected("responses", f"no answer to {index}"))
        return answers


def _prepared(one: Write) -> dict[str, Any]:
    if one.op == "create":
        return events.for_creating(one.fields)
    if one.op == "update":
        return events.for_writing(one.fields)
    return {}


def _alone(fields: dict[str, Any]) -> bool:
    return bool(fields.get("series_remote_id") or fields.get("exdates"))


def _answer(raw: Any) -> tuple[int, Answer] | None:
    if not isinstance(raw, dict) or not str(raw.get("id", "")).isdigit():
        return None
    status = raw.get("status")
    if not isinstance(status, int):
        return None
    headers = raw.get("headers") if isinstance(raw.get("headers"), dict) else {}
    named = {str(k): str(v) for k, v in headers.items()}
    return int(raw["id"]), Answer(status, named, raw.get("body"))


def _error(outcome: Outcome, method: str) -> ProviderError | None:
    """A step's answer as the typed error the HTTP client raises for the same answer alone."""
    if isinstance(outcome, ProviderError):
        return outcome
    status = outcome.status
    if 200 <= status < 300:
        return None
    what = f"$batch {method}: {status} {_code(outcome.body)}".strip()
    if status == 429:
        return RateLimited(what, retry_after=_retry_after(outcome.headers), service="outlook")
    if status == 401 or status in OVERLOAD_STATUSES:
        return Transient(what, service="outlook")
    return ERRORS.get(status, Permanent)(what, status=status, service="outlook")


def _code(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code[:200] if isinstance(code, str) else ""


def _retry_after(headers: dict[str, str]) -> float:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return BACKOFF_BASE * 4
