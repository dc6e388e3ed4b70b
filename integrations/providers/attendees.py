"""An event's attendees as the calendar services list them, read-only in DayFlow.

Stored on the event as [{"email", "name", "response"}], bounded: at most MAX_ATTENDEES,
each text cut to its length. `response` is one of RESPONSES ("" when the person has not
answered). A malformed entry is left out rather than failing the event: attendees are only
shown, never synced back.
"""

from __future__ import annotations

from typing import Any

MAX_ATTENDEES = 200
EMAIL_CHARS = 320
NAME_CHARS = 200
RESPONSES = ("accepted", "tentative", "declined", "organizer", "")

# https://developers.google.com/calendar/api/v3/reference/events (attendees[].responseStatus)
GOOGLE_RESPONSES = {"accepted": "accepted", "tentative": "tentative", "declined": "declined"}
# https://learn.microsoft.com/graph/api/resources/responsestatus (response)
GRAPH_RESPONSES = {
    "accepted": "accepted",
    "tentativelyAccepted": "tentative",
    "declined": "declined",
    "organizer": "organizer",
}


def attendee(email: Any, name: Any, response: str) -> dict[str, str] | None:
    email = email.strip()[:EMAIL_CHARS] if isinstance(email, str) else ""
    name = name.strip()[:NAME_CHARS] if isinstance(name, str) else ""
    if not (email or name):
        return None
    return {"email": email, "name": name, "response": response}


def bounded(entries: list[dict[str, str] | None]) -> list[dict[str, str]]:
    return [entry for entry in entries if entry is not None][:MAX_ATTENDEES]


def from_google(raw: Any) -> list[dict[str, str]]:
    """Google's `attendees` ({email, displayName, responseStatus, organizer…})."""
    people = raw if isinstance(raw, list) else []
    return bounded(
        [
            attendee(
                person.get("email"),
                person.get("displayName"),
                "organizer"
                if person.get("organizer") is True
                else GOOGLE_RESPONSES.get(person.get("responseStatus"), ""),
            )
            for person in people[: MAX_ATTENDEES * 2]
            if isinstance(person, dict)
        ]
    )


def from_graph(raw: Any) -> list[dict[str, str]]:
    """Graph's `attendees` ({emailAddress: {name, address}, status: {response}, type})."""
    people = raw if isinstance(raw, list) else []
    found = []
    for person in people[: MAX_ATTENDEES * 2]:
        if not isinstance(person, dict):
            continue
        address = person.get("emailAddress") if isinstance(person.get("emailAddress"), dict) else {}
        status = person.get("status") if isinstance(person.get("status"), dict) else {}
        response = GRAPH_RESPONSES.get(status.get("response"), "")
        found.append(attendee(address.get("address"), address.get("name"), response))
    return bounded(found)
