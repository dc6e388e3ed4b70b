"""Microsoft Outlook calendars through Microsoft Graph: events, incremental with delta queries.
https://learn.microsoft.com/graph/api/event-delta

Quirks handled here:
- the change feed is `calendarView/delta` over a window of time: follow `@odata.nextLink` to
  the `@odata.deltaLink` and keep the deltaLink whole; 410 Gone or `syncStateNotFound` means a
  full resync (https://learn.microsoft.com/graph/delta-query-overview);
- delta returns instances (single events, occurrences, exceptions), not series masters, and
  supports no `$expand`: masters and single events are read once more with
  `GET /me/events/{id}` for their recurrence, cancelled occurrences and our extended properties;
  occurrences themselves are never stored (a series is a master plus exceptions);
- times are asked for in UTC (`Prefer: outlook.timezone="UTC"`); the event's own zone is its
  `originalStartTimeZone`, often a Windows name (mapped to IANA); bodies as text
  (`outlook.body-content-type="text"`);
- an update PATCHes only the fields that changed against the event as it is now: Graph keeps
  whatever is not sent (an HTML body, a structured address, showAs "free", attendees…);
- DayFlow's id lives in a single-value extended property; writes send `If-Match`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from django.conf import settings
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from integrations.providers import attendees, events
from integrations.providers.base import (
    Container,
    ItemType,
    Kind,
    Page,
    Provider,
    RemoteItem,
    Write,
    WriteResult,
    advance_round,
    field,
    new_round,
)
from integrations.providers.errors import (
    CursorExpired,
    Gone,
    NotFound,
    Permanent,
    UnexpectedPayload,
)
from integrations.providers.outlook.batch import GraphBatch

logger = logging.getLogger("integrations.outlook")
SERVICE = "outlook"
PROPERTY_SET = "{5b3f0c7e-9a4d-4f0b-8c1e-2d6a7b9e4f10}"  # DayFlow's own namespace GUID
DAYFLOW_ID = f"String {PROPERTY_SET} Name DayFlowId"
FLOATING = f"String {PROPERTY_SET} Name DayFlowFloating"
# Times in UTC, and bodies as plain text: DayFlow's description is text, and an HTML body read
# as text and written back as text would show its markup in Outlook.
# https://learn.microsoft.com/graph/api/event-get#request-headers
PREFER = 'outlook.timezone="UTC", outlook.body-content-type="text"'
# Delta entries per page (Prefer: odata.maxpagesize). Graph documents no maximum for
# calendarView delta (https://learn.microsoft.com/graph/api/event-delta; "Different APIs might
# have different default and maximum page sizes": https://learn.microsoft.com/graph/paging),
# so none is assumed. A larger page would save little: every entry is read again on its own
# (delta leaves out our extended properties), so a page of 50 is about 51 calls, and it is the
# unit a crashed pull resumes from.
PAGE_SIZE = 50
WINDOW_PAST = dt.timedelta(days=365)
WINDOW_FUTURE = dt.timedelta(days=730)
RESYNC_CODES = frozenset({"syncStateNotFound", "syncStateInvalid", "resyncRequired"})
EXPAND = f"singleValueExtendedProperties($filter=id eq '{DAYFLOW_ID}' or id eq '{FLOATING}')"
SELECT = (
    "subject,body,location,start,end,isAllDay,showAs,isCancelled,type,seriesMasterId,"
    "originalStart,originalStartTimeZone,recurrence,cancelledOccurrences,lastModifiedDateTime,"
    "webLink,attendees"
)


class OutlookProvider(Provider):
    """Events of the calendars the user picked (the default calendar when none)."""

    key = "outlook"
    name = "Microsoft Outlook"
    kind = Kind.CALENDAR
    docs_url = "https://learn.microsoft.com/graph/api/resources/event"
    authorization_url = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
    token_url = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    scopes = ("offline_access", "openid", "email", "Calendars.ReadWrite")
    pkce = True
    api_base = "https://graph.microsoft.com/v1.0"
    rate_limit = (16, 1.0)  # 10,000 requests per 10 minutes per mailbox
    item_types = (ItemType.EVENT,)
    change_feed = "calendarView delta (deltaLink)"
    supports_webhooks = True
    webhook_registration = "api"
    # Graph validates a notification URL (`validationToken`) before it uses it.
    webhook_handshake = True
    mapping_schema = {"calendars": list}
    collection_setting = "calendars"
    collection_words = "a calendar"
    collection_default = "your default calendar"
    collection_kind = "calendar"
    web_url_field = "webLink"  # the event in Outlook on the web ($select-ed in SELECT)
    write_batch_size = 20  # Graph's JSON batching: at most 20 requests a $batch

    # What batch.py sends with: it cannot import this module, which imports it.
    prefer, select, expand, dayflow_property = PREFER, SELECT, EXPAND, DAYFLOW_ID

    def write_batch(self, writes: list[Write]) -> list[WriteResult]:
        return GraphBatch(self).write(writes)

    @staticmethod
    def new_event_body(fields: dict[str, Any], dayflow_id: str = "") -> dict[str, Any]:
        return to_remote(fields, dayflow_id)

    @staticmethod
    def changed_body(current: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        return changes(current, fields)

    def calendars(self) -> list[str]:
        return list(self.field_mapping.get("calendars") or []) or [""]

    def calendar_url(self, calendar: str) -> str:
        if not calendar:
            return f"{self.api_base}/me/calendar"
        return f"{self.api_base}/me/calendars/{quote(calendar, safe='')}"

    def event_url(self, event_id: str) -> str:
        return f"{self.api_base}/me/events/{quote(event_id, safe='')}"

    def list_containers(self) -> list[Container]:
        containers, url = [], f"{self.api_base}/me/calendars"
        while url:
            body = self.http.request_json("GET", url)
            for entry in field(SERVICE, body, "value", list):
                containers.append(
                    Container(
                        entry["id"], entry.get("name", ""), "calendar", item_types=self.item_types
                    )
                )
            url = body.get("@odata.nextLink", "")
        return containers

    # --- pull ----------------------------------------------------------------------
    def pull(self, cursor: str | None, collection: str = "") -> Page:
        """One delta page. While `has_more`, `next_cursor` is where the round goes on; once it
        is False it holds each calendar's deltaLink. Every page of a full round says `full`."""
        calendars = [collection] if collection else self.calendars()
        state = self.cursor_state(cursor, {"links": {}, "masters": []})
        state.setdefault("links", {})
        state.setdefault("masters", [])
        state.setdefault("round", _new_round(calendars, full=cursor is None))
        try:
            return self._pull_page(state)
        except CursorExpired:
            restart = {"links": {}, "masters": [], "round": _new_round(calendars, full=True)}
            return self._pull_page(restart)

    def _pull_page(self, state: dict[str, Any]) -> Page:
        current = state["round"]
        calendar = current["queue"][0]
        url = current["page"] or (not current["full"] and state["links"].get(calendar))
        body = self._delta(url or self._delta_start(calendar))
        page = self._page_of(body, state)
        return advance_round(
            state,
            page,
            saved="links",
            next_page=body.get("@odata.nextLink") or "",
            finished=lambda: field(SERVICE, body, "@odata.deltaLink", str),
            final={"masters": sorted(state["masters"])},
        )

    def _delta_start(self, calendar: str) -> str:
        today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start, end = (today - WINDOW_PAST).isoformat(), (today + WINDOW_FUTURE).isoformat()
        base = f"{self.calendar_url(calendar)}/calendarView/delta"
        return f"{base}?startDateTime={quote(start)}&endDateTime={quote(end)}"

    def _delta(self, url: str) -> dict[str, Any]:
        headers = {"Prefer": f"{PREFER}, odata.maxpagesize={PAGE_SIZE}"}
        try:
            response = self.http.request("GET", url, headers=headers, ok=(200, 400, 403, 404))
        except Gone as exc:
            raise CursorExpired("the delta token expired", service=SERVICE) from exc
        body = _json(response)
        if response.status_code == 200:
            return body
        code = ((body or {}).get("error") or {}).get("code", "")
        if code in RESYNC_CODES:
            raise CursorExpired(f"delta: {code}", service=SERVICE)
        raise Permanent(
            f"delta: {response.status_code} {code}", status=response.status_code, service=SERVICE
        )

    def _page_of(self, body: dict[str, Any], state: dict[str, Any]) -> Page:
        current, masters = state["round"], state["masters"]
        page = Page(full=current["full"])
        to_read: list[str] = []
        for entry in field(SERVICE, body, "value", list):
            kind = entry.get("type", "")
            if "@removed" in entry:
                if not current["full"]:
                    page.deleted_ids.append(entry["id"])
                    # A removed occurrence names no master: the known masters are read again
                    # for their cancelled occurrences (their exdates).
                    to_read += [m for m in masters if m != entry["id"]]
            elif kind == "exception":
                # Read again like the others: delta leaves out our extended properties.
                to_read += [field(SERVICE, entry, "id", str), entry.get("seriesMasterId", "")]
            elif kind == "occurrence":
                to_read.append(entry.get("seriesMasterId", ""))
            else:
                to_read.append(field(SERVICE, entry, "id", str))
        removed = set(page.deleted_ids)
        for event_id in dict.fromkeys(i for i in to_read if i and i not in current["read"]):
            if event_id in removed:
                continue
            current["read"].append(event_id)
            try:
                event = self._read(event_id)
            except NotFound:
                page.deleted_ids.append(event_id)
                removed.add(event_id)
                continue
            if event.get("type") == "seriesMaster" and event_id not in masters:
                masters.append(event_id)
            try:
                page.items.append(self.to_item(event))
            except events.UnsupportedRecurrence as exc:
                # There, but not ours to hold: never a deletion by difference, an error to show.
                page.unsyncable[event_id] = f"{event.get('subject') or 'an event'}: {exc}"
        state["masters"] = [m for m in masters if m not in removed]
        return page

    def _read(self, event_id: str) -> dict[str, Any]:
        params = {"$select": SELECT, "$expand": EXPAND}
        headers = {"Prefer": PREFER}
        return self.http.request_json(
            "GET", self.event_url(event_id), params=params, headers=headers
        )

    def to_item(self, event: dict[str, Any], dayflow_id: str = "") -> RemoteItem:
        properties = _properties(event)
        modified = event.get("lastModifiedDateTime")
        return RemoteItem(
            field(SERVICE, event, "id", str),
            ItemType.EVENT,
            to_fields(event),
            version=event.get("@odata.etag", ""),
            updated_at=_parse_utc(modified) if modified else None,
            dayflow_id=properties.get(DAYFLOW_ID, "") or dayflow_id,
            web_url=self.web_url(event),
            read_only={"attendees": attendees.from_graph(event.get("attendees"))},
        )

    # --- writes --------------------------------------------------------------------
    def create(
        self, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        """Create; a retried create finds the event carrying DayFlow's id instead."""
        fields = events.for_creating(fields)
        if fields.get("series_remote_id"):
            return self._write_instance(fields)
        existing = (
            self._find_by_dayflow_id(dayflow_id)
            if dayflow_id and not self.creating_looked_up
            else None
        )
        if existing is not None:
            return self.to_item(existing)
        calendar = collection or self.calendars()[0]
        created = self.http.request_json(
            "POST",
            f"{self.calendar_url(calendar)}/events",
            json=to_remote(fields, dayflow_id),
            headers={"Prefer": PREFER},
        )
        return self._after_write(created, fields, dayflow_id)

    def update(self, remote_id: str, fields: dict[str, Any], version: str = "") -> RemoteItem:
        """PATCH, with If-Match, of the fields that differ from the event as it is now: a 412
        is a conflict for the engine."""
        fields = events.for_writing(fields)
        return self._patch(remote_id, fields, version, self._read(remote_id))

    def _patch(
        self, event_id: str, fields: dict[str, Any], version: str, current: dict[str, Any]
    ) -> RemoteItem:
        headers = {"Prefer": PREFER} | ({"If-Match": version} if version else {})
        body = changes(current, fields)  # DayFlow's id was set at creation and stays
        if fields.get("series_remote_id"):
            body.pop("recurrence", None)
        updated = self.http.request_json(
            "PATCH", self.event_url(event_id), json=body, headers=headers
        )
        return self._after_write(updated, fields, "")

    def delete(self, remote_id: str, version: str = "") -> None:
        """Delete (an occurrence or exception: cancel that instance); already gone is fine."""
        headers = {"If-Match": version} if version else {}
        try:
            self.http.request("DELETE", self.event_url(remote_id), headers=headers)
        except (NotFound, Gone):
            return

    def delete_instance(
        self, remote_id: str, series_remote_id: str, version: str = ""
    ) -> RemoteItem | None:
        """Graph keeps a deleted instance as a cancelled occurrence of its master (our
        exdates): the master is read back once the instance is gone."""
        self.delete(remote_id, version)
        try:
            return self.get(series_remote_id)
        except (NotFound, Gone):
            return None

    def _after_write(
        self, event: dict[str, Any], fields: dict[str, Any], dayflow_id: str
    ) -> RemoteItem:
        if event.get("type") == "seriesMaster" and fields.get("exdates"):
            for exdate in fields["exdates"]:
                self._cancel_instance(event["id"], exdate, fields.get("timezone", ""))
            return self.to_item(self._read(event["id"]), dayflow_id)
        return self.to_item(event, dayflow_id)

    def get(self, remote_id: str) -> RemoteItem:
        return self.to_item(self._read(remote_id))

    def find_by_dayflow_id(self, dayflow_id: str, collection: str = "") -> RemoteItem | None:
        found = self._find_by_dayflow_id(dayflow_id)
        return self.to_item(found) if found is not None else None

    def _find_by_dayflow_id(self, dayflow_id: str) -> dict[str, Any] | None:
        # https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get
        condition = f"ep/id eq '{DAYFLOW_ID}' and ep/value eq '{dayflow_id.replace(chr(39), '')}'"
        params = {
            "$filter": f"singleValueExtendedProperties/Any(ep: {condition})",
            "$expand": EXPAND,
        }
        for found in self._pages(f"{self.api_base}/me/events", params):
            if found:
                return found[0]
        return None

    def _instance(self, master_id: str, recurrence_id: str, tzname: str) -> dict[str, Any] | None:
        original = events.parse_iso(recurrence_id, tzname)
        if not isinstance(original, dt.datetime):
            original = dt.datetime.combine(original, dt.time(), tzinfo=dt.UTC)
        elif original.tzinfo is None:
            original = original.replace(tzinfo=events.zone(settings.TIME_ZONE))
        day = dt.timedelta(days=1)
        params = {
            "startDateTime": (original - day).astimezone(dt.UTC).isoformat(),
            "endDateTime": (original + day).astimezone(dt.UTC).isoformat(),
        }
        url = f"{self.event_url(master_id)}/instances"
        found = [instance for page in self._pages(url, params) for instance in page]
        return _closest(found, original, whole_day=len(recurrence_id) == 10)

    def _pages(self, url: str, params: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
        """Each page's `value`, following @odata.nextLink: Graph pages lists on its own, and
        "A page of results may contain zero or more results". https://learn.microsoft.com/graph/paging"""
        query: dict[str, str] | None = params
        while url:
            body = self.http.request_json("GET", url, params=query, headers={"Prefer": PREFER})
            yield field(SERVICE, body, "value", list)
            url, query = body.get("@odata.nextLink") or "", None

    def _cancel_instance(self, master_id: str, exdate: str, tzname: str) -> None:
        instance = self._instance(master_id, exdate, tzname)
        if instance is not None:
            self.delete(instance["id"])

    def _write_instance(self, fields: dict[str, Any]) -> RemoteItem:
        # An exception is an occurrence changed in place (Graph has no "create exception").
        master_id = fields["series_remote_id"]
        instance = self._instance(master_id, fields["recurrence_id"], fields.get("timezone", ""))
        if instance is None:
            raise NotFound(f"no instance at {fields['recurrence_id']}", service=SERVICE)
        if fields.get("status") == "cancelled":
            self.delete(instance["id"])
            return self.to_item({**instance, "isCancelled": True, "type": "exception"})
        return self._patch(instance["id"], fields, instance.get("@odata.etag", ""), instance)


def _closest(
    instances: list[dict[str, Any]], original: dt.datetime, *, whole_day: bool
) -> dict[str, Any] | None:
    """The occurrence that started at `original`. An all-day occurrence's originalStart is
    midnight in the series' own zone, which we may not know: the nearest within 14 hours."""
    tolerance = dt.timedelta(hours=14) if whole_day else dt.timedelta(0)
    found = [
        (abs(_parse_utc(i["originalStart"]) - original), i)
        for i in instances
        if i.get("originalStart")
    ]
    found = [(gap, i) for gap, i in found if gap <= tolerance]
    return min(found, key=lambda pair: pair[0])[1] if found else None


def _new_round(calendars: list[str], *, full: bool) -> dict[str, Any]:
    # "read": the series masters this round has already fetched.
    return {**new_round(calendars, "links", full=full), "read": []}


def _json(response: Any) -> Any:
    try:
        return response.json() if response.content else {}
    except ValueError as exc:
        raise UnexpectedPayload(SERVICE, "body", "not JSON") from exc


def _properties(event: dict[str, Any]) -> dict[str, str]:
    return {
        p.get("id", ""): p.get("value", "")
        for p in event.get("singleValueExtendedProperties") or []
    }


def _parse_utc(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# --- mapping: Graph event <-> normalized fields ----------------------------------------
def iana(name: str) -> str:
    """A Graph time zone name (Windows or IANA) as an IANA name; UTC when unknown."""
    if not name or name in ("tzone://Microsoft/Utc", "Coordinated Universal Time"):
        return "UTC"
    mapped = WINDOWS_TO_OLSON.get(name, name)
    try:
        events.zone(mapped)
    except Permanent:
        return "UTC"
    return "UTC" if mapped in events.UTC_NAMES else mapped


def _graph_time(
    when: dict[str, Any], own_tz: str, *, all_day: bool, floating: bool
) -> events.Instant:
    text = field(SERVICE, when, "dateTime", str)
    stamp = dt.datetime.fromisoformat(text[:26]).replace(
        tzinfo=events.zone(iana(when.get("timeZone", "")))
    )
    local = stamp.astimezone(events.zone(own_tz))
    if all_day:
        return local.date()
    return local.replace(tzinfo=None) if floating else local


def _cancelled_dates(event: dict[str, Any]) -> list[dt.date]:
    # "OID.{seriesMasterId}.2026-04-06": the original date of a cancelled occurrence.
    return [
        dt.date.fromisoformat(v.rsplit(".", 1)[-1]) for v in event.get("cancelledOccurrences") or []
    ]


def _exdates(event: dict[str, Any], start: events.Instant, own: str) -> list[str]:
    dates = _cancelled_dates(event)
    if not isinstance(start, dt.datetime):
        return sorted(d.isoformat() for d in dates)
    return sorted(
        events.iso(dt.datetime.combine(d, start.timetz()).replace(tzinfo=start.tzinfo), own)
        for d in dates
    )


def to_fields(event: dict[str, Any]) -> dict[str, Any]:
    """One Graph event as normalized fields."""
    floating = _properties(event).get(FLOATING) == "1"
    zone_tz = iana(event.get("originalStartTimeZone", ""))
    all_day = bool(event.get("isAllDay"))
    options = {"all_day": all_day, "floating": floating}
    start = _graph_time(field(SERVICE, event, "start", dict), zone_tz, **options)
    own = "" if all_day or floating else zone_tz
    recurrence = event.get("recurrence")
    is_master = event.get("type") == "seriesMaster" and recurrence
    original = event.get("originalStart") if event.get("type") == "exception" else None
    return {
        "title": event.get("subject") or "",
        "description": ((event.get("body") or {}).get("content")) or "",
        "location": ((event.get("location") or {}).get("displayName")) or "",
        "status": _status(event),
        "all_day": all_day,
        "start": start,
        "end": _graph_time(field(SERVICE, event, "end", dict), zone_tz, **options),
        "timezone": own,
        "rrule": (
            events.explicit_rrule(
                events.graph_to_rrule(recurrence, own, all_day, service=SERVICE), start
            )
            if is_master
            else ""
        ),
        "exdates": _exdates(event, start, own) if is_master else [],
        "recurrence_id": _recurrence_id(original, zone_tz, all_day, floating) if original else "",
        "series_remote_id": (event.get("seriesMasterId") or "") if original else "",
    }


def _recurrence_id(original: str, zone_tz: str, all_day: bool, floating: bool) -> str:
    local = _parse_utc(original).astimezone(events.zone(zone_tz))
    if all_day:
        return local.date().isoformat()
    return events.iso(local.replace(tzinfo=None) if floating else local)


def _status(event: dict[str, Any]) -> str:
    if event.get("isCancelled"):
        return "cancelled"
    return "tentative" if event.get("showAs") == "tentative" else "confirmed"


def _remote_time(value: events.Instant, tzname: str) -> dict[str, str]:
    if not isinstance(value, dt.datetime):
        return {"dateTime": f"{value.isoformat()}T00:00:00", "timeZone": "UTC"}
    if value.tzinfo is None:
        return {"dateTime": value.isoformat(), "timeZone": settings.TIME_ZONE}
    local = events.in_zone(value, tzname)
    return {"dateTime": local.replace(tzinfo=None).isoformat(), "timeZone": tzname or "UTC"}


# Which parts of a Graph body each normalized field writes.
TIME_FIELDS = ("start", "end", "all_day", "timezone")
CHANGED_BY = {
    "title": ("subject",),
    "description": ("body",),
    "location": ("location",),
    "rrule": ("recurrence",),
    # The series' range starts on the start's date: it moves with it.
    **{
        name: ("start", "end", "isAllDay", "recurrence", "singleValueExtendedProperties")
        for name in TIME_FIELDS
    },
}


def changes(current: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body that makes `current` (a Graph event) hold `fields`: only what changed.

    An instance listed without its own times (a bare occurrence) gets every field.
    """
    full = to_remote(fields, "")
    if "start" not in current:
        return full
    now = to_fields(current)
    body: dict[str, Any] = {}
    for name, keys in CHANGED_BY.items():
        if fields.get(name) != now.get(name):
            body |= {key: full[key] for key in keys if key in full}
    if now["rrule"] and not fields.get("rrule"):
        body["recurrence"] = None  # no longer a series
    show_as = _show_as(fields.get("status", ""), current.get("showAs", ""))
    if show_as:
        body["showAs"] = show_as
    return body


def _show_as(status: str, current: str) -> str:
    """showAs to send for `status`, "" to leave it: free, oof or workingElsewhere stay as
    they are unless the event becomes, or stops being, tentative."""
    if status == "tentative" and current != "tentative":
        return "tentative"
    if status != "tentative" and current == "tentative":
        return "busy"
    return ""


def to_remote(fields: dict[str, Any], dayflow_id: str = "") -> dict[str, Any]:
    """Normalized fields as a Graph event body (create or PATCH)."""
    tzname = fields.get("timezone", "")
    start = fields["start"]
    floating = isinstance(start, dt.datetime) and start.tzinfo is None
    body: dict[str, Any] = {
        "subject": fields.get("title", ""),
        "body": {"contentType": "text", "content": fields.get("description", "")},
        "location": {"displayName": fields.get("location", "")},
        "start": _remote_time(start, tzname),
        "end": _remote_time(fields["end"], tzname),
        "isAllDay": bool(fields.get("all_day")),
        "showAs": "tentative" if fields.get("status") == "tentative" else "busy",
    }
    if fields.get("rrule"):
        zone_name = settings.TIME_ZONE if floating else (tzname or "UTC")
        body["recurrence"] = events.rrule_to_graph(fields["rrule"], start, tzname, service=SERVICE)
        body["recurrence"]["range"]["recurrenceTimeZone"] = zone_name
    # The floating flag is always sent, so an event that stops floating is read back zoned.
    properties = [{"id": DAYFLOW_ID, "value": dayflow_id}] if dayflow_id else []
    properties.append({"id": FLOATING, "value": "1" if floating else "0"})
    body["singleValueExtendedProperties"] = properties
    return body
