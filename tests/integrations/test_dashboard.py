"""The integrations dashboard's words (status, next sync, progress) as tables, and its reads:
the same number of queries for one connection or ten, each with many jobs."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from dayflow.models import Task
from integrations import dashboard
from integrations.models import Connection, Credential, Service
from sync.models import Conflict, ItemLink, SyncJob

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
Phase = SyncJob.Phase


# --- status in words ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "error", "setup", "key", "words"),
    [
        ("connected", "", "", "connected", "Connected"),
        ("connected", "", "choose a Notion database", "setup",
         "Needs setup: choose a Notion database"),
        ("connected", "timeout\n  at the server", "", "warning",
         "Connected; the last sync had a problem: timeout at the server"),
        ("paused", "", "", "paused", "Paused"),
        ("paused", "", "choose a list", "paused", "Paused"),
        ("needs_reauth", "token revoked", "", "needs_reauth", "Needs reconnecting"),
        ("error", "Notion refused the database id", "", "error",
         "Error: Notion refused the database id"),
        ("error", "", "", "error", "Error: it stopped syncing"),
        ("disconnected", "", "", "disconnected", "Disconnected"),
    ],
)  # fmt: skip
def test_status_words(status, error, setup, key, words):
    assert dashboard.status_words(status, error, setup) == (key, words)


def test_a_long_error_is_cut_on_the_card():
    _key, words = dashboard.status_words("error", "x" * 5000)
    assert len(words) == len("Error: ") + dashboard.ERROR_SHOWN
    assert words.endswith("…")


def test_setup_needed_is_read_when_the_connection_has_it():
    class Ready:
        setup_needed = ""

    class NotReady:
        setup_needed = "choose a ClickUp list"

    assert dashboard.setup_needed(Ready()) == ""
    assert dashboard.setup_needed(NotReady()) == "choose a ClickUp list"


# --- next sync in words ---------------------------------------------------------------------
def due_in(minutes: float) -> dt.datetime:
    """The connection's next_sync_at, `minutes` from NOW (negative: overdue)."""
    return NOW + dt.timedelta(minutes=minutes)


BASE = {
    "status": "connected",
    "auto_sync": True,
    "manual": False,
    "setup": "",
    "mode": "polling",
}


@pytest.mark.parametrize(
    ("given", "due", "words"),
    [
        ({}, due_in(10), "Next sync about 12:10 (in 10 min)"),
        ({}, due_in(13), "Next sync about 12:13 (in 13 min)"),
        ({}, due_in(0), "Next sync due now"),
        ({}, due_in(-5), "Next sync due now"),  # overdue: the next tick takes it
        ({}, due_in(60 * 24), "Next sync about 11 Mar, 12:00 (in 24 h)"),
        ({}, due_in(60 * 24 * 7), "Next sync about 17 Mar, 12:00 (in 7 days)"),
        ({"mode": "push"}, due_in(10),
         "On change (push), and a check about 12:10 (in 10 min)"),
        ({"mode": "push"}, None, "On change (push)"),
        ({}, None, "Not scheduled yet"),
        ({"status": "paused"}, None, "None while paused"),
        ({"status": "paused"}, due_in(3), "None while paused"),  # a stale value says nothing
        ({"status": "needs_reauth"}, None, "None until it is reconnected"),
        ({"status": "error"}, None, "None until fixed"),
        ({"setup": "choose a Notion database"}, None, "None until it is set up"),
        ({"manual": True}, due_in(10), "Only when you ask (Sync now)"),
        ({"auto_sync": False}, None, "Only when you ask (Sync now)"),
    ],
)  # fmt: skip
def test_next_sync_words(settings, given, due, words):
    settings.TIME_ZONE = "UTC"
    assert dashboard.next_sync_words(**(BASE | given), due=due, now=NOW) == words


