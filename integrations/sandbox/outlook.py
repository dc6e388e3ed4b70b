"""Microsoft Graph (Outlook calendars): the identity platform's OAuth (PKCE, rotating refresh
tokens, an id_token), calendars, events with series, occurrences and exceptions, the
calendarView delta feed (nextLink / deltaLink, syncStateNotFound), extended properties,
If-Match, 429 with Retry-After, and change-notification subscriptions with the
validationToken handshake and clientState. https://learn.microsoft.com/graph/api/resources/event"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import requests
from dateutil import rrule
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import RequestFactory
from django.urls import Resolver404, path, resolve
from django.views.decorators.http import require_http_methods
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from integrations.sandbox import oauth, outbox, store
from integrations.sandbox.gate import api_view
from integrations.sandbox.models import Account, Item

KEY = "outlook"
# Graph wants a 2xx within 3 s and retries "for up to 4 hours" (the waits are not published).
WEBHOOK_RETRIES = outbox.Retries(waits=(60, 300, 900, 1800, 3600, 7200), timeout=3.0)
EVENT, CALENDAR, TOMBSTONE, SUBSCRIPTION = "event", "calendar", "tombstone", "subscription"
PAGE_DEFAULT = 10  # delta pages without odata.maxpagesize
MAX_SUBSCRIPTION = dt.timedelta(minutes=4230)  # events: under three days
VALIDATION_TIMEOUT = 10.0  # seconds Graph waits for the validationToken echo
RETRY_AFTER = "1"
PUBLIC = "https://graph.microsoft.com/v1.0"
NO_WINDOW = (
    "This request requires a time window specified by the query string parameters "
    "StartDateTime and EndDateTime."
)
CONTEXT = f"{PUBLIC}/$metadata#users('{{user}}')/events"
TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"  # the consumer (MSA) tenant


# --- errors, in Graph's {"error": {code, message, innerError}} --------------------------------
def error(status: int, code: str, message: str) -> JsonResponse:
    inner = {
        "date": store.now().strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": str(uuid.uuid4()),
        "client-request-id": str(uuid.uuid4()),
    }
    return JsonResponse(
        {"error": {"code": code, "message": message, "innerError": inner}}, status=status
    )


def unauthorized() -> HttpResponse:
    response = error(401, "InvalidAuthenticationToken", "Access token validation failure.")
    response["WWW-Authenticate"] = 'Bearer realm="", error="invalid_token"'
    return response


def rate_limited() -> HttpResponse:
    """Throttled: 429 with Retry-After. https://learn.microsoft.com/graph/throttling"""
    response = error(429, "TooManyRequests", "Too many requests, please try again later.")
    response["Retry-After"] = RETRY_AFTER
    return response


def not_found() -> HttpResponse:
    return error(404, "ErrorItemNotFound", "The specified object was not found in the store.")


graph_api = store.endpoint(KEY, unauthorized, rate_limited)


# --- time ----------------------------------------------------------------------------------
def zone(name: str) -> ZoneInfo:
    """Graph takes Windows zone names ("W. Europe Standard Time") and IANA ones."""
    return ZoneInfo(WINDOWS_TO_OLSON.get(name, name) or "UTC")


def moment(when: dict[str, str]) -> dt.datetime:
    return dt.datetime.fromisoformat(when["dateTime"][:26]).replace(
        tzinfo=zone(when.get("timeZone", "UTC"))
    )


def graph_when(value: dt.datetime, zone_name: str) -> dict[str, str]:
    local = value.astimezone(zone(zone_name)).replace(tzinfo=None)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_name}


def _stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


