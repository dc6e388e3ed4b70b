"""A small fake of Google Calendar's events API behind `responses`, keeping the documented
semantics the provider relies on: syncToken listings, private extended property look-ups,
If-Match (412), cancelled deletions, instances of a series found by original start, and batch
requests (`/batch/calendar/v3`), whose parts it answers one by one through the same routes in
the documented shape (https://developers.google.com/calendar/api/guides/batch): a
multipart/mixed answer, in the requests' order, each part `Content-ID: <response-<id>>`."""

from __future__ import annotations

import copy
import datetime as dt
import email.parser
import email.policy
import json
import re
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import responses

API = "https://www.googleapis.com/calendar/v3/calendars/primary/events"
EVENT = re.compile(re.escape(API) + r"/([^/?]+)(/instances)?(\?.*)?$")
LIST = re.compile(re.escape(API) + r"(\?.*)?$")
BATCH = "https://www.googleapis.com/batch/calendar/v3"
# The boundary of the documented example answer (an unquoted token with "=" in it).
ANSWER_BOUNDARY = "batch_pK7JBAk73-E=_AA5eFwv4m2Q="


class FakeGoogleCalendar:
    def __init__(self, mocked: responses.RequestsMock, zone: str = "Europe/Berlin") -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.seq = 0
        self.zone = zone
        self.writes = 0
        self.batches: list[list[dict[str, Any]]] = []  # each batch's calls, as sent
        self.garble_writes = 0  # how many batches with writes to apply, then answer garbled
        self.routes = {
            ("GET", LIST): self._list,
            ("POST", LIST): self._insert,
            ("GET", EVENT): self._get,
            ("PUT", EVENT): self._put,
            ("DELETE", EVENT): self._delete,
        }
        mocked.add_callback(responses.POST, BATCH, callback=self._batch)
        mocked.add_callback(responses.GET, LIST, callback=self._list)
        mocked.add_callback(responses.POST, LIST, callback=self._insert)
        mocked.add_callback(responses.GET, EVENT, callback=self._get)
        mocked.add_callback(responses.PUT, EVENT, callback=self._put)
        mocked.add_callback(responses.DELETE, EVENT, callback=self._delete)

    # --- test helpers ------------------------------------------------------------------
    def add(self, event: dict[str, Any]) -> dict[str, Any]:
        return self._store({"status": "confirmed", **event})

    def remove(self, event_id: str) -> None:
        """The user deletes an event in Google Calendar: it stays, cancelled, under its id."""
        self._store({"id": event_id, "status": "cancelled"})

    def _store(self, event: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        event = {**event, "etag": f'"{self.seq}"', "_seq": self.seq}
        event["updated"] = (
            dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=self.seq)
        ).isoformat()
        self.events[event["id"]] = event
        return event

    @staticmethod
    def _public(event: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in event.items() if not k.startswith("_")}

    # --- the API ------------------------------------------------------------------------
    def _list(self, request) -> tuple[int, dict, str]:
        params = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        items = sorted(self.events.values(), key=lambda e: e["_seq"])
        if "privateExtendedProperty" in params:
            key, _, value = params["privateExtendedProperty"].partition("=")
            items = [
                e
                for e in items
                if (e.get("extendedProperties") or {}).get("private", {}).get(key) == value
                and e["status"] != "cancelled"
            ]
        elif "syncToken" in params:
            items = [e for e in items if e["_seq"] > int(params["syncToken"])]
        body = {"items": [self._public(e) for e in items], "nextSyncToken": str(self.seq)}
        return 200, {}, json.dumps(body | {"timeZone": self.zone})

    def _insert(self, request) -> tuple[int, dict, str]:
        self.writes += 1
        body = json.loads(request.body)
        event = self._store({"status": "confirmed", **body, "id": f"ev{self.seq + 1}"})
        return 200, {}, json.dumps(self._public(event))

    def _get(self, request) -> tuple[int, dict, str]:
        event_id, instances, _ = EVENT.match(request.url).groups()
        event_id = unquote(event_id)
        if instances:
            original = parse_qs(urlsplit(request.url).query)["originalStart"][0]
            return 200, {}, json.dumps({"items": [self._instance(event_id, original)]})
        master_id, _, stamp = event_id.partition("_")
        if event_id not in self.events and master_id in self.events and stamp:
            # An instance of a series can be read by its id before it was ever changed.
            moment = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
            return 200, {}, json.dumps(self._instance(master_id, moment.isoformat()))
        if event_id not in self.events:
            return 404, {}, json.dumps({"error": {"code": 404}})
        return 200, {}, json.dumps(self._public(self.events[event_id]))

    def _instance(self, master_id: str, original: str) -> dict[str, Any]:
        master = self.events[master_id]
        moment = dt.datetime.fromisoformat(original).astimezone(dt.UTC)
        instance_id = f"{master_id}_{moment:%Y%m%dT%H%M%SZ}"
        if instance_id in self.events:
            return self._public(self.events[instance_id])
        start = dt.datetime.fromisoformat(master["start"]["dateTime"])
        length = dt.datetime.fromisoformat(master["end"]["dateTime"]) - start
        zone = master["start"].get("timeZone", self.zone)
        when = {"dateTime": original, "timeZone": zone}
        end = {
            "dateTime": (dt.datetime.fromisoformat(original) + length).isoformat(),
            "timeZone": zone,
        }
        return {
            "id": instance_id,
            "etag": master["etag"],
            "status": "confirmed",
            "summary": master.get("summary", ""),
            "start": when,
            "end": end,
            "recurringEventId": master_id,
            "originalStartTime": when,
        }

    def _put(self, request) -> tuple[int, dict, str]:
        event_id = unquote(EVENT.match(request.url).group(1))
        current = self.events.get(event_id)
        expected = request.headers.get("If-Match")
        if current is not None and expected and expected != current["etag"]:
            return 412, {}, json.dumps({"error": {"code": 412, "message": "Precondition Failed"}})
        self.writes += 1
        event = self._store({"status": "confirmed", **json.loads(request.body), "id": event_id})
        return 200, {}, json.dumps(self._public(event))

    def _delete(self, request) -> tuple[int, dict, str]:
        event_id = unquote(EVENT.match(request.url).group(1))
        current = self.events.get(event_id)
        if current is None or current["status"] == "cancelled":
            return 410, {}, json.dumps({"error": {"code": 410}})
        expected = request.headers.get("If-Match")
        if expected and expected != current["etag"]:
            return 412, {}, json.dumps({"error": {"code": 412}})
        self.writes += 1
        # A cancelled exception of a series keeps (only) what places it in the series:
        # https://developers.google.com/calendar/api/v3/reference/events (status)
        kept = {k: current[k] for k in ("recurringEventId", "originalStartTime") if k in current}
        self._store({"id": event_id, "status": "cancelled", **kept})
        return 204, {}, ""

    # --- batch requests -----------------------------------------------------------------
    def _batch(self, request) -> tuple[int, dict, str]:
        """Each part run as its own request (its own If-Match), answered in order."""
        head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
        body = request.body if isinstance(request.body, bytes) else request.body.encode()
        message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(head + body)
        assert message.is_multipart(), "a batch request is multipart/mixed"
        calls, parts = [], []
        for part in message.get_payload():
            assert part.get_content_type() == "application/http"
            content_id = part["Content-ID"].strip("<>")
            inner = part.get_payload(decode=True).decode().replace("\r\n", "\n")
            head_text, _, payload = inner.partition("\n\n")
            request_line, *header_lines = head_text.split("\n")
            method, path, version = request_line.split(" ")
            assert path.startswith("/calendar/v3/")
            assert version == "HTTP/1.1"
            headers = dict(line.split(": ", 1) for line in header_lines)
            call = {"method": method, "path": path, "headers": headers}
            call["body"] = json.loads(payload) if payload.strip() else None
            calls.append(call)
            status, answer_headers, text = self._route(method, path, headers, payload.strip())
            parts.append(self._answer_part(content_id, status, answer_headers, text))
        self.batches.append(calls)
        if self.garble_writes and any(c["method"] != "GET" for c in calls):
            self.garble_writes -= 1
            return 200, {"Content-Type": "text/html"}, "<html>a proxy page</html>"
        answer = "".join(parts) + f"--{ANSWER_BOUNDARY}--\r\n"
        content_type = f"multipart/mixed; boundary={ANSWER_BOUNDARY}"
        return 200, {"Content-Type": content_type}, answer

    def _route(self, method: str, path: str, headers: dict, payload: str) -> tuple:
        url = "https://www.googleapis.com" + path
        for (verb, pattern), handler in self.routes.items():
            if verb == method and pattern.match(url):
                inner = SimpleNamespace(url=url, headers=headers, body=payload or None)
                return handler(inner)
        return 404, {}, json.dumps({"error": {"code": 404, "message": "Not Found"}})

    @staticmethod
    def _answer_part(content_id: str, status: int, headers: dict, text: str) -> str:
        reasons = {200: "OK", 204: "No Content", 404: "Not Found", 410: "Gone"}
        lines = [
            f"--{ANSWER_BOUNDARY}",
            "Content-Type: application/http",
            f"Content-ID: <response-{content_id}>",
            "",
            f"HTTP/1.1 {status} {reasons.get(status, 'Error')}",
            *[f"{k}: {v}" for k, v in headers.items()],
        ]
        if text:
            lines += ["Content-Type: application/json; charset=UTF-8"]
            lines += [f"Content-Length: {len(text.encode())}", "", text]
        else:
            lines += ["Content-Length: 0", ""]
        return "\r\n".join(lines) + "\r\n"
