"""Google Calendar API v3: OAuth with PKCE (refresh tokens that do not rotate), calendarList,
events with syncToken (410 once expired), instances of a series, If-Match, push channels
(events.watch) announced with X-Goog-* headers, and batch requests (`/batch/calendar/v3`).
https://developers.google.com/calendar/api/v3/reference"""

from __future__ import annotations

import base64
import datetime as dt
import email.parser
import email.policy
import email.utils
import hashlib
import json
import uuid
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import RequestFactory
from django.urls import Resolver404, path, resolve
from django.views.decorators.http import require_http_methods

from integrations.sandbox import oauth, outbox, store
from integrations.sandbox.gate import api_view
from integrations.sandbox.models import Account, Item

KEY = "google-calendar"
# Google publishes no retry policy for push notifications: one attempt.
WEBHOOK_RETRIES = outbox.NONE
EVENT, CALENDAR, CHANNEL = "event", "calendar", "channel"
# maxResults: events.list 250 by default and never more than 2,500; calendarList.list 100 by
# default and never more than 250. A larger value is served at the maximum.
# https://developers.google.com/calendar/api/v3/reference/events/list
# https://developers.google.com/calendar/api/v3/reference/calendarList/list
PAGE_DEFAULT, PAGE_MAX = 250, 2500
LIST_PAGE_DEFAULT, LIST_PAGE_MAX = 100, 250
CHANNEL_TTL = dt.timedelta(days=7)  # the documented default when no expiration is asked for
CHANNEL_MAX_TTL = dt.timedelta(days=30)
PUBLIC_API = "https://www.googleapis.com/calendar/v3"  # in X-Goog-Resource-URI, as Google sends it


# --- errors, in Google's error object -------------------------------------------------------
def error(status: int, reason: str, message: str, **where: str) -> JsonResponse:
    detail = {"domain": "global", "reason": reason, "message": message, **where}
    body = {"error": {"errors": [detail], "code": status, "message": message}}
    return JsonResponse(body, status=status)