# --- seed -----------------------------------------------------------------------------------
BERLIN, NEW_YORK = "W. Europe Standard Time", "Eastern Standard Time"
# (calendar, subject, day offset, "HH:MM" or "" all-day, minutes or days, pattern, zone)
EVENTS: tuple[tuple[str, str, int, str, int, dict[str, Any] | None, str], ...] = (
    ("Calendar", "Dentist", 2, "10:00", 60, None, BERLIN),
    ("Calendar", "Lunch with Sam", 1, "12:30", 90, None, BERLIN),
    ("Calendar", "Team offsite", 5, "", 2, None, BERLIN),
    ("Calendar", "Weekly sync", 0, "09:00", 30, {"type": "weekly", "count": 8}, BERLIN),
    ("Calendar", "Quarterly review", 9, "14:00", 120, None, BERLIN),
    ("Calendar", "Public holiday", 10, "", 1, None, BERLIN),
    ("Family", "Soccer practice", 2, "10:00", 90, {"type": "weekly", "count": 6}, NEW_YORK),
    ("Family", "Mom's birthday", 12, "", 1, {"type": "absoluteYearly", "count": 0}, NEW_YORK),
    ("Family", "Parent-teacher meeting", 3, "18:00", 45, None, NEW_YORK),
)
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def seed(account: Account, clock: dt.datetime) -> None:
    """Two calendars in two zones; single, all-day and recurring events, a series with a
    moved and a cancelled occurrence, and a flight that ends in another zone."""
    calendars = {}
    for name, default in (("Calendar", True), ("Family", False)):
        calendar_id = _id(f"{account.login}:calendar:{name}")
        calendars[name] = store.put(
            account, CALENDAR, calendar_id, _calendar(account, calendar_id, name, default)
        )
    day = clock.date()
    masters = {}
    for calendar, subject, offset, at, length, pattern, zone_name in EVENTS:
        first = day + dt.timedelta(days=offset)
        body = _seed_body(subject, first, at, length, zone_name)
        if pattern:
            body["recurrence"] = _seed_recurrence(pattern, first, zone_name)
        masters[subject] = create_event(
            account,
            calendars[calendar],
            body,
            clock - dt.timedelta(days=14),
            _id(f"{account.login}:event:{subject}"),
        )
    flight_day = day + dt.timedelta(days=6)
    flight = {
        "subject": "Flight to New York",
        "start": graph_when(dt.datetime.combine(flight_day, dt.time(10, 15), zone(BERLIN)), BERLIN),
        "end": graph_when(
            dt.datetime.combine(flight_day, dt.time(13, 5), zone(NEW_YORK)), NEW_YORK
        ),
    }
    create_event(
        account,
        calendars["Calendar"],
        flight,
        clock - dt.timedelta(days=14),
        _id(f"{account.login}:event:flight"),
    )
    series = masters["Weekly sync"]
    occurrences = _occurrences(series.data, *_window_around(clock))
    moved = occurrences[1]
    _patch_instance(
        account,
        series,
        moved,
        {
            "subject": "Weekly sync (moved)",
            "start": graph_when(moment(moved["start"]) + dt.timedelta(days=1), BERLIN),
            "end": graph_when(moment(moved["end"]) + dt.timedelta(days=1), BERLIN),
        },
    )
    _cancel_occurrence(account, series, occurrences[3])


