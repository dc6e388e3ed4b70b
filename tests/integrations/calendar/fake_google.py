"""A small fake of Google Calendar's events API behind `responses`, keeping the documented
semantics the provider relies on: syncToken listings, private extended property look-ups,
If-Match (412), cancelled deletions, and instances of a series found by original start."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import responses

API = "https://www.googleapis.com/calendar/v3/calendars/primary/events"
EVENT = re.compile(re.escape(API) + r"/([^/?]+)(/instances)?(\?.*)?$")
LIST = re.compile(re.escape(API) + r"(\?.*)?$")


class FakeGoogleCalendar:
    def __init__(self, mocked: responses.RequestsMock, zone: str = "Europe/Berlin") -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.seq = 0
        self.zone = zone
        self.writes = 0
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