def unauthorized() -> HttpResponse:
    response = error(
        401, "authError", "Invalid Credentials", locationType="header", location="Authorization"
    )
    response["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
    return response


def rate_limited() -> HttpResponse:
    """Google answers 429 (or 403) with reason rateLimitExceeded and no Retry-After: clients
    back off exponentially. https://developers.google.com/calendar/api/guides/errors#429"""
    return error(429, "rateLimitExceeded", "Rate Limit Exceeded")


def not_found() -> HttpResponse:
    return error(404, "notFound", "Not Found")


google_api = store.endpoint(KEY, unauthorized, rate_limited)


# --- seed -----------------------------------------------------------------------------------
BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"
# (calendar, title, day offset, "HH:MM" or "" for all-day, minutes or days, rrule, zone)
EVENTS: tuple[tuple[str, str, int, str, int, str, str], ...] = (
    ("primary", "Dentist", 2, "10:00", 60, "", BERLIN),
    ("primary", "Lunch with Sam", 1, "12:30", 90, "", BERLIN),
    ("primary", "Team offsite", 5, "", 2, "", BERLIN),
    ("primary", "Weekly sync", 0, "09:00", 30, "RRULE:FREQ=WEEKLY;COUNT=8", BERLIN),
    (
        "primary",
        "Daily standup",
        1,
        "09:30",
        15,
        "RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=20",
        BERLIN,
    ),
    ("primary", "Quarterly review", 9, "14:00", 120, "", BERLIN),
    ("primary", "Public holiday", 10, "", 1, "", BERLIN),
    ("primary", "Yoga", 3, "18:30", 60, "RRULE:FREQ=WEEKLY;BYDAY=TU,TH;COUNT=10", BERLIN),
    ("family", "Soccer practice", 2, "10:00", 90, "RRULE:FREQ=WEEKLY;COUNT=6", NEW_YORK),
    ("family", "Mom's birthday", 12, "", 1, "RRULE:FREQ=YEARLY", NEW_YORK),
    ("family", "Parent-teacher meeting", 3, "18:00", 45, "", NEW_YORK),
    ("family", "Family dinner", 4, "19:00", 120, "", NEW_YORK),
    ("family", "Vacation", 20, "", 7, "", NEW_YORK),
)

DETAILS = {  # description and location, where an event has them (Google omits empty ones)
    "Weekly sync": {"description": "Agenda in the shared doc", "location": "Room 4"},
    "Dentist": {"location": "Dr. Weber, Hauptstraße 5"},
    "Parent-teacher meeting": {
        "description": "Bring the report card",
        "location": "Lincoln Elementary",
    },
}


def seed(account: Account, clock: dt.datetime) -> None:
    """Two calendars in two time zones; single, all-day and recurring events, one series
    with a moved and a cancelled instance, and one flight that ends in another zone."""
    calendars = {
        "primary": account.login,
        "family": f"c_{_hex(account.login, 20)}@group.calendar.google.com",
    }
    store.put(
        account,
        CALENDAR,
        calendars["primary"],
        _calendar(calendars["primary"], account.login, BERLIN, True),
    )
    store.put(
        account,
        CALENDAR,
        calendars["family"],
        _calendar(calendars["family"], "Family", NEW_YORK, False),
    )
    day = clock.date()
    stamp = _stamp(clock - dt.timedelta(days=14))
    masters = {}
    for calendar, title, offset, at, length, rrule, zone in EVENTS:
        start, end = _span(day + dt.timedelta(days=offset), at, length, zone)
        event = _event(account, _hex(f"{account.login}:{title}"), title, start, end, stamp)
        event.update(DETAILS.get(title, {}))
        if rrule:
            event["recurrence"] = [rrule]
        masters[title] = store.put(
            account, EVENT, event["id"], _etagged(event, account), calendars[calendar]
        )
    flight_start, _ = _span(day + dt.timedelta(days=6), "10:15", 0, BERLIN)
    flight_end = {
        "dateTime": _local(day + dt.timedelta(days=6), "13:05", NEW_YORK),
        "timeZone": NEW_YORK,
    }
    flight = _event(
        account,
        _hex(f"{account.login}:flight"),
        "Flight to New York",
        flight_start,
        flight_end,
        stamp,
    )
    store.put(account, EVENT, flight["id"], _etagged(flight, account), calendars["primary"])
    _seed_exceptions(account, masters["Weekly sync"], stamp)


def _seed_exceptions(account: Account, series: Item, stamp: str) -> None:
    """The second Weekly sync moved a day later; the fourth cancelled."""
    first = dt.datetime.fromisoformat(series.data["start"]["dateTime"])
    moved_from = first + dt.timedelta(weeks=1)
    moved = _instance(series, moved_from)
    moved.update(summary="Weekly sync (moved)", updated=stamp, sequence=1)
    moved["start"] = {
        "dateTime": (moved_from + dt.timedelta(days=1)).isoformat(),
        "timeZone": BERLIN,
    }
    moved["end"] = {
        "dateTime": (moved_from + dt.timedelta(days=1, minutes=30)).isoformat(),
        "timeZone": BERLIN,
    }
    store.put(account, EVENT, moved["id"], _etagged(moved, account), series.container)
    cancelled = _cancelled_instance(series, first + dt.timedelta(weeks=3))
    store.put(account, EVENT, cancelled["id"], _etagged(cancelled, account), series.container)


def _calendar(calendar_id: str, summary: str, zone: str, primary: bool) -> dict[str, Any]:
    entry = {
        "kind": "calendar#calendarListEntry",
        "etag": f'"{_hex(calendar_id, 16)}"',
        "id": calendar_id,
        "summary": summary,
        "timeZone": zone,
        "accessRole": "owner",
        "defaultReminders": [{"method": "popup", "minutes": 10}],
    }
    return {**entry, "primary": True} if primary else entry


def _span(day: dt.date, at: str, length: int, zone: str) -> tuple[dict[str, str], dict[str, str]]:
    if not at:
        return {"date": day.isoformat()}, {"date": (day + dt.timedelta(days=length)).isoformat()}
    start = dt.datetime.combine(day, dt.time.fromisoformat(at), ZoneInfo(zone))
    end = start + dt.timedelta(minutes=length)
    return {"dateTime": start.isoformat(), "timeZone": zone}, {
        "dateTime": end.isoformat(),
        "timeZone": zone,
    }


def _local(day: dt.date, at: str, zone: str) -> str:
    return dt.datetime.combine(day, dt.time.fromisoformat(at), ZoneInfo(zone)).isoformat()


def _event(
    account: Account, event_id: str, title: str, start: dict, end: dict, stamp: str
) -> dict[str, Any]:
    return {
        "kind": "calendar#event",
        "id": event_id,
        "status": "confirmed",
        "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
        "created": stamp,
        "updated": stamp,
        "summary": title,
        "creator": {"email": account.login, "self": True},
        "organizer": {"email": account.login, "self": True},
        "start": start,
        "end": end,
        "iCalUID": f"{event_id}@google.com",
        "sequence": 0,
        "reminders": {"useDefault": True},
        "eventType": "default",
    }


def _hex(text: str, length: int = 26) -> str:
    """Event ids are base32hex (a-v, 0-9); hex digits are a subset."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _stamp(moment: dt.datetime) -> str:
    return (
        moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{moment.microsecond // 1000:03d}Z"
    )


def _etagged(event: dict[str, Any], account: Account) -> dict[str, Any]:
    """A new etag for every change: Google's etags are quoted numbers."""
    account.refresh_from_db(fields=["seq"])
    return {**event, "etag": f'"{3_420_000_000_000_000 + account.seq + 1}"'}


# --- instances of a series ------------------------------------------------------------------
def _instance_id(series_id: str, original: dt.datetime | dt.date) -> str:
    if isinstance(original, dt.datetime):
        return f"{series_id}_{original.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"
    return f"{series_id}_{original:%Y%m%d}"


def _original_time(series: Item, original: dt.datetime | dt.date) -> dict[str, str]:
    if isinstance(original, dt.datetime):
        zone = series.data["start"].get("timeZone", "UTC")
        return {"dateTime": original.astimezone(ZoneInfo(zone)).isoformat(), "timeZone": zone}
    return {"date": original.isoformat()}


def _instance(series: Item, original: dt.datetime | dt.date) -> dict[str, Any]:
    """The instance of `series` that starts at `original`, as events.instances shows it."""
    start = _parse_when(series.data["start"])
    length = _parse_when(series.data["end"]) - start
    instance = {k: v for k, v in series.data.items() if k not in ("recurrence", "etag")}
    when = _original_time(series, original)
    instance.update(
        id=_instance_id(series.remote_id, original),
        recurringEventId=series.remote_id,
        originalStartTime=when,
        start=when,
        end=_original_time(series, original + length),
        etag=series.data.get("etag", ""),
    )
    return instance


def _cancelled_instance(series: Item, original: dt.datetime | dt.date) -> dict[str, Any]:
    return {
        "kind": "calendar#event",
        "id": _instance_id(series.remote_id, original),
        "status": "cancelled",
        "recurringEventId": series.remote_id,
        "originalStartTime": _original_time(series, original),
    }


def _parse_when(when: dict[str, str]) -> dt.datetime | dt.date:
    if "date" in when:
        return dt.date.fromisoformat(when["date"])
    return dt.datetime.fromisoformat(when["dateTime"].replace("Z", "+00:00"))


# --- OAuth and identity ---------------------------------------------------------------------
# PKCE is checked when a challenge was sent; refresh tokens last until revoked and do not
# rotate; access tokens live an hour. https://developers.google.com/identity/protocols/oauth2/web-server
OAUTH = oauth.OAuthService(
    key=KEY,
    name="Google Calendar",
    seed=seed,
    pkce=True,
    access_lifetime=dt.timedelta(seconds=3599),
)


@api_view
@require_http_methods(["GET"])
@google_api
def userinfo(request: HttpRequest, account: Account) -> HttpResponse:
    """OpenID Connect userinfo: `sub` is the stable account id."""
    return JsonResponse(
        {
            "sub": account.external_id,
            "email": account.login,
            "email_verified": True,
            "name": account.name,
        }
    )


# --- calendars ------------------------------------------------------------------------------
@api_view
@require_http_methods(["GET"])
@google_api
def calendar_list(request: HttpRequest, account: Account) -> HttpResponse:
    size = page_size(request.GET, LIST_PAGE_DEFAULT, LIST_PAGE_MAX)
    parts = _read_token(request.GET["pageToken"], "list-page") if "pageToken" in request.GET else []
    if size is None or parts is None or not all(p.isdigit() for p in parts):
        return bad_page_request()
    offset = int(parts[0]) if parts else 0
    entries = [item.data for item in store.live(account, CALENDAR).order_by("pk")]
    body = {"kind": "calendar#calendarList", "etag": f'"{account.seq}"'}
    if offset + size < len(entries):
        body["nextPageToken"] = _token("list-page", offset + size)
    else:
        body["nextSyncToken"] = _token("list", account.seq)
    return JsonResponse({**body, "items": entries[offset : offset + size]})


def page_size(params: Any, default: int, maximum: int) -> int | None:
    """maxResults served at most at `maximum`; None when it is not a positive integer."""
    asked = params.get("maxResults", str(default))
    if not asked.isdigit() or int(asked) < 1:
        return None
    return min(int(asked), maximum)


def bad_page_request() -> HttpResponse:
    return error(400, "invalid", "Invalid value.", locationType="parameter", location="maxResults")


def _calendar_of(account: Account, calendar_id: str) -> Item | None:
    if calendar_id == "primary":
        calendar_id = account.login
    return store.find(account, CALENDAR, calendar_id)


# --- events.list ----------------------------------------------------------------------------
def _token(kind: str, *parts: Any) -> str:
    return base64.urlsafe_b64encode("|".join([kind, *map(str, parts)]).encode()).decode()


def _read_token(token: str, kind: str) -> list[str] | None:
    try:
        parts = base64.urlsafe_b64decode(token.encode()).decode().split("|")
    except ValueError:
        return None
    return parts[1:] if parts[0] == kind else None


@api_view
@google_api
def events(request: HttpRequest, account: Account, calendar_id: str) -> HttpResponse:
    calendar = _calendar_of(account, calendar_id)
    if calendar is None:
        return not_found()
    if request.method == "POST":
        return _insert(request, account, calendar)
    if request.method != "GET":
        return HttpResponse(status=405)
    return _list(request, account, calendar)


def _list(request: HttpRequest, account: Account, calendar: Item) -> HttpResponse:
    """One page; `nextSyncToken` only on the last. A sync token lists every change since it,
    deleted events included (as cancelled); below the account's floor it is 410 Gone.
    https://developers.google.com/calendar/api/guides/sync"""
    params = request.GET
    size = page_size(params, PAGE_DEFAULT, PAGE_MAX)
    if size is None:
        return bad_page_request()
    since, until, offset = _page_position(account, calendar, params)
    if since == "gone":
        return error(
            410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."
        )
    if since == "bad":
        return error(
            400,
            "invalid",
            "Invalid sync token value.",
            locationType="parameter",
            location="syncToken",
        )
    found = Item.objects.filter(
        account=account, kind=EVENT, container=calendar.remote_id, seq__lte=until
    )
    found = found.filter(seq__gt=since) if since >= 0 else found
    selected = [e for e in found.order_by("pk") if _listed(e, params, incremental=since >= 0)]
    body = _events_page(calendar, [_listing(e) for e in selected[offset : offset + size]])
    if offset + size < len(selected):
        body["nextPageToken"] = _token("page", since, until, offset + size)
    else:
        body["nextSyncToken"] = _token("sync", calendar.remote_id, until)
    return JsonResponse(body)


def _page_position(account: Account, calendar: Item, params: Any) -> tuple[Any, int, int]:
    """(changes after this seq or -1 for all, the snapshot's last seq, offset)."""
    if params.get("pageToken"):
        parts = _read_token(params["pageToken"], "page")
        return (int(parts[0]), int(parts[1]), int(parts[2])) if parts else ("bad", 0, 0)
    if params.get("syncToken"):
        parts = _read_token(params["syncToken"], "sync")
        if not parts or parts[0] != calendar.remote_id:
            return "bad", 0, 0
        return (
            ("gone", 0, 0)
            if int(parts[1]) < account.cursor_floor
            else (int(parts[1]), account.seq, 0)
        )
    return -1, account.seq, 0


def _listed(event: Item, params: Any, *, incremental: bool) -> bool:
    wanted = params.get("privateExtendedProperty", "")
    if wanted:
        name, _, value = wanted.partition("=")
        private = (event.data.get("extendedProperties") or {}).get("private") or {}
        if private.get(name) != value:
            return False
    cancelled = event.data.get("status") == "cancelled"
    return incremental or not cancelled or params.get("showDeleted") == "true"


def _listing(event: Item) -> dict[str, Any]:
    """A deleted event is listed by id and status only (an instance with its original start)."""
    if event.data.get("status") != "cancelled":
        return event.data
    keep = ("kind", "etag", "id", "status", "recurringEventId", "originalStartTime")
    return {k: event.data[k] for k in keep if k in event.data}


def _events_page(calendar: Item, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "kind": "calendar#events",
        "etag": calendar.data["etag"],
        "summary": calendar.data["summary"],
        "updated": _stamp(store.now()),
        "timeZone": calendar.data["timeZone"],
        "accessRole": "owner",
        "defaultReminders": calendar.data.get("defaultReminders", []),
        "items": items,
    }


# --- one event ------------------------------------------------------------------------------
def _insert(request: HttpRequest, account: Account, calendar: Item) -> HttpResponse:
    body = _json(request)
    if problem := _invalid(body):
        return problem
    return JsonResponse(insert_event(account, calendar, body).data)


def insert_event(account: Account, calendar: Item, body: dict[str, Any]) -> Item:
    """events.insert with a checked body, and the calendar's channel notifications."""
    now = _stamp(store.now())
    event_id = body.get("id") or _hex(str(uuid.uuid4()))
    fresh = _event(account, event_id, body.get("summary", ""), body["start"], body["end"], now)
    event = {**fresh, **body, "id": event_id, "created": now, "updated": now}
    item = store.put(account, EVENT, event_id, _etagged(event, account), calendar.remote_id)
    _notify(account, calendar.remote_id)
    return item


@api_view
@google_api
def event(request: HttpRequest, account: Account, calendar_id: str, event_id: str) -> HttpResponse:
    calendar = _calendar_of(account, calendar_id)
    if calendar is None:
        return not_found()
    found = store.find(account, EVENT, event_id, deleted=True) or _virtual(account, event_id)
    if found is None:
        return not_found()
    if request.method == "GET":
        return JsonResponse(found.data)
    match = request.headers.get("If-Match")
    if match and match != found.data.get("etag"):
        return error(
            412,
            "conditionNotMet",
            "Precondition Failed",
            locationType="header",
            location="If-Match",
        )
    if request.method == "PUT":
        return _replace(request, account, found)
    if request.method == "DELETE":
        return _delete(account, found)
    return HttpResponse(status=405)


@api_view
@require_http_methods(["POST"])
@google_api
def move(request: HttpRequest, account: Account, calendar_id: str, event_id: str) -> HttpResponse:
    """events.move: the event goes to the `destination` calendar, keeping its id; an instance
    of a series cannot move alone. https://developers.google.com/calendar/api/v3/reference/events/move"""
    calendar = _calendar_of(account, calendar_id)
    found = store.find(account, EVENT, event_id) if calendar is not None else None
    if found is None or found.container != calendar.remote_id:
        return not_found()
    destination = _calendar_of(account, request.GET.get("destination", ""))
    if destination is None:
        return not_found()
    if "recurringEventId" in found.data:
        return error(
            400, "cannotChangeOrganizerOfInstance", "Cannot change the organizer of an instance."
        )
    found.container = destination.remote_id
    found.data = _etagged({**found.data, "updated": _stamp(store.now())}, account)
    store.save(found)
    _notify(account, calendar.remote_id)
    _notify(account, destination.remote_id)
    return JsonResponse(found.data)


def _virtual(account: Account, event_id: str) -> Item | None:
    """An instance of a series that has no exception yet: `<series id>_<original start>`."""
    series_id, _, when = event_id.rpartition("_")
    series = store.find(account, EVENT, series_id) if series_id else None
    if series is None or "recurrence" not in series.data:
        return None
    try:
        original = (
            dt.datetime.strptime(when, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
            if "T" in when
            else dt.datetime.strptime(when, "%Y%m%d").date()
        )
    except ValueError:
        return None
    return Item(
        account=account,
        kind=EVENT,
        remote_id=event_id,
        container=series.container,
        data=_instance(series, original),
    )


def _replace(request: HttpRequest, account: Account, found: Item) -> HttpResponse:
    """events.update replaces the event; a cancelled one comes back with the status sent."""
    body = _json(request)
    if problem := _invalid(body):
        return problem
    return JsonResponse(replace_event(account, found, body).data)


def replace_event(account: Account, found: Item, body: dict[str, Any]) -> Item:
    """events.update with a checked body: the event replaced, the channels notified."""
    kept = {
        k: found.data[k]
        for k in (
            "kind",
            "id",
            "created",
            "htmlLink",
            "iCalUID",
            "creator",
            "organizer",
            "recurringEventId",
            "originalStartTime",
        )
        if k in found.data
    }
    event = {
        **body,
        **kept,
        "updated": _stamp(store.now()),
        "sequence": found.data.get("sequence", 0) + 1,
    }
    event.setdefault("status", "confirmed")
    found.data = _etagged(event, account)
    found.deleted = event["status"] == "cancelled" and "recurringEventId" not in event
    store.save(found)
    _notify(account, found.container)
    return found


def _delete(account: Account, found: Item) -> HttpResponse:
    """A deleted event stays readable as cancelled; an instance becomes a cancelled exception;
    a series takes its exceptions with it. Deleting twice is 410."""
    if found.data.get("status") == "cancelled":
        return error(410, "deleted", "Resource has been deleted")
    delete_event(account, found)
    return HttpResponse(status=204)


def delete_event(account: Account, found: Item) -> None:
    """Cancel a live event (and a series' exceptions), and notify the channels."""
    found.data = _etagged(
        {**found.data, "status": "cancelled", "updated": _stamp(store.now())}, account
    )
    found.deleted = "recurringEventId" not in found.data
    store.save(found)
    if "recurrence" in found.data:
        for instance in Item.objects.filter(
            account=account, kind=EVENT, data__recurringEventId=found.remote_id, deleted=False
        ):
            instance.data = _etagged({**instance.data, "status": "cancelled"}, account)
            instance.deleted = True
            store.save(instance)
    _notify(account, found.container)


@api_view
@require_http_methods(["GET"])
@google_api
def instances(
    request: HttpRequest, account: Account, calendar_id: str, event_id: str
) -> HttpResponse:
    """events.instances, here only with `originalStart`: the one instance starting there."""
    calendar = _calendar_of(account, calendar_id)
    series = store.find(account, EVENT, event_id)
    if calendar is None or series is None or "recurrence" not in series.data:
        return not_found()
    original = _parse_when(
        {"date": v} if len(v := request.GET.get("originalStart", "")) == 10 else {"dateTime": v}
    )
    instance_id = _instance_id(series.remote_id, original)
    exception = store.find(account, EVENT, instance_id, deleted=True)
    found = exception.data if exception else _instance(series, original)
    if found.get("status") == "cancelled" and request.GET.get("showDeleted") != "true":
        return JsonResponse(_events_page(calendar, []))
    return JsonResponse(_events_page(calendar, [found]))


def _json(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"{}")
    except ValueError:
        return None


def _invalid(body: Any) -> HttpResponse | None:
    if not isinstance(body, dict):
        return error(400, "parseError", "Parse Error")
    for name in ("start", "end"):
        if not isinstance(body.get(name), dict) or not ({"date", "dateTime"} & body[name].keys()):
            return error(400, "required", f"Missing {name} time.")
    return None


# --- push channels --------------------------------------------------------------------------
@api_view
@require_http_methods(["POST"])
@google_api
def watch(request: HttpRequest, account: Account, calendar_id: str) -> HttpResponse:
    """events.watch: a channel to `address`; its first message says `sync`.
    https://developers.google.com/calendar/api/guides/push"""
    calendar = _calendar_of(account, calendar_id)
    body = _json(request)
    if calendar is None:
        return not_found()
    if (
        not isinstance(body, dict)
        or body.get("type") != "web_hook"
        or not body.get("id")
        or not body.get("address")
    ):
        return error(400, "required", "Required")
    now = store.now()
    asked = (
        dt.datetime.fromtimestamp(int(body["expiration"]) / 1000, tz=dt.UTC)
        if body.get("expiration")
        else now + CHANNEL_TTL
    )
    channel = {
        "kind": "api#channel",
        "id": body["id"],
        "resourceId": _hex(f"{calendar.remote_id}:{body['id']}", 27),
        "resourceUri": f"{PUBLIC_API}/calendars/{calendar_id}/events?alt=json",
        "token": body.get("token", ""),
        "expiration": str(int(min(asked, now + CHANNEL_MAX_TTL).timestamp() * 1000)),
    }
    item = store.put(
        account,
        CHANNEL,
        channel["id"],
        {**channel, "address": body["address"], "messages": 0},
        calendar.remote_id,
    )
    _announce(item, "sync")
    return JsonResponse({k: v for k, v in channel.items() if v != ""})


@api_view
@require_http_methods(["POST"])
@google_api
def stop_channel(request: HttpRequest, account: Account) -> HttpResponse:
    body = _json(request) or {}
    channel = store.find(account, CHANNEL, str(body.get("id", "")))
    if channel is None or channel.data["resourceId"] != body.get("resourceId"):
        return not_found()
    channel.deleted = True
    store.save(channel)
    return HttpResponse(status=204)


def _notify(account: Account, calendar_id: str) -> None:
    now_ms = store.now().timestamp() * 1000
    for channel in store.live(account, CHANNEL, calendar_id):
        if int(channel.data["expiration"]) > now_ms:
            _announce(channel, "exists")


def _announce(channel: Item, state: str) -> None:
    """A body-less POST whose X-Goog-* headers say which channel and resource changed."""
    channel.data["messages"] += 1
    channel.save(update_fields=["data"])
    expiration = email.utils.formatdate(int(channel.data["expiration"]) / 1000, usegmt=True)
    headers = {
        "X-Goog-Channel-ID": channel.data["id"],
        "X-Goog-Channel-Expiration": expiration,
        "X-Goog-Resource-ID": channel.data["resourceId"],
        "X-Goog-Resource-URI": channel.data["resourceUri"],
        "X-Goog-Resource-State": state,
        "X-Goog-Message-Number": str(channel.data["messages"]),
    }
    if channel.data.get("token"):
        headers["X-Goog-Channel-Token"] = channel.data["token"]
    outbox.enqueue(KEY, channel.data["address"], b"", headers, WEBHOOK_RETRIES)


# --- batch requests: https://developers.google.com/calendar/api/guides/batch -------------------
BATCH_MAX = 1000  # "You're limited to 1000 calls in a single batch request."
BATCH_MAX_BYTES = 16 * 1024 * 1024  # the emulator's own bound on what it reads
API_PREFIX = "/calendar/v3/"  # an inner request carries the path only, from here on


@api_view
@require_http_methods(["POST"])
@google_api
def batch(request: HttpRequest, account: Account) -> HttpResponse:
    """A multipart/mixed body of application/http parts, each run as its own route would run
    it (its own If-Match, its own rate limit) with the outer request's Authorization, answered
    in the same order as one multipart/mixed response whose parts carry `Content-ID:
    <response-<the request's id>>`. A body the batch cannot carry is a 400 that runs nothing."""
    calls = _batch_calls(request)
    if isinstance(calls, HttpResponse):
        return calls
    base = request.path[: -len("batch/calendar/v3")]
    boundary = f"batch_{uuid.uuid4().hex}"
    parts = [_batch_part(request, base, call, boundary) for call in calls]
    return HttpResponse(
        ("".join(parts) + f"--{boundary}--\r\n").encode(),
        content_type=f"multipart/mixed; boundary={boundary}",
    )


def _batch_calls(request: HttpRequest) -> list[dict[str, Any]] | HttpResponse:
    content_type = request.headers.get("Content-Type", "")
    if not content_type.lower().startswith("multipart/mixed") or "boundary" not in content_type:
        return error(400, "invalid", "Content-Type must be multipart/mixed with a boundary.")
    if len(request.body) > BATCH_MAX_BYTES:
        return error(413, "requestTooLarge", "Request too large.")
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(head + request.body)
    parts = message.get_payload() if message.is_multipart() else None
    if not isinstance(parts, list) or not parts:
        return error(400, "invalid", "No requests in the batch.")
    if len(parts) > BATCH_MAX:
        return error(400, "invalid", f"A batch carries at most {BATCH_MAX} requests.")
    calls = []
    for part in parts:
        call = _batch_call(part)
        if call is None:
            return error(400, "invalid", "Each part must be an application/http request.")
        calls.append(call)
    return calls


def _batch_call(part: Any) -> dict[str, Any] | None:
    if part.is_multipart() or part.get_content_type() != "application/http":
        return None
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return None
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    request_line, _, header_lines = head.partition(b"\n")
    words = request_line.decode("latin-1").split(" ")
    if len(words) != 3 or not words[2].startswith("HTTP/") or not words[1].startswith("/"):
        return None
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    headers = {str(k): str(v) for k, v in parser.parsebytes(header_lines).items()}
    content_id = (part.get("Content-ID") or "").strip().removeprefix("<").removesuffix(">")
    return {
        "id": content_id,
        "method": words[0].upper(),
        "path": words[1],
        "headers": headers,
        "body": body.strip(),
    }


def _batch_part(request: HttpRequest, base: str, call: dict[str, Any], boundary: str) -> str:
    response = _batch_run(request, base, call)
    status = response.status_code
    lines = [f"--{boundary}", "Content-Type: application/http"]
    if call["id"]:
        lines.append(f"Content-ID: <response-{call['id']}>")
    lines += ["", f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    lines += [f"{k}: {response[k]}" for k in ("Content-Type", "ETag") if response.has_header(k)]
    content = response.content.decode()
    lines += [f"Content-Length: {len(response.content)}", "", content]
    return "\r\n".join(lines) + "\r\n"


def _batch_run(request: HttpRequest, base: str, call: dict[str, Any]) -> HttpResponse:
    target = urlsplit(call["path"])
    if not target.path.startswith(API_PREFIX):
        return not_found()  # "All the inner requests must go to the same Google API."
    try:
        # Routes match the decoded path, as Django resolves a request's own.
        match = resolve(unquote(base + target.path.removeprefix("/")))
    except Resolver404:
        return not_found()
    if match.func is batch:
        return not_found()
    extra = {
        f"HTTP_{k.upper().replace('-', '_')}": v
        for k, v in call["headers"].items()
        if k.lower() not in ("content-type", "content-length", "authorization", "host")
    }
    sub = RequestFactory().generic(
        call["method"],
        base + target.path.removeprefix("/") + (f"?{target.query}" if target.query else ""),
        data=call["body"],
        content_type="application/json",
        secure=request.is_secure(),
        HTTP_HOST=request.get_host(),
        HTTP_AUTHORIZATION=request.headers.get("Authorization", ""),
        **extra,
    )
    return match.func(sub, *match.args, **match.kwargs)


# --- routes ---------------------------------------------------------------------------------
@api_view
def revoke(request: HttpRequest) -> HttpResponse:
    """Google's revoke answers 400 invalid_token for a token it does not know.
    https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke"""
    known = oauth.known_token(request, KEY)
    if not known:
        return oauth.oauth_error("invalid_token", 400, "Token expired or revoked")
    oauth.revoke(request, OAUTH)
    return JsonResponse({})


urlpatterns = [
    *oauth.routes(
        OAUTH,
        "google",
        authorize_at="o/oauth2/v2/auth",
        token_at="token",
        revoke_at="revoke",
        revoke_view=revoke,
    ),
    path("v1/userinfo", userinfo, name="google-userinfo"),
    path("calendar/v3/users/me/calendarList", calendar_list, name="google-calendar-list"),
    path("calendar/v3/calendars/<str:calendar_id>/events", events, name="google-events"),
    path("calendar/v3/calendars/<str:calendar_id>/events/watch", watch, name="google-watch"),
    path(
        "calendar/v3/calendars/<str:calendar_id>/events/<str:event_id>", event, name="google-event"
    ),
    path(
        "calendar/v3/calendars/<str:calendar_id>/events/<str:event_id>/move",
        move,
        name="google-move",
    ),
    path(
        "calendar/v3/calendars/<str:calendar_id>/events/<str:event_id>/instances",
        instances,
        name="google-instances",
    ),
    path("calendar/v3/channels/stop", stop_channel, name="google-channel-stop"),
    path("batch/calendar/v3", batch, name="google-batch"),
]