def _window_around(clock: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    return clock - dt.timedelta(days=365), clock + dt.timedelta(days=730)


def _seed_body(
    subject: str, first: dt.date, at: str, length: int, zone_name: str
) -> dict[str, Any]:
    if not at:
        start = dt.datetime.combine(first, dt.time(), zone(zone_name))
        return {
            "subject": subject,
            "isAllDay": True,
            "start": graph_when(start, zone_name),
            "end": graph_when(start + dt.timedelta(days=length), zone_name),
        }
    start = dt.datetime.combine(first, dt.time.fromisoformat(at), zone(zone_name))
    return {
        "subject": subject,
        "start": graph_when(start, zone_name),
        "end": graph_when(start + dt.timedelta(minutes=length), zone_name),
    }


def _seed_recurrence(pattern: dict[str, Any], first: dt.date, zone_name: str) -> dict[str, Any]:
    kind = pattern["type"]
    body = {
        "type": kind,
        "interval": 1,
        "month": 0,
        "dayOfMonth": 0,
        "firstDayOfWeek": "sunday",
        "index": "first",
    }
    if kind == "weekly":
        body["daysOfWeek"] = [DAYS[first.weekday()]]
    if kind == "absoluteYearly":
        body |= {"month": first.month, "dayOfMonth": first.day}
    count = pattern["count"]
    rng = {
        "type": "numbered" if count else "noEnd",
        "startDate": first.isoformat(),
        "endDate": "0001-01-01",
        "recurrenceTimeZone": zone_name,
        "numberOfOccurrences": count,
    }
    return {"pattern": body, "range": rng}


def _id(text: str) -> str:
    """Graph ids are long opaque base64 strings."""
    digest = hashlib.sha256(text.encode()).digest()
    return "AAMkAGI2" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _calendar(account: Account, calendar_id: str, name: str, default: bool) -> dict[str, Any]:
    return {
        "id": calendar_id,
        "name": name,
        "color": "auto" if default else "lightBlue",
        "hexColor": "",
        "isDefaultCalendar": default,
        "changeKey": _id(f"{calendar_id}:change")[:20],
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "allowedOnlineMeetingProviders": [],
        "defaultOnlineMeetingProvider": "none",
        "isTallyingResponses": True,
        "isRemovable": not default,
        "owner": {"name": account.name, "address": account.login},
    }


# --- events ---------------------------------------------------------------------------------
def create_event(
    account: Account, calendar: Item, body: dict[str, Any], when: dt.datetime, event_id: str = ""
) -> Item:
    event_id = event_id or _id(str(uuid.uuid4()))
    stamp = _stamp(when)
    event = {
        "id": event_id,
        "createdDateTime": stamp,
        "lastModifiedDateTime": stamp,
        "categories": [],
        "originalStartTimeZone": body["start"].get("timeZone", "UTC"),
        "originalEndTimeZone": body["end"].get("timeZone", "UTC"),
        "iCalUId": "040000008200E00074C5B7101A82E008"
        + hashlib.sha256(event_id.encode()).hexdigest()[:40].upper(),
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": True,
        "hasAttachments": False,
        "subject": "",
        "bodyPreview": "",
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": False,
        "isCancelled": False,
        "isOrganizer": True,
        "responseRequested": True,
        "seriesMasterId": None,
        "showAs": "busy",
        "type": "singleInstance",
        "webLink": f"https://outlook.live.com/owa/?itemid={event_id}&exvsurl=1&path=/calendar/item",
        "isOnlineMeeting": False,
        "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
        "body": {"contentType": "text", "content": ""},
        "start": body["start"],
        "end": body["end"],
        "location": {
            "displayName": "",
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        },
        "locations": [],
        "recurrence": None,
        "attendees": [],
        "organizer": {"emailAddress": {"name": account.name, "address": account.login}},
        "cancelledOccurrences": [],
        "singleValueExtendedProperties": [],
    }
    _apply(event, body)
    return _save(
        account,
        Item(
            account=account,
            kind=EVENT,
            remote_id=event_id,
            container=calendar.remote_id,
            data=event,
        ),
    )


def _apply(event: dict[str, Any], body: dict[str, Any]) -> None:
    for name in (
        "subject",
        "start",
        "end",
        "isAllDay",
        "showAs",
        "importance",
        "sensitivity",
        "categories",
    ):
        if name in body:
            event[name] = body[name]
    if "body" in body:
        event["body"] = {
            "contentType": body["body"].get("contentType", "text"),
            "content": body["body"].get("content", ""),
        }
        event["bodyPreview"] = event["body"]["content"][:255]
    if "location" in body:
        event["location"] = {**event["location"], **(body["location"] or {})}
    if "start" in body:
        event["originalStartTimeZone"] = body["start"].get("timeZone", "UTC")
    if "end" in body:
        event["originalEndTimeZone"] = body["end"].get("timeZone", "UTC")
    if "recurrence" in body and event["type"] in ("singleInstance", "seriesMaster"):
        event["recurrence"] = body["recurrence"]
        event["type"] = "seriesMaster" if body["recurrence"] else "singleInstance"
        event["cancelledOccurrences"] = []
    for prop in body.get("singleValueExtendedProperties") or []:
        kept = [
            p
            for p in event["singleValueExtendedProperties"]
            if p["id"].lower() != prop["id"].lower()
        ]
        event["singleValueExtendedProperties"] = [
            *kept,
            {"id": prop["id"], "value": prop.get("value")},
        ]


def update_event(account: Account, stored: Item, body: dict[str, Any]) -> Item:
    """A PATCH of a stored event (single, master or exception) and its notifications."""
    _apply(stored.data, body)
    return _save(account, stored)


def _save(account: Account, item: Item) -> Item:
    """A change: a new change key, etag and lastModifiedDateTime, then the notifications."""
    key = base64.b64encode(uuid.uuid4().bytes[:12]).decode()
    item.data.update(changeKey=key, lastModifiedDateTime=_stamp(store.now()))
    item.data["@odata.etag"] = f'W/"{key}"'
    created = item.pk is None
    store.save(item)
    _notify(account, item, "deleted" if item.deleted else "created" if created else "updated")
    return item


def _occurrences(
    master: dict[str, Any], since: dt.datetime, until: dt.datetime
) -> list[dict[str, Any]]:
    """The series' occurrences starting in [since, until), cancelled ones left out."""
    recurrence = master["recurrence"]
    pattern, rng = recurrence["pattern"], recurrence["range"]
    start, end = moment(master["start"]), moment(master["end"])
    local_zone = zone(rng.get("recurrenceTimeZone") or master["originalStartTimeZone"])
    local_start = start.astimezone(local_zone).replace(tzinfo=None)
    options: dict[str, Any] = {
        "dtstart": local_start,
        "interval": int(pattern.get("interval") or 1),
    }
    kind = pattern["type"]
    if kind == "daily":
        frequency = rrule.DAILY
    elif kind == "weekly":
        frequency = rrule.WEEKLY
        options["byweekday"] = [
            DAYS.index(d) for d in pattern.get("daysOfWeek") or [DAYS[local_start.weekday()]]
        ]
    elif kind == "absoluteMonthly":
        frequency, options["bymonthday"] = rrule.MONTHLY, int(pattern["dayOfMonth"])
    elif kind == "absoluteYearly":
        frequency = rrule.YEARLY
        options |= {"bymonth": int(pattern["month"]), "bymonthday": int(pattern["dayOfMonth"])}
    else:
        return []  # relative patterns are not emulated
    if rng["type"] == "numbered":
        options["count"] = int(rng["numberOfOccurrences"])
    elif rng["type"] == "endDate":
        options["until"] = dt.datetime.combine(dt.date.fromisoformat(rng["endDate"]), dt.time.max)
    cancelled = set(master.get("cancelledOccurrences") or [])
    found = []
    for local in rrule.rrule(frequency, **options):
        begins = local.replace(tzinfo=local_zone)
        if begins >= until:
            break
        if begins < since or f"OID.{master['id']}.{local.date().isoformat()}" in cancelled:
            continue
        found.append(_occurrence(master, begins, begins + (end - start), local.date()))
    return found


def _occurrence(
    master: dict[str, Any], begins: dt.datetime, ends: dt.datetime, day: dt.date
) -> dict[str, Any]:
    keep = {
        k: v
        for k, v in master.items()
        if k not in ("recurrence", "cancelledOccurrences", "singleValueExtendedProperties")
    }
    return {
        **keep,
        "id": f"{master['id']}_OCC_{day:%Y%m%d}",
        "type": "occurrence",
        "seriesMasterId": master["id"],
        "originalStart": _stamp(begins).replace(".0000000", ""),
        "start": graph_when(begins, master["start"]["timeZone"]),
        "end": graph_when(ends, master["end"]["timeZone"]),
        "recurrence": None,
    }


def _instances(
    account: Account, master: Item, since: dt.datetime, until: dt.datetime
) -> list[dict[str, Any]]:
    """Occurrences and exceptions of a series in a window, as calendarView lists them."""
    exceptions = {
        e.data["originalStart"]: e.data
        for e in Item.objects.filter(
            account=account, kind=EVENT, deleted=False, data__seriesMasterId=master.remote_id
        )
    }
    found = [exceptions.pop(o["originalStart"], o) for o in _occurrences(master.data, since, until)]
    return found + [e for e in exceptions.values() if since <= moment(e["start"]) < until]


def _find(account: Account, event_id: str) -> tuple[Item | None, dict[str, Any] | None]:
    """(stored event, None) or (its series master, the occurrence) or (None, None)."""
    stored = store.find(account, EVENT, event_id)
    if stored is not None:
        return stored, None
    master_id, _, day = event_id.rpartition("_OCC_")
    master = store.find(account, EVENT, master_id) if master_id else None
    if master is None or master.data["type"] != "seriesMaster":
        return None, None
    try:
        date = dt.datetime.strptime(day, "%Y%m%d").replace(tzinfo=dt.UTC)
    except ValueError:
        return None, None
    found = [
        o
        for o in _occurrences(master.data, date - dt.timedelta(days=1), date + dt.timedelta(days=2))
        if o["id"] == event_id
    ]
    return (master, found[0]) if found else (None, None)


def _patch_instance(
    account: Account, master: Item, occurrence: dict[str, Any], body: dict[str, Any]
) -> Item:
    """Changing one occurrence makes it an exception, under the same id."""
    exception = {**occurrence, "type": "exception", "singleValueExtendedProperties": []}
    _apply(exception, {k: v for k, v in body.items() if k != "recurrence"})
    return _save(
        account,
        Item(
            account=account,
            kind=EVENT,
            remote_id=occurrence["id"],
            container=master.container,
            data=exception,
        ),
    )


def _cancel_occurrence(account: Account, master: Item, instance: dict[str, Any]) -> None:
    day = moment({"dateTime": instance["originalStart"].rstrip("Z"), "timeZone": "UTC"})
    local_zone = zone(
        master.data["recurrence"]["range"].get("recurrenceTimeZone")
        or master.data["originalStartTimeZone"]
    )
    master.data["cancelledOccurrences"].append(
        f"OID.{master.remote_id}.{day.astimezone(local_zone).date().isoformat()}"
    )
    _tombstone(account, instance["id"], master.container)
    _save(account, master)


def _tombstone(account: Account, event_id: str, calendar_id: str) -> None:
    """What delta reports as @removed."""
    store.put(account, TOMBSTONE, event_id, {"id": event_id}, calendar_id)


# --- rendering ------------------------------------------------------------------------------
def render(
    request: HttpRequest, account: Account, event: dict[str, Any], *, context: bool = True
) -> dict[str, Any]:
    """An event as Graph answers it: times in the Prefer'd zone, `$select`ed fields (id and
    the etag always), extended properties only when `$expand`ed, cancelledOccurrences only
    when selected."""
    prefer = request.headers.get("Prefer", "")
    answer = dict(event)
    wanted_zone = re.search(r'outlook\.timezone="([^"]+)"', prefer)
    if wanted_zone:
        for name in ("start", "end"):
            answer[name] = graph_when(moment(event[name]), wanted_zone.group(1))
    select = [s.strip() for s in request.GET.get("$select", "").split(",") if s.strip()]
    expand = request.GET.get("$expand", "")
    properties = answer.pop("singleValueExtendedProperties", [])
    cancelled = answer.pop("cancelledOccurrences", None)
    if select:
        answer = {k: v for k, v in answer.items() if k in select or k in ("id", "@odata.etag")}
        if (
            "cancelledOccurrences" in select
            and cancelled is not None
            and event["type"] == "seriesMaster"
        ):
            answer["cancelledOccurrences"] = cancelled
    if expand.startswith("singleValueExtendedProperties"):
        ids = {i.lower() for i in re.findall(r"id eq '([^']+)'", expand)}
        answer["singleValueExtendedProperties"] = [
            p for p in properties if not ids or p["id"].lower() in ids
        ]
    if context:
        answer = {
            "@odata.context": f"{PUBLIC}/$metadata#users('{account.external_id}')/events/$entity",
            **answer,
        }
    return answer


# --- views: calendars, events ----------------------------------------------------------------
@api_view
@require_http_methods(["GET"])
@graph_api
def me(request: HttpRequest, account: Account) -> HttpResponse:
    return JsonResponse(
        {
            "@odata.context": f"{PUBLIC}/$metadata#users/$entity",
            "id": account.external_id,
            "displayName": account.name,
            "mail": account.login,
            "userPrincipalName": account.login,
        }
    )


@api_view
@require_http_methods(["GET"])
@graph_api
def calendars(request: HttpRequest, account: Account) -> HttpResponse:
    found = [c.data for c in store.live(account, CALENDAR).order_by("pk")]
    return JsonResponse(
        {
            "@odata.context": f"{PUBLIC}/$metadata#users('{account.external_id}')/calendars",
            "value": found,
        }
    )


def _calendar_of(account: Account, calendar_id: str) -> Item | None:
    if not calendar_id:
        return next((c for c in store.live(account, CALENDAR) if c.data["isDefaultCalendar"]), None)
    return store.find(account, CALENDAR, calendar_id)


@api_view
@graph_api
def calendar_events(request: HttpRequest, account: Account, calendar_id: str = "") -> HttpResponse:
    calendar = _calendar_of(account, calendar_id)
    if calendar is None:
        return not_found()
    if request.method != "POST":
        return error(405, "ErrorInvalidRequest", "The OData request is not supported.")
    body = _json(request)
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("start"), dict)
        or not isinstance(body.get("end"), dict)
    ):
        return error(
            400,
            "ErrorInvalidRequest",
            "Your request can't be completed. The start and end times are required.",
        )
    created = create_event(account, calendar, body, store.now())
    return JsonResponse(render(request, account, created.data), status=201)


