"""An event's attendees come from Google and Outlook, bounded, read-only: shown in DayFlow,
never compared as a field, never sent back, and kept at the service when DayFlow edits."""

from __future__ import annotations

import pytest

from dayflow.models import Event
from integrations.providers import attendees
from integrations.providers.outlook.provider import SELECT
from tests.integrations.calendar.runs import run_ok

GOOGLE_CASES = [
    (
        "documented fields",
        [{"email": "bob@example.com", "displayName": "Bob", "responseStatus": "accepted"}],
        [{"email": "bob@example.com", "name": "Bob", "response": "accepted"}],
    ),
    (
        "no answer yet",
        [{"email": "carol@example.com", "responseStatus": "needsAction"}],
        [{"email": "carol@example.com", "name": "", "response": ""}],
    ),
    (
        "the organizer",
        [{"email": "a@example.com", "organizer": True, "responseStatus": "accepted"}],
        [{"email": "a@example.com", "name": "", "response": "organizer"}],
    ),
    (
        "tentative and declined",
        [
            {"email": "t@example.com", "responseStatus": "tentative"},
            {"email": "d@example.com", "responseStatus": "declined"},
        ],
        [
            {"email": "t@example.com", "name": "", "response": "tentative"},
            {"email": "d@example.com", "name": "", "response": "declined"},
        ],
    ),
    ("none", None, []),
    ("not a list", {"email": "x@example.com"}, []),
    (
        "malformed entries left out",
        ["bob", {"email": 3}, {"displayName": ""}, {"email": "ok@example.com"}],
        [{"email": "ok@example.com", "name": "", "response": ""}],
    ),
    (
        "an unknown answer counts as none",
        [{"email": "x@example.com", "responseStatus": "<script>"}],
        [{"email": "x@example.com", "name": "", "response": ""}],
    ),
]

GRAPH_CASES = [
    (
        "documented fields",
        [
            {
                "type": "required",
                "status": {"response": "tentativelyAccepted", "time": "2026-03-01T10:00:00Z"},
                "emailAddress": {"name": "Bob", "address": "bob@example.com"},
            }
        ],
        [{"email": "bob@example.com", "name": "Bob", "response": "tentative"}],
    ),
    (
        "not responded and none",
        [
            {"status": {"response": "notResponded"}, "emailAddress": {"address": "a@x.com"}},
            {"status": {"response": "none"}, "emailAddress": {"address": "b@x.com"}},
        ],
        [
            {"email": "a@x.com", "name": "", "response": ""},
            {"email": "b@x.com", "name": "", "response": ""},
        ],
    ),
    (
        "the organizer and a room without an address",
        [
            {"status": {"response": "organizer"}, "emailAddress": {"address": "o@x.com"}},
            {"type": "resource", "emailAddress": {"name": "Room 4"}},
        ],
        [
            {"email": "o@x.com", "name": "", "response": "organizer"},
            {"email": "", "name": "Room 4", "response": ""},
        ],
    ),
    ("none", None, []),
    (
        "malformed entries left out",
        [7, {"emailAddress": "bob"}, {"emailAddress": {"address": "ok@x.com"}, "status": 3}],
        [{"email": "ok@x.com", "name": "", "response": ""}],
    ),
]


@pytest.mark.parametrize(
    ("raw", "expected"), [c[1:] for c in GOOGLE_CASES], ids=[c[0] for c in GOOGLE_CASES]
)
def test_google_attendees(raw, expected) -> None:
    assert attendees.from_google(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [c[1:] for c in GRAPH_CASES], ids=[c[0] for c in GRAPH_CASES]
)
def test_outlook_attendees(raw, expected) -> None:
    assert attendees.from_graph(raw) == expected


def test_attendees_are_bounded_in_number_and_length() -> None:
    many = [{"email": f"p{n}@example.com"} for n in range(attendees.MAX_ATTENDEES + 50)]
    assert len(attendees.from_google(many)) == attendees.MAX_ATTENDEES
    (long,) = attendees.from_google([{"email": "e" * 1000, "displayName": "n" * 1000}])
    assert (len(long["email"]), len(long["name"])) == (
        attendees.EMAIL_CHARS,
        attendees.NAME_CHARS,
    )


def test_outlook_asks_for_attendees_with_each_event() -> None:
    assert "attendees" in SELECT.split(",")


@pytest.mark.django_db
def test_google_attendees_reach_the_event_and_survive_a_dayflow_edit(google_engine) -> None:
    connection, fake = google_engine
    people = [
        {"email": "bob@example.com", "displayName": "Bob", "responseStatus": "accepted"},
        {"email": "carol@example.com", "responseStatus": "needsAction"},
    ]
    fake.add(
        {
            "id": "review1",
            "summary": "Review",
            "start": {"dateTime": "2026-03-23T09:00:00+01:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2026-03-23T10:00:00+01:00", "timeZone": "Europe/Berlin"},
            "attendees": people,
        }
    )
    run_ok(connection)
    event = Event.objects.get(title="Review")
    assert [a["email"] for a in event.attendees] == ["bob@example.com", "carol@example.com"]

    # when DayFlow renames it
    event.title = "Review (moved)"
    event.save()
    run_ok(connection)

    # then Google's event was rewritten with its attendees as they were
    assert fake.events["review1"]["summary"] == "Review (moved)"
    assert fake.events["review1"]["attendees"] == people

    # and when Carol accepts at Google, DayFlow shows it without a version of its own
    fake.add(
        {
            **fake._public(fake.events["review1"]),
            "attendees": [people[0], {**people[1], "responseStatus": "accepted"}],
        }
    )
    version = Event.objects.get(pk=event.pk).version
    run_ok(connection)
    event.refresh_from_db()
    assert event.attendees[1]["response"] == "accepted"
    assert event.version == version
    assert run_ok(connection).processed == 0


@pytest.mark.django_db
def test_outlook_attendees_reach_the_event(graph_engine) -> None:
    connection, fake = graph_engine
    fake.add(
        {
            "subject": "Planning",
            "start": {"dateTime": "2026-03-23T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-23T10:00:00", "timeZone": "UTC"},
            "attendees": [
                {
                    "type": "required",
                    "status": {"response": "declined", "time": "2026-03-01T10:00:00Z"},
                    "emailAddress": {"name": "Dan", "address": "dan@example.com"},
                }
            ],
        }
    )
    run_ok(connection)
    assert Event.objects.get(title="Planning").attendees == [
        {"email": "dan@example.com", "name": "Dan", "response": "declined"}
    ]
