"""The console's desk for the sandbox's CalDAV server (Radicale, started by run.py): the
signed-in person's seeded calendar, read and changed over CalDAV as another client (a phone's
calendar app) would. Apple Calendar and Fastmail connections read that calendar; CalDAV
servers send no webhooks, so DayFlow sees a change at the connection's next scheduled poll.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import icalendar
import requests
from defusedxml import ElementTree
from django.conf import settings

from integrations.sandbox.desks import ZONE, Change

CALENDAR = "sandbox"  # the collection manage.py sandbox_caldav seeds for every user
PASSWORD = "sandbox"  # the server takes any password (auth type none); one is still sent
TIMEOUT = 10.0
DAV = "{DAV:}"
PROPFIND = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>'
)


class CalDAVError(Exception):
    """The server refused or did not answer."""


@dataclasses.dataclass(frozen=True)
class Event:
    name: str  # the calendar object's file name, e.g. "dentist.ics"
    etag: str
    now: Change
    zone: str
    recurring: bool


def server() -> str:
    return settings.DAYFLOW_SANDBOX_CALDAV_URL.rstrip("/")


def calendar_url(username: str) -> str:
    return f"{server()}/{username}/{CALENDAR}/"


def _call(username: str, method: str, url: str, **kw) -> requests.Response:
    try:
        response = requests.request(method, url, auth=(username, PASSWORD), timeout=TIMEOUT, **kw)
    except requests.RequestException as exc:
        raise CalDAVError(f"the sandbox CalDAV server did not answer: {exc}") from exc
    if response.status_code >= 400:
        raise CalDAVError(f"the sandbox CalDAV server answered {response.status_code}")
    return response


# --- reading --------------------------------------------------------------------------------
def events(username: str) -> list[Event]:
    """Every event of the person's sandbox calendar, by start."""
    home = calendar_url(username)
    listing = _call(username, "PROPFIND", home, data=PROPFIND, headers={"Depth": "1"})
    found = []
    for response in ElementTree.fromstring(listing.content).iter(f"{DAV}response"):
        href = response.findtext(f"{DAV}href") or ""
        if href.endswith(".ics"):
            found.append(event(username, href.rsplit("/", 1)[-1]))
    return sorted(found, key=lambda e: (e.now.start or dt.datetime.min, e.name))


def event(username: str, name: str) -> Event:
    if "/" in name or not name.endswith(".ics"):
        raise CalDAVError("no such event")
    answer = _call(username, "GET", urljoin(calendar_url(username), name))
    master = _master(icalendar.Calendar.from_ical(answer.content))
    change, zone = _read(master)
    return Event(name, answer.headers.get("ETag", ""), change, zone, "RRULE" in master)


def _master(calendar: icalendar.Calendar) -> icalendar.Event:
    """The series (or the single event), not one of its moved occurrences."""
    vevents = [c for c in calendar.walk("VEVENT")]
    return next((v for v in vevents if "RECURRENCE-ID" not in v), vevents[0])


def _read(vevent: icalendar.Event) -> tuple[Change, str]:
    start = vevent.decoded("DTSTART")
    end = vevent.decoded("DTEND") if "DTEND" in vevent else None
    title = str(vevent.get("SUMMARY", ""))
    if not isinstance(start, dt.datetime):  # all day: the end date is exclusive
        after = end or start + dt.timedelta(days=1)
        first = dt.datetime.combine(start, dt.time())
        return Change(
            title, all_day=True, start=first, end=dt.datetime.combine(after, dt.time())
        ), ""
    zone = _zone_of(start)
    end = end or start
    return Change(title, start=_wall(start, zone), end=_wall(end, zone)), zone


def _zone_of(moment: dt.datetime) -> str:
    key = getattr(moment.tzinfo, "key", "")
    return key or ZONE  # UTC and floating times are shown in the console's zone


def _wall(moment: dt.datetime, zone: str) -> dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


# --- changing -------------------------------------------------------------------------------
def add(username: str, change: Change) -> str:
    """A new event; the file name it got."""
    uid = f"console-{uuid.uuid4()}"
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//DayFlow//Sandbox console//EN")
    calendar.add("VERSION", "2.0")
    vevent = icalendar.Event()
    vevent.add("UID", uid)
    _write(vevent, change, ZONE)
    calendar.add_component(vevent)
    name = f"{uid}.ics"
    _put(username, name, calendar, {"If-None-Match": "*"})
    return name


def edit(username: str, name: str, etag: str, change: Change, zone: str) -> None:
    """The series (or single event) renamed and moved; its moved occurrences stay."""
    answer = _call(username, "GET", urljoin(calendar_url(username), name))
    calendar = icalendar.Calendar.from_ical(answer.content)
    _write(_master(calendar), change, zone or ZONE)
    _put(username, name, calendar, {"If-Match": etag or answer.headers.get("ETag", "*")})


def delete(username: str, name: str, etag: str) -> None:
    headers = {"If-Match": etag} if etag else {}
    _call(username, "DELETE", urljoin(calendar_url(username), name), headers=headers)


def _write(vevent: icalendar.Event, change: Change, zone: str) -> None:
    for prop in ("SUMMARY", "DTSTART", "DTEND", "DTSTAMP", "LAST-MODIFIED"):
        vevent.pop(prop, None)
    vevent.add("SUMMARY", change.title)
    if change.all_day:
        last = max(change.end.date(), change.start.date() + dt.timedelta(days=1))
        vevent.add("DTSTART", change.start.date())
        vevent.add("DTEND", last)
    else:
        vevent.add("DTSTART", change.start.replace(tzinfo=ZoneInfo(zone)))
        vevent.add("DTEND", change.end.replace(tzinfo=ZoneInfo(zone)))
    stamp = dt.datetime.now(dt.UTC)
    vevent.add("DTSTAMP", stamp)
    vevent.add("LAST-MODIFIED", stamp)
    vevent["SEQUENCE"] = int(vevent.get("SEQUENCE", 0)) + 1


def _put(username: str, name: str, calendar: icalendar.Calendar, headers: dict) -> None:
    url = urljoin(calendar_url(username), name)
    headers = {"Content-Type": "text/calendar; charset=utf-8", **headers}
    _call(username, "PUT", url, data=calendar.to_ical(), headers=headers)