FILTER = re.compile(
    r"singleValueExtendedProperties/Any\(ep: ep/id eq '([^']+)' and ep/value eq '([^']*)'\)"
)


@api_view
@require_http_methods(["GET"])
@graph_api
def events(request: HttpRequest, account: Account) -> HttpResponse:
    """/me/events, here only with the extended-property $filter the provider sends."""
    found = [
        e
        for e in Item.objects.filter(account=account, kind=EVENT, deleted=False)
        if e.data["type"] in ("singleInstance", "seriesMaster")
    ]
    wanted = (
        FILTER.fullmatch(request.GET.get("$filter", "")) if request.GET.get("$filter") else None
    )
    if request.GET.get("$filter") and wanted is None:
        return error(
            400,
            "ErrorInvalidUrlQueryFilter",
            "The query filter contains one or more invalid nodes.",
        )
    if wanted:
        prop_id, value = wanted.group(1).lower(), wanted.group(2)
        found = [
            e
            for e in found
            if any(
                p["id"].lower() == prop_id and p["value"] == value
                for p in e.data["singleValueExtendedProperties"]
            )
        ]
    return JsonResponse(
        {
            "@odata.context": CONTEXT.format(user=account.external_id),
            "value": [render(request, account, e.data, context=False) for e in found],
        }
    )


