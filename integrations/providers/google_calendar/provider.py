"""Google Calendar API v3: events, incremental with syncToken.
https://developers.google.com/calendar/api/guides/sync

Quirks handled here:
- events are listed with `singleEvents=false`, so a series stays one master with its
  `recurrence` lines, and its modified or cancelled instances come as their own events
  (`recurringEventId` + `originalStartTime`);
- `nextSyncToken` only comes on the last page; a 410 Gone means the token expired and a full
  listing starts over (deletions are then found by difference);
- deleted events come back as `status: cancelled`: a deletion, or, for an instance of a series,
  a cancelled exception;
- DayFlow's id lives in `extendedProperties.private`; writes send `If-Match` with the etag.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from django.conf import settings

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
    parse_datetime,
)
from integrations.providers.errors import (
    CursorExpired,
    Gone,
    NotFound,
    Permanent,
    PreconditionFailed,
    ProviderError,
    RateLimited,
    UnexpectedPayload,
)
from integrations.providers.events import UnsupportedRecurrence
from integrations.providers.google_calendar.batch import MAX_CALLS, GoogleBatch, batch_url

logger = logging.getLogger("integrations.google_calendar")
SERVICE = "google-calendar"
# The largest pages Google serves: events.list "can never be larger than 2500 events"
# (https://developers.google.com/calendar/api/v3/reference/events/list, maxResults) and
# calendarList.list "never larger than 250 entries"
# (https://developers.google.com/calendar/api/v3/reference/calendarList/list, maxResults).
PAGE_SIZE = 2500
CALENDAR_LIST_PAGE_SIZE = 250
DAYFLOW_ID = "dayflowId"
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
FLOATING = "dayflowFloating"  # Google has no floating time: the wall clock is kept, flagged


class GoogleCalendarProvider(Provider):
    """Events of the calendars the user picked (`primary` when none)."""

    key = "google-calendar"
    name = "Google Calendar"
    kind = Kind.CALENDAR
    docs_url = "https://developers.google.com/calendar/api/v3/reference"
    authorization_url = "https://accounts.google.com/o/oauth2/v2/auth"
    token_url = "https://oauth2.googleapis.com/token"
    revoke_url = "https://oauth2.googleapis.com/revoke"
    scopes = (
        "openid",
        "email",
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/calendar.readonly",
    )
    pkce = True
    # A refresh token is only issued with offline access; prompt=consent re-issues it.
    extra_authorize_params = {"access_type": "offline", "prompt": "consent"}
    api_base = "https://www.googleapis.com/calendar/v3"
    rate_limit = (10, 1.0)  # 600 requests/min/user
    item_types = (ItemType.EVENT,)
    change_feed = "events.list syncToken (410 Gone: full resync)"
    supports_webhooks = True
    webhook_registration = "api"
    # A new channel's first message (`sync`) says nothing changed yet.
    webhook_handshake = True
    mapping_schema = {"calendars": list}
    collection_setting = "calendars"
    collection_words = "a calendar"
    collection_default = "your primary calendar"
    collection_kind = "calendar"
    web_url_field = "htmlLink"  # the event in Google Calendar's web app
    supports_move = True  # events.move between the calendars the connection syncs
    moves_change_ids = True  # the remote id carries the calendar (`remote_id`)
    write_batch_size = MAX_CALLS  # batch requests of 50 calls (batch.py says why not 1,000)

    # What batch.py builds with: it cannot import this module, which imports it.
    dayflow_property, page_size = DAYFLOW_ID, PAGE_SIZE

    @property
    def batch_url(self) -> str:
        return batch_url(self.api_base)

    def write_batch(self, writes: list[Write]) -> list[WriteResult]:
        """Up to `write_batch_size` writes in two batch requests: their reads, then their
        writes (`integrations/providers/google_calendar/batch.py`)."""
        return GoogleBatch(self).write(writes)

    @staticmethod
    def new_event_body(fields: dict[str, Any], dayflow_id: str = "") -> dict[str, Any]:
        return to_remote(fields, dayflow_id)

    @staticmethod
    def replaced_body(current: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        return merged(current, fields)

    def call(self, method: str, url: str, **kwargs: Any) -> Any:
        """A JSON call (None for an empty body) where a rate-limit 403 is RateLimited.

        Google answers 403 with reason rateLimitExceeded / userRateLimitExceeded when it wants
        the caller to back off, not only 429:
        https://developers.google.com/calendar/api/guides/errors#403_rate_limit_exceeded
        """
        response = self.http.request(method, url, ok=(200, 201, 202, 204, 403), **kwargs)
        body = _json(response)
        if response.status_code == 403:
            raise self._forbidden(method, url, response, body)
        return body

    def _forbidden(
        self, method: str, url: str, response: requests.Response, body: Any
    ) -> ProviderError:
        error = body.get("error") if isinstance(body, dict) else None
        details = (error.get("errors") if isinstance(error, dict) else None) or []
        reasons = [d.get("reason", "") for d in details if isinstance(d, dict)]
        reason = next((r for r in reasons if r), "forbidden")
        what = f"{method} {urlsplit(url).path}: 403 {reason}"
        if reason in RATE_LIMIT_REASONS:
            wait = self.http.retry_after(response)
            return RateLimited(what, retry_after=wait, service=SERVICE)
        return Permanent(what, status=403, service=SERVICE)

    def calendars(self) -> list[str]:
        return list(self.field_mapping.get("calendars") or []) or ["primary"]

    def events_url(self, calendar: str, event_id: str = "") -> str:
        url = f"{self.api_base}/calendars/{quote(calendar, safe='')}/events"
        return f"{url}/{quote(event_id, safe='')}" if event_id else url

    def list_containers(self) -> list[Container]:
        containers, page_token = [], ""
        while True:
            params: dict[str, Any] = {"maxResults": CALENDAR_LIST_PAGE_SIZE}
            if page_token:
                params["pageToken"] = page_token
            body = self.call("GET", f"{self.api_base}/users/me/calendarList", params=params)
            for entry in field(SERVICE, body, "items", list):
                containers.append(
                    Container(
                        entry["id"],
                        entry.get("summary", ""),
                        "calendar",
                        item_types=self.item_types,
                    )
                )
            page_token = body.get("nextPageToken", "")
            if not page_token:
                return containers

    # --- pull ----------------------------------------------------------------------
    def pull(self, cursor: str | None, collection: str = "") -> Page:
        """One events.list page. While `has_more`, `next_cursor` is where the round goes on;
        once it is False, it holds every calendar's sync token. Every page of a full round
        says `full`."""
        calendars = [collection] if collection else self.calendars()
        state = self.cursor_state(cursor, {"tokens": {}})
        state.setdefault("tokens", {})
        state.setdefault("round", new_round(calendars, "tokens", full=cursor is None))
        try:
            return self._pull_page(state)
        except CursorExpired:
            restart = {"tokens": {}, "round": new_round(calendars, "tokens", full=True)}
            return self._pull_page(restart)

    def _pull_page(self, state: dict[str, Any]) -> Page:
        current = state["round"]
        calendar = current["queue"][0]
        params: dict[str, Any] = {"singleEvents": "false", "maxResults": PAGE_SIZE}
        params |= {"showDeleted": "true"}  # cancelled instances are exceptions of a series
        if current.get("page"):
            params["pageToken"] = current["page"]
        elif not current["full"] and state["tokens"].get(calendar):
            params["syncToken"] = state["tokens"][calendar]
        try:
            body = self.call("GET", self.events_url(calendar), params=params)
        except Gone as exc:
            # https://developers.google.com/calendar/api/guides/sync: clear and sync fully.
            raise CursorExpired("the sync token expired", service=SERVICE) from exc
        page = self._page_of(calendar, body, full=current["full"])
        return advance_round(
            state,
            page,
            saved="tokens",
            next_page=body.get("nextPageToken") or "",
            finished=lambda: field(SERVICE, body, "nextSyncToken", str),
        )

    def _page_of(self, calendar: str, body: dict[str, Any], *, full: bool) -> Page:
        page = Page(full=full)
        default_tz = body.get("timeZone", "")
        for event in field(SERVICE, body, "items", list):
            if event.get("status") == "cancelled" and not event.get("recurringEventId"):
                if not full:
                    page.deleted_ids.append(remote_id(calendar, event["id"]))
                continue
            try:
                page.items.append(self.to_item(event, calendar, default_tz))
            except UnsupportedRecurrence as exc:
                # There, but not ours to hold: never a deletion by difference, an error to show.
                which = remote_id(calendar, field(SERVICE, event, "id", str))
                page.unsyncable[which] = f"{event.get('summary') or 'an event'}: {exc}"
        return page

    def to_item(self, raw: dict[str, Any], calendar: str = "", default_tz: str = "") -> RemoteItem:
        """One Google event (of `calendar`, the first chosen one by default) as a RemoteItem."""
        event, calendar = raw, calendar or self.calendars()[0]
        fields = to_fields(event, default_tz)
        if fields["series_remote_id"]:
            fields["series_remote_id"] = remote_id(calendar, fields["series_remote_id"])
        private = (event.get("extendedProperties") or {}).get("private") or {}
        updated = event.get("updated")
        return RemoteItem(
            remote_id(calendar, field(SERVICE, event, "id", str)),
            ItemType.EVENT,
            fields,
            version=event.get("etag", ""),
            updated_at=parse_datetime(SERVICE, "updated", updated) if updated else None,
            collection=calendar,
            dayflow_id=private.get(DAYFLOW_ID, ""),
            web_url=self.web_url(event),
            read_only={"attendees": attendees.from_google(event.get("attendees"))},
        )

    # --- writes --------------------------------------------------------------------
    def create(
        self, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        """Insert; a retried create finds the event that carries DayFlow's id instead."""
        fields = events.for_creating(fields)
        if fields.get("series_remote_id"):
            return self._write_instance(fields)
        calendar = collection or self.calendars()[0]
        existing = (
            self._find_by_dayflow_id(calendar, dayflow_id)
            if dayflow_id and not self.creating_looked_up
            else None
        )
        if existing is not None:
            return self.to_item(existing, calendar)
        body = to_remote(fields, dayflow_id)
        created = self.call("POST", self.events_url(calendar), json=body)
        return self.to_item(created, calendar)

    def move(self, remote_id: str, collection: str, version: str = "") -> RemoteItem:
        """events.move to another calendar: the same event, its id now under that calendar.
        The POST takes no If-Match, so the version is checked by reading the event first.
        https://developers.google.com/calendar/api/v3/reference/events/move"""
        calendar, event_id = split_id(remote_id)
        current = self.call("GET", self.events_url(calendar, event_id)) if version else {}
        if version and current.get("etag") != version:
            raise PreconditionFailed(f"event {event_id} changed", status=412, service=self.key)
        url = f"{self.events_url(calendar, event_id)}/move"
        moved = self.call("POST", url, params={"destination": collection})
        return self.to_item(moved, collection)

    def ids_in_other_containers(self, remote_id: str, containers: set[str]) -> list[str]:
        """events.move keeps the event's id: under each other calendar, the id it had there."""
        calendar, event_id = split_id(remote_id)
        others = sorted(c for c in containers if c and c != calendar)
        return [f"{other}/{event_id}" for other in others]

    def update(self, remote_id: str, fields: dict[str, Any], version: str = "") -> RemoteItem:
        """PUT with If-Match: Google answers 412 when the event changed since `version`."""
        fields = events.for_writing(fields)
        calendar, event_id = split_id(remote_id)
        current = self.call("GET", self.events_url(calendar, event_id))
        return self._replace(calendar, current, fields, version)

    def _replace(
        self, calendar: str, current: dict[str, Any], fields: dict[str, Any], version: str
    ) -> RemoteItem:
        body = merged(current, fields)
        headers = {"If-Match": version} if version else {}
        url = self.events_url(calendar, field(SERVICE, current, "id", str))
        return self.to_item(self.call("PUT", url, json=body, headers=headers), calendar)

    def delete(self, remote_id: str, version: str = "") -> None:
        """Delete (an instance of a series: cancel it); already gone is fine."""
        calendar, event_id = split_id(remote_id)
        headers = {"If-Match": version} if version else {}
        try:
            self.call("DELETE", self.events_url(calendar, event_id), headers=headers)
        except (Gone, NotFound):
            return

    def restore(
        self, remote_id: str, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        """A deleted event stays readable as `status: cancelled` under its id: write it back
        confirmed, under that id. Only once Google has purged it is a new event created.
        https://developers.google.com/calendar/api/v3/reference/events/update"""
        if fields.get("series_remote_id"):
            return self.create(fields, dayflow_id=dayflow_id, collection=collection)
        calendar, event_id = split_id(remote_id)
        try:
            current = self.call("GET", self.events_url(calendar, event_id))
        except (Gone, NotFound):
            return self.create(fields, dayflow_id=dayflow_id, collection=calendar)
        if dayflow_id:
            current = with_dayflow_id(current, dayflow_id)
        # The body is the event with our fields, so `status` becomes confirmed (or tentative).
        return self._replace(calendar, current, events.for_writing(fields), current.get("etag", ""))

    def get(self, remote_id: str) -> RemoteItem:
        calendar, event_id = split_id(remote_id)
        return self.to_item(self.call("GET", self.events_url(calendar, event_id)), calendar)

    def find_by_dayflow_id(self, dayflow_id: str, collection: str = "") -> RemoteItem | None:
        for calendar in [collection] if collection else self.calendars():
            found = self._find_by_dayflow_id(calendar, dayflow_id)
            if found is not None:
                return self.to_item(found, calendar)
        return None

    def _find_by_dayflow_id(self, calendar: str, dayflow_id: str) -> dict[str, Any] | None:
        # A page "may be less than [maxResults], or none at all, even if there are more events
        # matching": an empty page with a nextPageToken is no proof of absence.
        # https://developers.google.com/calendar/api/v3/reference/events/list
        params = {"privateExtendedProperty": f"{DAYFLOW_ID}={dayflow_id}", "maxResults": PAGE_SIZE}
        while True:
            body = self.call("GET", self.events_url(calendar), params=params)
            found = field(SERVICE, body, "items", list)
            if found or not body.get("nextPageToken"):
                return found[0] if found else None
            params = {**params, "pageToken": body["nextPageToken"]}

    def _write_instance(self, fields: dict[str, Any]) -> RemoteItem:
        # An overridden instance is an event of its own, found by its original start:
        # https://developers.google.com/calendar/api/v3/reference/events/instances
        calendar, master_id = split_id(fields["series_remote_id"])
        instance = self._instance(calendar, master_id, fields)
        if fields.get("status") == "cancelled":
            self.delete(remote_id(calendar, instance["id"]), instance.get("etag", ""))
            gone = {**instance, "status": "cancelled"}
            return self.to_item(gone, calendar)
        return self._replace(calendar, instance, fields, instance.get("etag", ""))

    def _instance(self, calendar: str, master_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        original = events.parse_iso(fields["recurrence_id"], fields.get("timezone", ""))
        params = {"originalStart": _rfc3339(original), "showDeleted": "true"}
        url = f"{self.events_url(calendar, master_id)}/instances"
        found = field(SERVICE, self.call("GET", url, params=params), "items", list)
        if not found:
            raise NotFound(f"no instance at {fields['recurrence_id']}", service=SERVICE)
        return found[0]


def _json(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise UnexpectedPayload(SERVICE, "body", "not JSON") from None


def remote_id(calendar: str, event_id: str) -> str:
    """Event ids are unique per calendar only: the remote id carries both."""
    return f"{calendar}/{event_id}"


def split_id(value: str) -> tuple[str, str]:
    calendar, _, event_id = value.rpartition("/")
    return calendar, event_id


def _rfc3339(value: events.Instant) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat() if value.tzinfo else value.isoformat() + "Z"
    return value.isoformat()


# --- mapping: Google event <-> normalized fields ---------------------------------------
def _when(when: dict[str, Any], tzname: str, floating: bool) -> events.Instant:
    if "date" in when:
        return dt.date.fromisoformat(when["date"])
    value = dt.datetime.fromisoformat(field(SERVICE, when, "dateTime", str).replace("Z", "+00:00"))
    if floating:
        return events.in_zone(value, tzname or "UTC").replace(tzinfo=None)
    return (
        events.in_zone(value, tzname) if value.tzinfo else value.replace(tzinfo=events.zone(tzname))
    )


def to_fields(event: dict[str, Any], default_tz: str = "") -> dict[str, Any]:
    """One Google event as normalized fields (Google's time zone name wins over the calendar's)."""
    private = (event.get("extendedProperties") or {}).get("private") or {}
    floating = private.get(FLOATING) == "1"
    # A cancelled instance carries only its original start.
    fallback = event.get("originalStartTime") if event.get("status") == "cancelled" else None
    start_when = event.get("start") or fallback or field(SERVICE, event, "start", dict)
    end_when = event.get("end") or fallback or field(SERVICE, event, "end", dict)
    tzname = start_when.get("timeZone") or default_tz or "UTC"
    all_day = "date" in start_when
    start = _when(start_when, tzname, floating)
    own_tz = "" if floating or all_day else tzname
    rrule, exdates = events.parse_recurrence_lines(
        event.get("recurrence") or [], own_tz, service=SERVICE
    )
    original = event.get("originalStartTime")
    status = event.get("status", "confirmed")
    return {
        "title": event.get("summary", ""),
        "description": event.get("description", ""),
        "location": event.get("location", ""),
        "status": status if status in events.STATUSES else "confirmed",
        "all_day": all_day,
        "start": start,
        "end": _when(end_when, tzname, floating),
        "timezone": own_tz,
        "rrule": events.explicit_rrule(rrule, start),
        "exdates": exdates,
        "recurrence_id": events.iso(_when(original, tzname, floating), own_tz) if original else "",
        "series_remote_id": event.get("recurringEventId", ""),
    }


def merged(current: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """`current` with only DayFlow's fields replaced: the body for events.update.

    events.update replaces the whole event, so whatever DayFlow does not model (attendees,
    reminders, conferenceData, colorId, visibility, other apps' extended properties…) is
    sent back as it was: https://developers.google.com/calendar/api/v3/reference/events/update
    """
    extended = dict(current.get("extendedProperties") or {})
    theirs = {k: v for k, v in (extended.get("private") or {}).items() if k != FLOATING}
    ours = to_remote(fields, theirs.get(DAYFLOW_ID, ""))
    body = {**current, **ours}
    if not fields.get("rrule"):
        body.pop("recurrence", None)
    private = {**theirs, **(ours.get("extendedProperties") or {}).get("private", {})}
    extended["private"] = private
    body["extendedProperties"] = extended
    if not private:
        del extended["private"]
    if not extended:
        del body["extendedProperties"]
    return body


def with_dayflow_id(event: dict[str, Any], dayflow_id: str) -> dict[str, Any]:
    """`event` carrying DayFlow's id among its private extended properties."""
    extended = dict(event.get("extendedProperties") or {})
    extended["private"] = {**(extended.get("private") or {}), DAYFLOW_ID: dayflow_id}
    return {**event, "extendedProperties": extended}


def _remote_when(value: events.Instant, tzname: str) -> dict[str, str]:
    if not isinstance(value, dt.datetime):
        return {"date": value.isoformat()}
    if value.tzinfo is None:  # floating: the wall clock, read back through the flag
        return {"dateTime": value.isoformat(), "timeZone": settings.TIME_ZONE}
    return {"dateTime": events.in_zone(value, tzname).isoformat(), "timeZone": tzname or "UTC"}


def to_remote(fields: dict[str, Any], dayflow_id: str = "") -> dict[str, Any]:
    """Normalized fields as a Google event body (events.insert / events.update)."""
    tzname = fields.get("timezone", "")
    floating = (
        not fields.get("all_day")
        and isinstance(fields["start"], dt.datetime)
        and (fields["start"].tzinfo is None)
    )
    private = {DAYFLOW_ID: dayflow_id} if dayflow_id else {}
    if floating:
        private[FLOATING] = "1"
        fields = {**fields, "timezone": ""}
    body: dict[str, Any] = {
        "summary": fields.get("title", ""),
        "description": fields.get("description", ""),
        "location": fields.get("location", ""),
        "status": fields.get("status") or "confirmed",
        "start": _remote_when(fields["start"], tzname),
        "end": _remote_when(fields["end"], tzname),
    }
    if fields.get("rrule"):
        body["recurrence"] = events.recurrence_lines(fields)
    if fields.get("recurrence_id"):
        original = events.parse_iso(fields["recurrence_id"], tzname)
        body["originalStartTime"] = _remote_when(original, tzname)
        body["recurringEventId"] = split_id(fields.get("series_remote_id", ""))[1]
    if private:
        body["extendedProperties"] = {"private": private}
    return body
