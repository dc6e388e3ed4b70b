"""The sandbox's CalDAV accounts (Radicale, started by run.py): one per DayFlow user, each with
a calendar of believable events, written straight into Radicale's folder. `manage.py
sandbox_caldav` seeds the users that exist when run.py starts; the app seeds each user made
later as it is created (`integrations.sandbox.apps`), when DAYFLOW_SANDBOX_CALDAV_FOLDER says
where Radicale keeps its collections."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from django.conf import settings

# Radicale's filesystem storage: <folder>/collection-root/<user>/<collection>/ with the
# collection's properties in .Radicale.props and one .ics file per item.
# https://radicale.org/v3.html#storage
SAFE_NAME = re.compile(r"(?!\.{1,2}$)[\w.@+-]{1,150}")  # Django's usernames; not "." or ".."
PROPS = {
    "tag": "VCALENDAR",
    "D:displayname": "Sandbox calendar",
    "C:supported-calendar-component-set": "VEVENT,VTODO",
}


def calendar(uid: str, *vevents: list[str]) -> str:
    """One calendar object: the VEVENTs of one UID (a series and its exceptions)."""
    parts = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//DayFlow//Sandbox//EN"]
    for lines in vevents:
        parts += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z", *lines, "END:VEVENT"]
    return "\r\n".join([*parts, "END:VCALENDAR", ""])


def stamp(day: dt.date, hour: int) -> str:
    return f"{day:%Y%m%d}T{hour:02d}0000"


def events(today: dt.date) -> dict[str, str]:
    """A single event, an all-day one, a weekly series with one moved and one cancelled
    occurrence, and one in another time zone."""
    start = today + dt.timedelta(days=1)
    weekly = today - dt.timedelta(days=today.weekday())  # this week's Monday
    moved, cancelled = weekly + dt.timedelta(weeks=1), weekly + dt.timedelta(weeks=2)
    series = [
        f"DTSTART:{stamp(weekly, 9)}Z",
        f"DTEND:{stamp(weekly, 9)[:-4]}3000Z",
        "SUMMARY:Weekly planning",
        "RRULE:FREQ=WEEKLY;COUNT=8",
        f"EXDATE:{stamp(cancelled, 9)}Z",
    ]
    override = [
        f"RECURRENCE-ID:{stamp(moved, 9)}Z",
        f"DTSTART:{stamp(moved, 11)}Z",
        f"DTEND:{stamp(moved, 11)[:-4]}3000Z",
        "SUMMARY:Weekly planning (moved)",
    ]
    return {
        "dentist.ics": calendar(
            "sandbox-dentist",
            [f"DTSTART:{stamp(start, 14)}Z", f"DTEND:{stamp(start, 15)}Z", "SUMMARY:Dentist"],
        ),
        "offsite.ics": calendar(
            "sandbox-offsite",
            [
                f"DTSTART;VALUE=DATE:{start + dt.timedelta(days=2):%Y%m%d}",
                f"DTEND;VALUE=DATE:{start + dt.timedelta(days=3):%Y%m%d}",
                "SUMMARY:Team offsite",
            ],
        ),
        "weekly.ics": calendar("sandbox-weekly", series, override),
        "berlin.ics": calendar(
            "sandbox-berlin",
            [
                f"DTSTART;TZID=Europe/Berlin:{stamp(start, 10)}",
                f"DTEND;TZID=Europe/Berlin:{stamp(start, 11)}",
                "SUMMARY:Call with the Berlin office",
            ],
        ),
    }


def seed(folder: Path, username: str, today: dt.date) -> bool:
    """Create the user's sandbox calendar unless the account exists already."""
    if not SAFE_NAME.fullmatch(username):
        return False  # never a path outside the folder; Radicale would refuse the name anyway
    principal = folder / "collection-root" / username
    if principal.exists():
        return False
    collection = principal / "sandbox"
    collection.mkdir(parents=True)
    (principal / ".Radicale.props").write_text("{}")
    (collection / ".Radicale.props").write_text(json.dumps(PROPS))
    for name, text in events(today).items():
        (collection / name).write_text(text, newline="")
    return True


def seed_new_user(sender: object, instance: object, created: bool, **kwargs: object) -> None:
    """post_save of the user model: a user made while the sandbox runs gets an account too."""
    folder = settings.DAYFLOW_SANDBOX_CALDAV_FOLDER
    if created and folder and settings.DAYFLOW_SANDBOX:
        seed(Path(folder), instance.get_username(), dt.datetime.now(dt.UTC).date())