@api_view
@graph_api
def event(request: HttpRequest, account: Account, event_id: str) -> HttpResponse:
    stored, occurrence = _find(account, event_id)
    if stored is None:
        return not_found()
    current = occurrence or stored.data
    if request.method == "GET":
        return JsonResponse(render(request, account, current))
    match = request.headers.get("If-Match")
    if match and match != current["@odata.etag"]:
        return error(
            412,
            "ErrorIrresolvableConflict",
            "The change key passed in the request does not match the current change key "
            "for the item.",
        )
    if request.method == "PATCH":
        body = _json(request)
        if not isinstance(body, dict):
            return error(400, "BadRequest", "Unable to read JSON request payload.")
        if occurrence:
            return JsonResponse(
                render(request, account, _patch_instance(account, stored, occurrence, body).data)
            )
        return JsonResponse(render(request, account, update_event(account, stored, body).data))
    if request.method == "DELETE":
        delete_event(account, stored, occurrence)
        return HttpResponse(status=204)
    return error(405, "ErrorInvalidRequest", "The OData request is not supported.")


def delete_event(account: Account, stored: Item, occurrence: dict[str, Any] | None) -> None:
    """A series takes its exceptions with it; an occurrence or exception becomes one of the
    master's cancelledOccurrences."""
    if occurrence is not None:
        _cancel_occurrence(account, stored, occurrence)
        return
    stored.deleted = True
    _tombstone(account, stored.remote_id, stored.container)
    _save(account, stored)
    if stored.data["type"] == "exception":
        master = store.find(account, EVENT, stored.data["seriesMasterId"])
        if master is not None:
            _cancel_occurrence(account, master, stored.data)
    for exception in Item.objects.filter(
        account=account, kind=EVENT, deleted=False, data__seriesMasterId=stored.remote_id
    ):
        exception.deleted = True
        _tombstone(account, exception.remote_id, exception.container)
        store.save(exception)


@api_view
@require_http_methods(["GET"])
@graph_api
def instances(request: HttpRequest, account: Account, event_id: str) -> HttpResponse:
    master = store.find(account, EVENT, event_id)
    if master is None or master.data["type"] != "seriesMaster":
        return not_found()
    try:
        since, until = (
            dt.datetime.fromisoformat(request.GET[name].replace("Z", "+00:00"))
            for name in ("startDateTime", "endDateTime")
        )
    except (KeyError, ValueError):
        return error(
            400,
            "ErrorInvalidParameter",
            NO_WINDOW,
        )
    since, until = (t if t.tzinfo else t.replace(tzinfo=dt.UTC) for t in (since, until))
    found = [
        render(request, account, i, context=False)
        for i in _instances(account, master, since, until)
    ]
    return JsonResponse(
        {"@odata.context": CONTEXT.format(user=account.external_id), "value": found}
    )


