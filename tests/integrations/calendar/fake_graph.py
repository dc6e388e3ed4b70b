"""A small fake of Microsoft Graph's calendar API behind `responses`, keeping the documented
semantics the Outlook provider relies on: calendarView delta with a deltaLink, `@removed`,
instances (occurrences are never stored, an edited one becomes an exception, a deleted one a
cancelled occurrence of its master), extended properties, If-Match (412), and times returned
in UTC under `Prefer: outlook.timezone="UTC"`, and JSON batching (`$batch`, at most 20
requests, each answered as its own route answers it)."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import responses
from dateutil import rrule as dateutil_rrule
from requests.structures import CaseInsensitiveDict

from integrations.providers import events
from integrations.providers.outlook.provider import iana

API = "https://graph.microsoft.com/v1.0"
DELTA = re.compile(re.escape(API) + r"/me/(calendar/)?calendarView/delta(\?.*)?$")
EVENTS = re.compile(re.escape(API) + r"/me/(calendar/)?events(\?.*)?$")
EVENT = re.compile(re.escape(API) + r"/me/events/([^/?]+)(/instances)?(\?.*)?$")
BATCH = f"{API}/$batch"


@dataclasses.dataclass
class Step:
    """One request of a batch, shaped like the `requests` request a callback reads."""

    url: str
    headers: CaseInsensitiveDict
    body: str | None


class FakeGraphCalendar:
    def __init__(self, mocked: responses.RequestsMock) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.removed: list[tuple[int, str]] = []
        self.seq = 0
        self.writes = 0
        self.batches: list[list[dict[str, Any]]] = []  # each $batch call's requests
        mocked.add_callback(responses.POST, BATCH, callback=self._batch)
        mocked.add_callback(responses.GET, DELTA, callback=self._delta)
        mocked.add_callback(responses.GET, EVENTS, callback=self._find)
        mocked.add_callback(responses.POST, EVENTS, callback=self._create)
        mocked.add_callback(responses.GET, EVENT, callback=self._get)
        mocked.add_callback(responses.PATCH, EVENT, callback=self._patch)
        mocked.add_callback(responses.DELETE, EVENT, callback=self._delete)

    # --- storage ------------------------------------------------------------------------
    def add(self, body: dict[str, Any], event_id: str = "") -> dict[str, Any]:
        event_id = event_id or f"ev{self.seq + 1}"
        event = {
            "id": event_id,
            "type": "seriesMaster" if body.get("recurrence") else "singleInstance",
            "originalStartTimeZone": body["start"]["timeZone"],
            "isCancelled": False,
            "cancelledOccurrences": [],
            **body,
        }
        return self._store(event)

    def remove(self, event_id: str) -> None:
        """The user deletes an event in Outlook: delta reports it `@removed`."""
        del self.events[event_id]
        self.seq += 1
        self.removed.append((self.seq, event_id))

    def _store(self, event: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        event = {**event, "@odata.etag": f'W/"{self.seq}"', "_seq": self.seq}
        for key in ("start", "end"):
            event[key] = _to_utc(event[key])
        self.events[event["id"]] = event
        return event

    def _public(self, event: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in event.items() if not k.startswith("_")}

    # --- JSON batching ----------------------------------------------------------------------
    def _batch(self, request) -> tuple[int, dict, str]:
        steps = json.loads(request.body)["requests"]
        if len(steps) > 20:
            return 400, {}, json.dumps({"error": {"code": "BadRequest"}})
        self.batches.append(steps)
        answers = [self._step(step) for step in reversed(steps)]  # any order
        return 200, {}, json.dumps({"responses": answers})

    def _step(self, step: dict[str, Any]) -> dict[str, Any]:
        url = API + step["url"]
        routes = {
            "GET": [(DELTA, self._delta), (EVENTS, self._find), (EVENT, self._get)],
            "POST": [(EVENTS, self._create)],
            "PATCH": [(EVENT, self._patch)],
            "DELETE": [(EVENT, self._delete)],
        }
        callback = next(c for pattern, c in routes[step["method"]] if pattern.match(url))
        body = json.dumps(step["body"]) if "body" in step else None
        status, headers, text = callback(Step(url, CaseInsensitiveDict(step.get("headers")), body))
        answer = {"id": step["id"], "status": status, "headers": headers}
        return answer | ({"body": json.loads(text)} if text else {})

    # --- delta ---------------------------------------------------------------------------
    def _delta(self, request) -> tuple[int, dict, str]:
        params = parse_qs(urlsplit(request.url).query)
        since = int(params["$deltatoken"][0]) if "$deltatoken" in params else 0
        value = []
        for event in sorted(self.events.values(), key=lambda e: e["_seq"]):
            if event["_seq"] <= since:
                continue
            if event["type"] == "seriesMaster":  # delta lists instances, not masters
                value.append(
                    {
                        "id": f"{event['id']}_occ",
                        "type": "occurrence",
                        "seriesMasterId": event["id"],
                    }
                )
            else:
                value.append(self._public(event))
        value += [
            {"id": i, "@removed": {"reason": "deleted"}} for s, i in self.removed if s > since
        ]
        link = f"{API}/me/calendarView/delta?$deltatoken={self.seq}"
        return 200, {}, json.dumps({"@odata.deltaLink": link, "value": value})

    # --- events --------------------------------------------------------------------------
    def _find(self, request) -> tuple[int, dict, str]:
        wanted = re.search(
            r"ep/value eq '([^']*)'", parse_qs(urlsplit(request.url).query)["$filter"][0]
        )
        found = [
            self._public(e)
            for e in self.events.values()
            if any(
                p["value"] == wanted.group(1) for p in e.get("singleValueExtendedProperties", [])
            )
        ]
        return 200, {}, json.dumps({"value": found})

    def _create(self, request) -> tuple[int, dict, str]:
        self.writes += 1
        return 201, {}, json.dumps(self._public(self.add(json.loads(request.body))))

    def _get(self, request) -> tuple[int, dict, str]:
        event_id, instances, _ = EVENT.match(request.url).groups()
        event_id = unquote(event_id)
        if instances:
            params = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
            return 200, {}, json.dumps({"value": self._instances(event_id, params)})
        if event_id not in self.events:
            return 404, {}, json.dumps({"error": {"code": "ErrorItemNotFound"}})
        return 200, {}, json.dumps(self._public(self.events[event_id]))

    def _instances(self, master_id: str, params: dict[str, str]) -> list[dict[str, Any]]:
        master = self.events[master_id]
        zone = events.zone(iana(master["originalStartTimeZone"]))
        start = dt.datetime.fromisoformat(master["start"]["dateTime"][:26]).replace(tzinfo=dt.UTC)
        local = start.astimezone(zone)
        rule = events.graph_to_rrule(
            master["recurrence"], iana(master["originalStartTimeZone"]), False
        )
        window = (_utc(params["startDateTime"]), _utc(params["endDateTime"]))
        found = []
        for moment in dateutil_rrule.rrulestr(rule, dtstart=local).between(*window, inc=True):
            day = moment.date().isoformat()
            if f"OID.{master_id}.{day}" in master["cancelledOccurrences"]:
                continue
            original = moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
            exception = next(
                (
                    e
                    for e in self.events.values()
                    if e.get("seriesMasterId") == master_id and e.get("originalStart") == original
                ),
                None,
            )
            found.append(
                self._public(exception)
                if exception
                else {
                    "id": f"{master_id}_occ_{day}",
                    "type": "occurrence",
                    "seriesMasterId": master_id,
                    "originalStart": original,
                    "@odata.etag": master["@odata.etag"],
                }
            )
        return found

    def _patch(self, request) -> tuple[int, dict, str]:
        event_id = unquote(EVENT.match(request.url).group(1))
        current = self.events.get(event_id) or self._occurrence(event_id)
        expected = request.headers.get("If-Match")
        if expected and expected != current["@odata.etag"]:
            return 412, {}, json.dumps({"error": {"code": "ErrorIrresolvableConflict"}})
        self.writes += 1
        body = json.loads(request.body)
        merged = {**current, **body}
        if "start" in body:
            merged["originalStartTimeZone"] = body["start"]["timeZone"]
        return 200, {}, json.dumps(self._public(self._store(merged)))

    def _cancel(self, master: dict[str, Any], original: str) -> None:
        oid = f"OID.{master['id']}.{_local_day(master, original)}"
        self._store({**master, "cancelledOccurrences": [*master["cancelledOccurrences"], oid]})

    def _occurrence(self, event_id: str) -> dict[str, Any]:
        # Patching an occurrence turns it into an exception of its series.
        master_id, _, day = event_id.partition("_occ_")
        master = self.events[master_id]
        zone = events.zone(iana(master["originalStartTimeZone"]))
        start = dt.datetime.fromisoformat(master["start"]["dateTime"][:26]).replace(tzinfo=dt.UTC)
        local = start.astimezone(zone)
        original = dt.datetime.combine(dt.date.fromisoformat(day), local.timetz()).astimezone(
            dt.UTC
        )
        return {
            "id": f"{master_id}_exc_{day}",
            "type": "exception",
            "seriesMasterId": master_id,
            "originalStart": original.isoformat().replace("+00:00", "Z"),
            "@odata.etag": master["@odata.etag"],
            "recurrence": None,
        }

    def _delete(self, request) -> tuple[int, dict, str]:
        event_id = unquote(EVENT.match(request.url).group(1))
        self.writes += 1
        if "_occ_" in event_id:
            master_id, _, day = event_id.partition("_occ_")
            master = self.events[master_id]
            self._store(
                {
                    **master,
                    "cancelledOccurrences": [
                        *master["cancelledOccurrences"],
                        f"OID.{master_id}.{day}",
                    ],
                }
            )
            self.seq += 1
            self.removed.append((self.seq, event_id))
            return 204, {}, ""
        if event_id not in self.events:
            return 404, {}, json.dumps({"error": {"code": "ErrorItemNotFound"}})
        deleted = self.events.pop(event_id)
        if deleted.get("seriesMasterId") in self.events:
            # A deleted exception is a cancelled occurrence of its master, as a deleted
            # occurrence is: the master lists its original date.
            self._cancel(self.events[deleted["seriesMasterId"]], deleted["originalStart"])
        self.seq += 1
        self.removed.append((self.seq, event_id))
        return 204, {}, ""


def _local_day(master: dict[str, Any], original: str) -> str:
    zone = events.zone(iana(master["originalStartTimeZone"]))
    return _utc(original).astimezone(zone).date().isoformat()


def _utc(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _to_utc(when: dict[str, str]) -> dict[str, str]:
    if when.get("timeZone") == "UTC":
        return when
    local = dt.datetime.fromisoformat(when["dateTime"][:26]).replace(
        tzinfo=events.zone(iana(when["timeZone"]))
    )
    text = local.astimezone(dt.UTC).replace(tzinfo=None).isoformat()
    return {"dateTime": f"{text}.0000000", "timeZone": "UTC"}