# --- progress in words ----------------------------------------------------------------------
def job(status="running", phase=Phase.PULLING, planned=0, **counters) -> SyncJob:
    job = SyncJob(status=status, phase=phase, planned=planned, **counters)
    service = Service(key="todoist", display_name="Todoist", kind="tasks")
    job.connection = Connection(service=service)
    return job


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (job("queued", Phase.QUEUED), dashboard.Progress("Waiting to start")),
        (job("running", Phase.QUEUED), dashboard.Progress("Pulling changes from Todoist")),
        (job("running", Phase.PULLING), dashboard.Progress("Pulling changes from Todoist")),
        (job("running", Phase.DECIDING), dashboard.Progress("Deciding what to change")),
        (job("running", Phase.WRITING_REMOTE, 10),
         dashboard.Progress("Writing to Todoist", 0, 10, "0 of 10 items done")),
        (job("running", Phase.WRITING_LOCAL, 10, processed=4, local_created=3, remote_updated=1),
         dashboard.Progress("Writing to DayFlow", 4, 10,
                            "4 of 10 items done: imported 3 tasks, sent 1 change to Todoist")),
        # a rerun that processed more than its new plan never shows a bar past its end
        (job("running", Phase.WRITING_LOCAL, 2, processed=5),
         dashboard.Progress("Writing to DayFlow", 5, 5, "5 of 5 items done: nothing changed")),
        (job("running", Phase.DONE, 1, processed=1),
         dashboard.Progress("Finishing", 1, 1, "1 of 1 item done: nothing changed")),
    ],
)  # fmt: skip
def test_progress(given, expected):
    assert dashboard.progress(given, "Todoist") == expected


@pytest.mark.parametrize(
    ("minutes", "words"),
    [(0, "just now"), (0.9, "just now"), (5, "5 min ago"), (59, "59 min ago"), (60, "1 h ago"),
     (23 * 60 + 59, "23 h ago"), (3 * 24 * 60, "on 7 Mar, 12:00")],
)  # fmt: skip
def test_ago(settings, minutes, words):
    settings.TIME_ZONE = "UTC"
    assert dashboard.ago(NOW - dt.timedelta(minutes=minutes), NOW) == words


LAG = [
    ("no change-started syncs", {}, []),
    ("DayFlow's edits: the median", {"local": [1.2, 1.4, 9.0]}, ["DayFlow → Todoist: about 1.4 s"]),
    (
        "both ways, DayFlow's first",
        {"webhook": [0.5], "local": [30.2, 30.4]},
        ["DayFlow → Todoist: about 30 s", "Todoist → DayFlow: about 0.5 s"],
    ),
    ("minutes", {"webhook": [300.0]}, ["Todoist → DayFlow: about 5 min"]),
    ("other triggers are not changes", {"schedule": [3.0]}, []),
]


@pytest.mark.parametrize(("case", "spans", "words"), LAG, ids=[row[0] for row in LAG])
def test_lag_words(case, spans, words):
    assert dashboard.lag_words("Todoist", spans) == words


def test_item_words():
    assert dashboard.item_words({"task": 1, "event": 12}) == [("task", 1), ("events", 12)]
    assert dashboard.item_words({"event": 1}) == [("event", 1)]
    assert dashboard.item_words({}) == []


# --- the reads: a fixed number of queries ---------------------------------------------------
SERVICES = itertools.cycle(["todoist", "linear", "clickup", "google-calendar", "fastmail"])


def busy_connection(user, n: int) -> Connection:
    """A connection with history: 30 finished jobs, one running, one queued behind it, items
    linked both ways, two open conflicts, a credential and a next scheduled sync."""
    service = Service.objects.get(key=next(SERVICES))
    provider = service.provider
    # Set up (issue 15): a task service's connection names its container, else it needs setup.
    mapping = {provider.collection_setting: "container-1"} if provider.collection_required else {}
    connection = Connection.objects.create(
        user=user,
        service=service,
        external_account_id=f"acct-{n}",
        label=f"account {n}",
        field_mapping=mapping,
    )
    Credential.objects.create(connection=connection, access_token="t", scopes="read admin")
    base = NOW - dt.timedelta(days=2)
    jobs = SyncJob.objects.bulk_create(
        [
            SyncJob(connection=connection, status=status, processed=i, local_created=i)
            for i, status in enumerate(["succeeded", "failed", "cancelled"] * 10)
        ]
    )
    for i, job_row in enumerate(jobs):
        SyncJob.objects.filter(pk=job_row.pk).update(
            created_at=base + dt.timedelta(minutes=i),
            started_at=base + dt.timedelta(minutes=i),
            finished_at=base + dt.timedelta(minutes=i, seconds=7),
        )
    SyncJob.objects.create(
        connection=connection, status="running", phase=Phase.WRITING_REMOTE, planned=9
    )
    SyncJob.objects.create(connection=connection, status="queued")
    tasks = Task.objects.bulk_create([Task(user=user, title=f"t{n}-{i}") for i in range(4)])
    links = ItemLink.objects.bulk_create(
        [
            ItemLink(connection=connection, item_type="task", task=task, remote_id=f"r{n}-{i}")
            for i, task in enumerate(tasks)
        ]
    )
    for link in links[:2]:
        Conflict.objects.create(link=link, local={"title": "a"}, remote={"title": "b"})
    return connection