# --- the delta feed -------------------------------------------------------------------------
def _token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


def _read_token(token: str) -> dict[str, Any] | None:
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        return None


@api_view
@require_http_methods(["GET"])
@graph_api
def delta(request: HttpRequest, account: Account, calendar_id: str = "") -> HttpResponse:
    """calendarView/delta: instances in the window, paged by nextLink, then a deltaLink that
    lists what changed since (removed ones as @removed). https://learn.microsoft.com/graph/api/event-delta"""
    calendar = _calendar_of(account, calendar_id)
    if calendar is None:
        return not_found()
    state = _delta_state(request, account)
    if state is None:
        return error(
            400,
            "ErrorInvalidParameter",
            NO_WINDOW,
        )
    if state.get("since", -1) >= 0 and state["since"] < account.cursor_floor:
        return error(410, "syncStateNotFound", "The sync state generation is not found.")
    entries = _delta_entries(request, account, calendar, state)
    size = _page_size(request)
    page, rest = (
        entries[state["offset"] : state["offset"] + size],
        state["offset"] + size < len(entries),
    )
    base = request.build_absolute_uri(request.path)
    body: dict[str, Any] = {
        "@odata.context": f"{PUBLIC}/$metadata#Collection(event)",
        "value": page,
    }
    if rest:
        body["@odata.nextLink"] = (
            f"{base}?{urlencode({'$skiptoken': _token({**state, 'offset': state['offset'] + size})})}"  # noqa: E501
        )
    else:
        body["@odata.deltaLink"] = (
            f"{base}?{urlencode({'$deltatoken': _token({**state, 'since': state['until'], 'offset': 0})})}"  # noqa: E501
        )
    response = JsonResponse(body)
    if "odata.maxpagesize" in request.headers.get("Prefer", ""):
        response["Preference-Applied"] = f"odata.maxpagesize={size}"
    return response


def _delta_state(request: HttpRequest, account: Account) -> dict[str, Any] | None:
    token = request.GET.get("$skiptoken") or request.GET.get("$deltatoken")
    if token:
        state = _read_token(token)
        if state is None:
            return None
        if request.GET.get("$deltatoken"):
            state["until"] = account.seq
        return state
    try:
        window = [request.GET[name] for name in ("startDateTime", "endDateTime")]
        for value in window:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    return {"window": window, "since": -1, "until": account.seq, "offset": 0}


def _page_size(request: HttpRequest) -> int:
    found = re.search(r"odata\.maxpagesize=(\d+)", request.headers.get("Prefer", ""))
    return max(1, int(found.group(1))) if found else PAGE_DEFAULT


def _delta_entries(
    request: HttpRequest, account: Account, calendar: Item, state: dict[str, Any]
) -> list[dict[str, Any]]:
    since, until = (dt.datetime.fromisoformat(v.replace("Z", "+00:00")) for v in state["window"])
    since, until = (t if t.tzinfo else t.replace(tzinfo=dt.UTC) for t in (since, until))
    changed = Item.objects.filter(
        account=account, container=calendar.remote_id, seq__lte=state["until"]
    ).order_by("seq")
    if state["since"] >= 0:
        changed = changed.filter(seq__gt=state["since"])
    entries: dict[str, dict[str, Any]] = {}
    for item in changed:
        if item.kind == TOMBSTONE and state["since"] >= 0:
            entries[item.remote_id] = {"id": item.remote_id, "@removed": {"reason": "deleted"}}
        elif item.kind == EVENT and not item.deleted:
            for instance in _as_instances(account, item, since, until):
                entries[instance["id"]] = render(request, account, instance, context=False)
    return list(entries.values())


def _as_instances(
    account: Account, item: Item, since: dt.datetime, until: dt.datetime
) -> list[dict[str, Any]]:
    if item.data["type"] == "seriesMaster":
        return _instances(account, item, since, until)
    return (
        [item.data]
        if since <= moment(item.data["start"]) < until or item.data["type"] == "exception"
        else []
    )


# --- subscriptions --------------------------------------------------------------------------
@api_view
@graph_api
def subscriptions(request: HttpRequest, account: Account) -> HttpResponse:
    """POST: validate the notification URL (echo validationToken within 10 s), then create.
    https://learn.microsoft.com/graph/api/subscription-post-subscriptions"""
    if request.method != "POST":
        return JsonResponse({"value": [s.data for s in store.live(account, SUBSCRIPTION)]})
    body = _json(request)
    if not isinstance(body, dict) or not all(
        body.get(k) for k in ("changeType", "notificationUrl", "resource", "expirationDateTime")
    ):
        return error(400, "InvalidRequest", "Subscription request is missing required fields.")
    if problem := _expiry_problem(body["expirationDateTime"]):
        return problem
    for url in {
        body["notificationUrl"],
        body.get("lifecycleNotificationUrl") or body["notificationUrl"],
    }:
        if not _validates(url):
            return error(
                400,
                "InvalidRequest",
                "Subscription validation request failed. Notification endpoint must respond "
                f"with 200 OK to validation request: {urlsplit(url).netloc}",
            )
    subscription = {
        "@odata.context": f"{PUBLIC}/$metadata#subscriptions/$entity",
        "id": str(uuid.uuid4()),
        "resource": body["resource"],
        "applicationId": store.bearer_grant(request, KEY).client.client_id,
        "changeType": body["changeType"],
        "clientState": body.get("clientState"),
        "notificationUrl": body["notificationUrl"],
        "lifecycleNotificationUrl": body.get("lifecycleNotificationUrl"),
        "expirationDateTime": body["expirationDateTime"],
        "creatorId": account.external_id,
        "latestSupportedTlsVersion": "v1_2",
        "notificationContentType": None,
    }
    store.put(account, SUBSCRIPTION, subscription["id"], subscription, body["resource"].strip("/"))
    return JsonResponse(subscription, status=201)


