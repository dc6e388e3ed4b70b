"""A connection that needs setup does not sync (beat, webhooks, Sync now); connecting queues
its first sync at once, or, when it needs setup, picking its container does; a first sync
where DayFlow already has items is a preview the person confirms; saving other settings does
not restart the schedule's wait."""

from __future__ import annotations

import datetime as dt

import pytest

from dayflow.models import Task
from integrations import lifecycle
from integrations.actions import ConnectionActionRefused
from integrations.forms import ConnectionSettingsForm
from integrations.models import Connection, Service
from sync import services
from sync.models import ItemLink, SyncJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def unset(user) -> Connection:
    """A Todoist connection with no project chosen yet."""
    return Connection.objects.create(
        user=user, service=Service.objects.get(key="todoist"), external_account_id="acct-9"
    )


def schedule_of(connection: Connection) -> dt.datetime | None:
    return Connection.objects.values_list("next_sync_at", flat=True).get(pk=connection.pk)


def save(connection: Connection, **changes) -> Connection:
    values = {name: getattr(connection, name) for name in ConnectionSettingsForm.Meta.fields}
    form = ConnectionSettingsForm.from_values(connection, values | changes)
    assert form.is_valid(), form.errors
    return lifecycle.save_settings(form)


def test_a_connection_that_needs_setup_has_no_schedule_until_it_is_set_up(unset):
    assert schedule_of(unset) is None
    save(unset, field_mapping={"project_id": "p-1"})
    assert schedule_of(unset) is not None


@pytest.mark.parametrize("trigger", ["schedule", "webhook", "user", "api"])
def test_no_job_is_queued_for_a_connection_that_needs_setup(unset, trigger):
    assert services.request_sync(unset.pk, trigger=trigger) is None
    assert services.preview_sync(unset.pk) is None
    assert not SyncJob.objects.exists()


def test_sync_now_is_refused_with_what_to_choose(unset):
    with pytest.raises(ConnectionActionRefused) as refused:
        services.sync_now(unset, trigger="user")
    assert "choose a Todoist project" in str(refused.value)
    assert not SyncJob.objects.exists()


def test_the_sync_now_button_says_why_on_the_page(client, user, unset):
    client.force_login(user)
    response = client.post(f"/sync/connections/{unset.pk}/sync/", follow=True)
    assert "needs setup first: choose a Todoist project" in response.content.decode()
    assert not SyncJob.objects.exists()


def test_connecting_queues_a_full_first_sync_at_once(
    connection, celery_sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = lifecycle.announce_connected(connection, True, request=None)
    assert (job.kind, job.dry_run, job.status) == ("full", False, "queued")
    assert celery_sent == [((job.pk,), None)]


def test_connecting_an_account_that_needs_setup_queues_nothing(unset, celery_sent):
    assert lifecycle.announce_connected(unset, True, request=None) is None
    assert not SyncJob.objects.exists()


def test_with_items_on_both_sides_the_first_sync_is_a_preview(connection, user, celery_sent):
    Task.objects.create(user=user, title="already in DayFlow")
    job = lifecycle.announce_connected(connection, True, request=None)
    assert (job.dry_run, job.kind) == (True, "full")


def test_items_linked_to_this_connection_do_not_make_it_a_preview(connection, user):
    task = Task.objects.create(user=user, title="synced before")
    ItemLink.objects.create(connection=connection, item_type="task", task=task, remote_id="r1")
    job = services.first_sync(connection.pk)
    assert job.dry_run is False


def test_reconnecting_a_synced_account_queues_an_ordinary_sync(connection, user):
    Task.objects.create(user=user, title="unlinked")
    Connection.objects.filter(pk=connection.pk).update(
        last_sync_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    )
    job = lifecycle.announce_connected(connection, False, request=None)
    assert (job.dry_run, job.kind) == (False, "incremental")


def test_choosing_the_container_queues_the_first_sync(
    unset, celery_sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        saved = save(unset, field_mapping={"project_id": "p-1"})
    assert saved.first_sync is not None
    assert (saved.first_sync.kind, saved.first_sync.dry_run) == ("full", False)
    assert celery_sent == [((saved.first_sync.pk,), None)]


def test_other_settings_saves_queue_no_first_sync(connection, celery_sent):
    saved = save(connection, sync_interval=30)
    assert saved.first_sync is None
    assert not SyncJob.objects.exists()


def test_saving_settings_does_not_restart_the_schedules_wait(connection):
    # given a connection due at a set moment
    due = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)
    Connection.objects.filter(pk=connection.pk).update(next_sync_at=due)
    connection.refresh_from_db()
    # when settings that do not touch the schedule are saved, and a sync's bookkeeping too
    save(connection, conflict_resolution="latest", field_mapping={"project_id": "p-2"})
    connection.last_sync_at = dt.datetime(2026, 1, 2, 3, 5, tzinfo=dt.UTC)
    connection.save(update_fields=["last_sync_at"])
    # then it is still due at the same moment
    assert schedule_of(connection) == due


def test_a_new_interval_retimes_the_schedule(connection):
    from sync.schedule import jitter

    last = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)
    Connection.objects.filter(pk=connection.pk).update(last_sync_at=last, next_sync_at=last)
    connection.refresh_from_db()
    save(connection, sync_interval=45)
    every = dt.timedelta(minutes=45)
    # one new interval after the last sync, or now if that is already past
    assert schedule_of(connection) >= last + every + jitter(connection.pk, every)


def test_the_preview_page_says_what_the_first_sync_does_and_confirming_syncs(
    client, user, connection, celery_sent
):
    preview = SyncJob.objects.create(
        connection=connection,
        kind="full",
        dry_run=True,
        status="succeeded",
        report={
            "preview": {
                "local": {"create": 340, "update": 0, "delete": 0},
                "remote": {"create": 12, "update": 0, "delete": 0},
                "both": {"conflict": 0},
            }
        },
    )
    client.force_login(user)
    page = client.get(f"/sync/jobs/{preview.pk}/").content.decode()
    assert "will import 340 tasks" in page
    assert "into DayFlow and send 12 to Todoist" in page
    assert "Confirm and sync" in page
    assert 'data-placeholder="matching"' in page  # room for matching the same items

    response = client.post(f"/sync/connections/{connection.pk}/sync/")

    job = SyncJob.objects.exclude(pk=preview.pk).get()
    assert response["Location"] == f"/sync/jobs/{job.pk}/"
    assert job.dry_run is False
