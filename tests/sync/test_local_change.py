"""A person's change to a DayFlow item queues a sync of its connections within seconds:
debounced (the job waits DAYFLOW_SYNC_LOCAL_DELAY) and coalesced (changes meanwhile join it),
only where the change has somewhere to go."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from dayflow.models import ApiToken, Event, Task
from integrations.models import Connection, Service
from sync.models import ItemLink, ItemType, SyncJob

pytestmark = pytest.mark.django_db
DELAY = 2.0


@pytest.fixture(autouse=True)
def _sync_on_local_change(settings, celery_sent):
    settings.DAYFLOW_SYNC_LOCAL_DELAY = DELAY


def new_connection(user, key="todoist", **settings) -> Connection:
    mapping = {"project_id": "p-1"} if key == "todoist" else {}
    return Connection.objects.create(
        user=user,
        service=Service.objects.get(key=key),
        external_account_id=f"{key}-{Connection.objects.count()}",
        field_mapping=mapping,
        **settings,
    )


def local_jobs() -> list[SyncJob]:
    return list(SyncJob.objects.filter(trigger=SyncJob.Trigger.LOCAL).order_by("pk"))


def save_task(user, capture, **fields) -> Task:
    with capture(execute=True):
        return Task.objects.create(user=user, title="Pay rent", **fields)


def test_a_new_task_queues_one_delayed_sync_of_each_task_connection(
    user, django_capture_on_commit_callbacks, celery_sent
):
    todoist = new_connection(user)
    new_connection(user, "google-calendar")  # syncs no tasks

    save_task(user, django_capture_on_commit_callbacks)

    (job,) = local_jobs()
    assert job.connection == todoist
    assert job.status == SyncJob.Status.QUEUED
    assert job.kind == SyncJob.Kind.INCREMENTAL
    assert celery_sent == [((job.pk,), DELAY)]


def test_a_burst_of_edits_costs_one_job_and_one_message(
    user, django_capture_on_commit_callbacks, celery_sent
):
    new_connection(user)
    task = save_task(user, django_capture_on_commit_callbacks)

    for n in range(50):
        with django_capture_on_commit_callbacks(execute=True):
            task.title = f"Pay rent ({n})"
            task.save()

    assert len(local_jobs()) == 1
    assert len(celery_sent) == 1


def test_a_change_while_a_job_runs_queues_one_trailing_job(
    user, django_capture_on_commit_callbacks, celery_sent
):
    connection = new_connection(user)
    running = SyncJob.objects.create(connection=connection, status=SyncJob.Status.RUNNING)
    task = save_task(user, django_capture_on_commit_callbacks)
    for title in ("a", "b", "c"):
        with django_capture_on_commit_callbacks(execute=True):
            task.title = title
            task.save()

    (trailing,) = local_jobs()
    assert trailing.pk != running.pk
    assert trailing.status == SyncJob.Status.QUEUED


def test_a_linked_item_syncs_only_the_connections_it_is_linked_to(
    user, django_capture_on_commit_callbacks
):
    linked, other = new_connection(user), new_connection(user)
    task = Task.objects.create(user=user, title="Pay rent")
    ItemLink.objects.create(
        connection=linked, item_type=ItemType.TASK, task=task, remote_id="r-1", local_version=1
    )

    with django_capture_on_commit_callbacks(execute=True):
        task.title = "Pay the rent"
        task.save()

    assert [job.connection for job in local_jobs()] == [linked]
    assert other.jobs.count() == 0


def test_a_save_its_links_already_hold_syncs_nothing(user, django_capture_on_commit_callbacks):
    connection = new_connection(user)
    task = Task.objects.create(user=user, title="Pay rent")
    ItemLink.objects.create(
        connection=connection, item_type=ItemType.TASK, task=task, remote_id="r-1"
    )
    ItemLink.objects.filter(task=task).update(local_version=task.version)

    # as the engine's own writes and an undo do: the link holds the version saved
    with django_capture_on_commit_callbacks(execute=True):
        task.save(keep_version=True)

    assert local_jobs() == []


APART = [
    ("undone", {"undone_at": dt.datetime(2030, 6, 1, tzinfo=dt.UTC)}),
    ("unlinked by the deletion policy", {"deletion_pending": "unlinked"}),
    ("a deletion waiting for the person", {"deletion_pending": "remote"}),
]


@pytest.mark.parametrize(("case", "mark"), APART, ids=[row[0] for row in APART])
def test_a_pair_the_engine_leaves_alone_is_not_synced(
    user, django_capture_on_commit_callbacks, case, mark
):
    connection, other = new_connection(user), new_connection(user)
    task = Task.objects.create(user=user, title="Pay rent")
    ItemLink.objects.create(
        connection=connection, item_type=ItemType.TASK, task=task, remote_id="r-1", **mark
    )

    with django_capture_on_commit_callbacks(execute=True):
        task.title = "Pay the rent"
        task.save()

    assert local_jobs() == []  # neither its connection nor, as if it were new, another
    assert other.jobs.count() == 0


def test_a_deletion_is_a_change_too(user, django_capture_on_commit_callbacks):
    new_connection(user)
    task = Task.objects.create(user=user, title="Pay rent")

    with django_capture_on_commit_callbacks(execute=True):
        task.soft_delete()

    assert len(local_jobs()) == 1


def test_an_event_queues_a_sync_of_the_calendar_connections(
    user, django_capture_on_commit_callbacks
):
    new_connection(user)
    calendar = new_connection(user, "google-calendar")
    start = dt.datetime(2030, 6, 3, 9, tzinfo=dt.UTC)

    with django_capture_on_commit_callbacks(execute=True):
        Event.objects.create(user=user, title="Standup", start=start, end=start)

    assert [job.connection for job in local_jobs()] == [calendar]


NOT_SENT_TO = [
    ("paused", {"status": Connection.Status.PAUSED}),
    ("needs reconnecting", {"status": Connection.Status.NEEDS_REAUTH}),
    ("import only", {"sync_direction": Connection.SyncDirection.ONE_WAY}),
    ("manual only", {"sync_direction": Connection.SyncDirection.MANUAL}),
    ("tasks not synced", {"sync_tasks": False}),
]


@pytest.mark.parametrize(("case", "chosen"), NOT_SENT_TO, ids=[row[0] for row in NOT_SENT_TO])
def test_no_sync_where_the_change_has_nowhere_to_go(
    user, django_capture_on_commit_callbacks, celery_sent, case, chosen
):
    new_connection(user, **chosen)

    save_task(user, django_capture_on_commit_callbacks)

    assert local_jobs() == []
    assert celery_sent == []


def test_a_connection_that_needs_setup_is_not_synced(user, django_capture_on_commit_callbacks):
    Connection.objects.create(
        user=user, service=Service.objects.get(key="todoist"), external_account_id="x"
    )

    save_task(user, django_capture_on_commit_callbacks)

    assert local_jobs() == []


def test_another_persons_connections_are_never_synced(
    user, other_user, django_capture_on_commit_callbacks
):
    new_connection(other_user)

    save_task(user, django_capture_on_commit_callbacks)

    assert local_jobs() == []


def test_turned_off_a_change_waits_for_the_schedule(
    user, settings, django_capture_on_commit_callbacks
):
    settings.DAYFLOW_SYNC_LOCAL_DELAY = None
    new_connection(user)

    save_task(user, django_capture_on_commit_callbacks)

    assert local_jobs() == []


def test_a_task_made_through_the_api_is_on_its_way_after_the_request(
    user, django_capture_on_commit_callbacks, celery_sent
):
    new_connection(user)
    _, token = ApiToken.objects.create(user=user, expiry=None, name="script")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/tasks", {"title": "Pay rent"}, format="json")

    assert response.status_code == 201
    assert len(local_jobs()) == 1
    assert len(celery_sent) == 1