def _expiry_problem(value: str) -> HttpResponse | None:
    try:
        wanted = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return error(400, "InvalidRequest", "expirationDateTime is not a date.")
    if wanted.tzinfo is None:
        wanted = wanted.replace(tzinfo=dt.UTC)
    if wanted > store.now() + MAX_SUBSCRIPTION:
        return error(
            400, "InvalidRequest", "Subscription expiration can only be 4230 minutes in the future."
        )
    return None


def _validates(url: str) -> bool:
    """Graph posts ?validationToken=… and wants it back as text/plain."""
    if (urlsplit(url).hostname or "") not in outbox.LOCAL_HOSTS:
        return False
    token = (
        "Validation: Testing client application reachability for subscription "
        f"Request-Id: {uuid.uuid4()}"
    )
    try:
        answer = requests.post(
            url,
            params={"validationToken": token},
            headers={"Content-Type": "text/plain; charset=utf-8"},
            timeout=VALIDATION_TIMEOUT,
        )
    except requests.RequestException:
        return False
    return answer.status_code == 200 and answer.text == token


@api_view
@graph_api
def subscription(request: HttpRequest, account: Account, subscription_id: str) -> HttpResponse:
    found = store.find(account, SUBSCRIPTION, subscription_id)
    if found is None:
        return error(404, "ResourceNotFound", "The object was not found.")
    if request.method == "DELETE":
        found.deleted = True
        store.save(found)
        return HttpResponse(status=204)
    if request.method == "PATCH":
        body = _json(request) or {}
        if problem := _expiry_problem(str(body.get("expirationDateTime", ""))):
            return problem
        found.data["expirationDateTime"] = body["expirationDateTime"]
        store.save(found)
    return JsonResponse(found.data)


def _notify(account: Account, item: Item, change: str) -> None:
    """A change notification to each live subscription on this resource, carrying its
    clientState. https://learn.microsoft.com/graph/change-notifications-delivery-webhooks"""
    resources = {"me/events", f"me/calendars/{item.container}/events"}
    if (calendar := store.find(account, CALENDAR, item.container)) and calendar.data[
        "isDefaultCalendar"
    ]:
        resources.add("me/calendar/events")
    for sub in store.live(account, SUBSCRIPTION):
        data = sub.data
        if sub.container not in resources or change not in data["changeType"].split(","):
            continue
        if (
            dt.datetime.fromisoformat(data["expirationDateTime"].replace("Z", "+00:00"))
            < store.now()
        ):
            continue
        resource = f"Users/{account.external_id}/Events/{item.remote_id}"
        notification = {
            "id": base64.b64encode(uuid.uuid4().bytes[:9]).decode(),
            "subscriptionId": data["id"],
            "subscriptionExpirationDateTime": data["expirationDateTime"],
            "clientState": data["clientState"],
            "changeType": change,
            "resource": resource,
            "tenantId": TENANT,
            "resourceData": {
                "@odata.type": "#Microsoft.Graph.Event",
                "@odata.id": resource,
                "@odata.etag": item.data.get("@odata.etag", ""),
                "id": item.remote_id,
            },
        }
        body = json.dumps({"value": [notification]}).encode()
        outbox.enqueue(
            KEY,
            data["notificationUrl"],
            body,
            {"Content-Type": "application/json; charset=utf-8"},
            WEBHOOK_RETRIES,
        )


# --- JSON batching: https://learn.microsoft.com/graph/json-batching ------------------------------
BATCH_MAX = 20  # "up to 20" requests a batch; more is a 400 for the whole batch
# Headers a step's response carries back (what the provider reads).
STEP_HEADERS = ("Content-Type", "Retry-After", "Location", "ETag")


@api_view
@require_http_methods(["POST"])
@graph_api
def batch(request: HttpRequest, account: Account) -> HttpResponse:
    """Each request executed as its own route would execute it (its own auth, throttling,
    If-Match), answered by id; one the batch cannot carry fails the whole batch with 400."""
    body = _json(request)
    steps = body.get("requests") if isinstance(body, dict) else None
    problem = _batch_problem(steps)
    if problem:
        return error(400, "BadRequest", problem)
    base = request.path[: -len("$batch")]
    responses = [_batch_step(request, base, step) for step in steps]
    return JsonResponse({"responses": responses})


