"""The engine over the real Outlook provider pushes its writes in Graph `$batch` calls of at
most 20 (fake_graph.py at the HTTP seam): 50 new events take 3 write requests (after 3 of the
finds by DayFlow's id), each created once."""

from __future__ import annotations

import datetime as dt

import pytest

from dayflow.models import Event
from integrations.providers.outlook.provider import DAYFLOW_ID
from sync.models import ItemLink
from tests.integrations.calendar.runs import run_ok

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 3, 25, 13, tzinfo=dt.UTC)


def ids_stored(fake) -> list[str]:
    return sorted(
        p["value"]
        for e in fake.events.values()
        for p in e.get("singleValueExtendedProperties", [])
        if p["id"] == DAYFLOW_ID
    )


def test_50_new_events_go_in_3_write_requests_and_are_created_once(graph_engine, user) -> None:
    connection, fake = graph_engine
    made = [
        Event.objects.create(
            user=user,
            title=f"Event {n}",
            start=START + dt.timedelta(days=n),
            end=START + dt.timedelta(days=n, hours=1),
            timezone="UTC",
        )
        for n in range(50)
    ]

    first = run_ok(connection)

    writes = [b for b in fake.batches if b[0]["method"] != "GET"]
    assert [len(b) for b in writes] == [20, 20, 10]
    # and no finds by DayFlow's id: the engine's creates come looked for already
    # (`Write.looked_up`, `plan.settle_intents`)
    assert len(fake.batches) == 3
    assert all(s["method"] == "POST" for b in writes for s in b)
    assert ids_stored(fake) == sorted(f"dayflow-event-{e.pk}" for e in made)
    assert ItemLink.objects.filter(connection=connection).exclude(remote_id="").count() == 50
    assert first.processed >= 50

    again = run_ok(connection)

    assert again.processed == 0
    assert len(fake.events) == 50