def queries_of(client, path: str) -> int:
    with CaptureQueriesContext(db) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_the_dashboard_costs_the_same_queries_for_one_connection_or_ten(client, user):
    client.force_login(user)
    first = busy_connection(user, 0)
    one = queries_of(client, "/integrations/")
    for n in range(1, 10):
        busy_connection(user, n)

    ten = queries_of(client, "/integrations/")

    assert ten == one
    # session and user, the connections with their conflicts and jobs' ids, those jobs, the
    # links counted, the subscriptions, the syncs' lag, the services, the nav's conflicts badge
    # (the next sync is the connection's own next_sync_at: no query of its own)
    assert ten <= 9, ten
    page = client.get("/integrations/").content.decode()
    assert page.count('class="connection-card"') == 10
    assert f'href="/sync/conflicts/?connection={first.pk}">2 open</a>' in page


@pytest.mark.django_db
def test_a_card_costs_the_same_queries_whatever_its_history(client, user):
    client.force_login(user)
    quiet = Connection.objects.create(
        user=user, service=Service.objects.get(key="todoist"), external_account_id="quiet"
    )
    SyncJob.objects.create(connection=quiet, status="succeeded")
    busy = busy_connection(user, 1)

    assert queries_of(client, f"/integrations/connections/{quiet.pk}/card/") == queries_of(
        client, f"/integrations/connections/{busy.pk}/card/"
    )


@pytest.mark.django_db
def test_a_card_reads_the_last_and_the_running_job(user):
    connection = busy_connection(user, 0)
    Connection.objects.filter(pk=connection.pk).update(next_sync_at=due_in(10))

    card = dashboard.cards(Connection.objects.filter(pk=connection.pk), now=NOW)[0]

    assert card.active_job.status == "running"  # before the one queued behind it
    assert card.progress.words == f"Writing to {connection.service}"
    assert (card.progress.value, card.progress.maximum) == (0, 9)
    assert card.polling
    assert card.last_job.status == "cancelled"  # the newest finished one
    assert card.last["took"] == "7 s"
    assert card.last["when"] == "on 8 Mar, 12:29"
    assert card.items == [("tasks", 4)]
    assert card.open_conflicts == 2
    assert card.next_sync.endswith("(in 10 min)")


@pytest.mark.django_db
def test_a_card_says_how_soon_changes_arrived_over_the_newest_syncs(user):
    connection = busy_connection(user, 0)
    spans = [*[3] * 25, *[1] * 20]  # seconds, oldest first: only the newest 20 count
    for i, took in enumerate(spans):
        job = SyncJob.objects.create(
            connection=connection, status="succeeded", trigger=SyncJob.Trigger.LOCAL
        )
        created = NOW + dt.timedelta(minutes=i)
        SyncJob.objects.filter(pk=job.pk).update(
            created_at=created, finished_at=created + dt.timedelta(seconds=took)
        )
    SyncJob.objects.create(connection=connection, status="failed", trigger=SyncJob.Trigger.WEBHOOK)

    card = dashboard.cards(Connection.objects.filter(pk=connection.pk), now=NOW)[0]

    assert card.lag == [f"DayFlow → {connection.service}: about 1.0 s"]


@pytest.mark.django_db
def test_an_idle_card_does_not_poll(user):
    connection = Connection.objects.create(
        user=user, service=Service.objects.get(key="todoist"), external_account_id="idle"
    )
    card = dashboard.cards(Connection.objects.filter(pk=connection.pk))[0]
    assert not card.polling
    assert card.progress is None
    assert card.last == {}
    assert card.items == []
    assert card.lag == []