def _batch_problem(steps: Any) -> str:
    if not isinstance(steps, list) or not steps:
        return "Invalid batch payload format."
    if len(steps) > BATCH_MAX:
        return f"Number of batch request steps exceeds the maximum of {BATCH_MAX}."
    for step in steps:
        if not isinstance(step, dict) or not all(
            isinstance(step.get(k), str) and step.get(k) for k in ("id", "method", "url")
        ):
            return "Invalid batch payload format."
        headers = step.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            return "Invalid batch payload format."
        if "body" in step and not any(k.lower() == "content-type" for k in headers):
            return "Content-Type header is required when a body is present."
    ids = [step["id"].lower() for step in steps]
    if len(set(ids)) != len(ids):
        return "Batch request ids must be unique."
    return ""


def _batch_step(request: HttpRequest, base: str, step: dict[str, Any]) -> dict[str, Any]:
    url = step["url"].removeprefix("/")
    target = urlsplit(f"{base}{url}")
    try:
        match = resolve(target.path)
    except Resolver404:
        match = None
    if match is None or match.func is batch:  # Graph does not nest batches either
        return {"id": step["id"], "status": 400, "body": _body(_bad_step())}
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in step.get("headers", {}).items()}
    extra.pop("HTTP_CONTENT_TYPE", None)
    sub = RequestFactory().generic(
        step["method"].upper(),
        f"{target.path}?{target.query}" if target.query else target.path,
        data=json.dumps(step["body"]) if "body" in step else "",
        content_type="application/json",
        secure=request.is_secure(),
        HTTP_HOST=request.get_host(),
        HTTP_AUTHORIZATION=request.headers.get("Authorization", ""),
        **extra,
    )
    response = match.func(sub, *match.args, **match.kwargs)
    answer: dict[str, Any] = {"id": step["id"], "status": response.status_code}
    answer["headers"] = {k: response[k] for k in STEP_HEADERS if response.has_header(k)}
    if response.content:
        answer["body"] = _body(response)
    return answer


def _bad_step() -> HttpResponse:
    return error(400, "BadRequest", "Invalid request URL.")


def _body(response: HttpResponse) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return response.content.decode(errors="replace")


def _json(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"{}")
    except ValueError:
        return None


# --- OAuth ----------------------------------------------------------------------------------
def aad_error(error_code: str, status: int, description: str) -> HttpResponse:
    """The identity platform's error body: AADSTS codes in error_codes and the description.
    https://learn.microsoft.com/entra/identity-platform/reference-error-codes"""
    codes = {"invalid_grant": 70000, "invalid_client": 7000215, "unsupported_grant_type": 70003}
    code = codes.get(error_code, 90000)
    body = {
        "error": error_code,
        "error_description": f"AADSTS{code}: {description}. Trace ID: {uuid.uuid4()} "
        f"Correlation ID: {uuid.uuid4()} Timestamp: {store.now():%Y-%m-%d %H:%M:%SZ}",
        "error_codes": [code],
        "timestamp": store.now().strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
    }
    return JsonResponse(body, status=status)


def _id_token(grant: Any) -> dict[str, Any]:
    """An unsigned-looking id_token whose claims carry the user's oid and email (the product
    reads them without checking a signature, as it came from the token endpoint)."""
    account = grant.account
    claims = {
        "aud": grant.client.client_id,
        "iss": f"https://login.microsoftonline.com/{TENANT}/v2.0",
        "oid": account.external_id,
        "email": account.login,
        "preferred_username": account.login,
        "name": account.name,
        "tid": TENANT,
    }
    part = lambda value: base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")  # noqa: E731
    return {
        "id_token": f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.sandbox",
        "ext_expires_in": 3599,
    }


# PKCE, hour-long access tokens, refresh tokens replaced on every use.
# https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow
OAUTH = oauth.OAuthService(
    key=KEY,
    name="Microsoft Outlook",
    seed=seed,
    pkce=True,
    access_lifetime=dt.timedelta(seconds=3599),
    rotates=True,
    error=aad_error,
    describe=_id_token,
)


urlpatterns = [
    *oauth.routes(
        OAUTH,
        "outlook",
        authorize_at="common/oauth2/v2.0/authorize",
        token_at="common/oauth2/v2.0/token",
    ),
    path("v1.0/$batch", batch, name="outlook-batch"),
    path("v1.0/me", me, name="outlook-me"),
    path("v1.0/me/calendars", calendars, name="outlook-calendars"),
    path("v1.0/me/calendar/events", calendar_events, name="outlook-default-events"),
    path("v1.0/me/calendar/calendarView/delta", delta, name="outlook-default-delta"),
    path(
        "v1.0/me/calendars/<str:calendar_id>/events",
        calendar_events,
        name="outlook-calendar-events",
    ),
    path("v1.0/me/calendars/<str:calendar_id>/calendarView/delta", delta, name="outlook-delta"),
    path("v1.0/me/events", events, name="outlook-events"),
    path("v1.0/me/events/<str:event_id>", event, name="outlook-event"),
    path("v1.0/me/events/<str:event_id>/instances", instances, name="outlook-instances"),
    path("v1.0/subscriptions", subscriptions, name="outlook-subscriptions"),
    path("v1.0/subscriptions/<str:subscription_id>", subscription, name="outlook-subscription"),
]
