"""The engine over the real Google Calendar provider pushes its writes in batch requests of at
most 50 calls (fake_google.py at the HTTP seam): 120 new events take 3 insert batches (and no
finds by DayFlow's id: the engine has looked already), each event created once; an answer
lost on the way duplicates nothing on the next run."""

from __future__ import annotations

import datetime as dt

import pytest

from dayflow.models import Event
from integrations.providers.google_calendar.provider import DAYFLOW_ID
from sync import engine
from sync.models import ItemLink, SyncJob
from tests.integrations.calendar.runs import run_ok

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 3, 25, 13, tzinfo=dt.UTC)


def ids_stored(fake) -> list[str]:
    return sorted(
        e["extendedProperties"]["private"][DAYFLOW_ID]
        for e in fake.events.values()
        if e.get("status") != "cancelled"
    )


def new_events(user, count: int) -> list[Event]:
    return [
        Event.objects.create(
            user=user,
            title=f"Event {n}",
            start=START + dt.timedelta(days=n),
            end=START + dt.timedelta(days=n, hours=1),
            timezone="UTC",
        )
        for n in range(count)
    ]


def test_120_new_events_go_in_3_insert_batches_and_are_created_once(google_engine, user) -> None:
    connection, fake = google_engine
    made = new_events(user, 120)

    first = run_ok(connection)

    writes = [b for b in fake.batches if b[0]["method"] != "GET"]
    assert [len(b) for b in writes] == [50, 50, 20]
    # No finds by DayFlow's id: the engine looked for unfinished creates before writing.
    assert len(fake.batches) == 3
    assert all(c["method"] == "POST" for b in writes for c in b)
    assert ids_stored(fake) == sorted(f"dayflow-event-{e.pk}" for e in made)
    assert ItemLink.objects.filter(connection=connection).exclude(remote_id="").count() == 120
    assert first.processed >= 120

    again = run_ok(connection)

    assert again.processed == 0
    assert len(fake.events) == 120


def test_a_lost_answer_to_a_batch_of_inserts_duplicates_nothing_next_run(
    google_engine, user
) -> None:
    connection, fake = google_engine
    made = new_events(user, 5)
    fake.garble_writes = 1  # Google inserts them; the answer does not come back

    job = SyncJob.objects.create(connection=connection, kind=SyncJob.Kind.INCREMENTAL)
    engine.run_job(job.pk)
    job.refresh_from_db()

    assert job.status == SyncJob.Status.QUEUED  # Transient: it waits its turn again
    assert len(fake.events) == 5

    engine.run_job(job.pk)
    job.refresh_from_db()

    assert job.status == SyncJob.Status.SUCCEEDED, job.error

    assert ids_stored(fake) == sorted(f"dayflow-event-{e.pk}" for e in made)
    assert len(fake.events) == 5
    assert ItemLink.objects.filter(connection=connection).exclude(remote_id="").count() == 5
