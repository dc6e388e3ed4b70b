"""A container ticked on a connection that has synced already: its first sync is a preview when
DayFlow holds items of its kind that could be the same ("Same item?"), automatic syncs wait for
the person meanwhile, and confirming links the pairs so the real sync makes no duplicate."""

from __future__ import annotations

import datetime as dt

import pytest

from dayflow.models import Task, TaskList
from integrations import lifecycle
from integrations.forms import ConnectionSettingsForm
from integrations.models import Connection
from integrations.tokens import set_status
from sync import engine, links, matching, services
from sync.models import SyncJob, SyncLink
from tests.sync.conftest import task_fields
from tests.sync.fakes import FakeService
from tests.sync.test_sync_links import ContainerFake, connect, fake_service, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(user, use_provider) -> tuple[Connection, FakeService]:
    """A Todoist connection of project p-home, on the fake service, that has synced."""
    todoist = connect(user, "todoist", "one", project_id="p-home")
    remote = fake_service()
    use_provider(lambda connection: ContainerFake(connection, remote))
    sync(todoist, SyncJob.Kind.FULL)
    todoist.refresh_from_db()  # as a page or the API loads it: with its last sync
    return todoist, remote


@pytest.fixture
def same_report(user, synced) -> tuple[TaskList, str]:
    """DayFlow's list Work and the service's project p-work both hold "Quarterly report"."""
    _, remote = synced
    work = TaskList.objects.create(user=user, name="Work")
    Task.objects.create(user=user, title="Quarterly report", task_list=work)
    remote_id = remote.add(**task_fields("Quarterly report"))
    remote.containers[remote_id] = "p-work"
    return work, remote_id


def tick_work(todoist: Connection) -> SyncLink:
    """The person ticks the project p-work too, as the settings page, the API or the admin
    save it."""
    todoist.field_mapping = {"project_id": ["p-home", "p-work"]}
    todoist.save()
    return todoist.sync_links.get(collection="p-work")


def save_settings(connection: Connection, **changes) -> Connection:
    values = {name: getattr(connection, name) for name in ConnectionSettingsForm.Meta.fields}
    form = ConnectionSettingsForm.from_values(connection, values | changes)
    assert form.is_valid(), form.errors
    return lifecycle.save_settings(form)


def run(job: SyncJob) -> SyncJob:
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == SyncJob.Status.SUCCEEDED, job.error
    return job


def test_a_project_ticked_later_is_previewed_and_confirming_makes_no_duplicate(
    user, synced, same_report
):
    todoist, remote = synced
    work, remote_id = same_report
    # when the person ticks p-work and sends the list Work to it
    link = tick_work(todoist)
    links.set_destination(user.pk, "task", work, link)
    # then its first sync is a preview, left on the connection for the page to lead to
    preview = SyncJob.objects.get(dry_run=True)
    assert (preview.status, preview.kind, preview.trigger) == ("queued", "full", "user")
    assert todoist.first_sync == preview
    assert services.awaits_first_confirmation(todoist)

    (pair,) = run(preview).report["matching"]["pairs"]
    assert (pair["local_title"], pair["remote_id"]) == ("Quarterly report", remote_id)
    new_job, linked = services.confirm_preview(preview, [matching.pair_key(pair)])
    assert linked.linked == 1
    run(new_job)

    assert list(Task.objects.values_list("title", flat=True)) == ["Quarterly report"]
    assert [item.fields["title"] for item in remote.items.values()] == ["Quarterly report"]
    link.refresh_from_db()
    assert link.first_synced_at is not None
    assert not services.awaits_first_confirmation(todoist)
    assert services.request_sync(todoist.pk, trigger=SyncJob.Trigger.SCHEDULE) is not None


@pytest.mark.parametrize("trigger", services.AUTOMATIC)
def test_automatic_syncs_wait_while_the_new_projects_preview_waits(synced, same_report, trigger):
    todoist, _ = synced
    tick_work(todoist)
    run(SyncJob.objects.get(dry_run=True))

    assert services.request_sync(todoist.pk, trigger=trigger) is None
    assert not SyncJob.objects.filter(dry_run=False, status="queued").exists()
    # the person's own "Sync now" goes ahead, and its sync ends the wait
    job = services.request_sync(todoist.pk, trigger=SyncJob.Trigger.USER)
    run(job)
    assert services.request_sync(todoist.pk, trigger=trigger) is not None


def test_a_project_ticked_with_nothing_in_dayflow_to_match_syncs_as_before(synced):
    todoist, _ = synced
    link = tick_work(todoist)

    assert todoist.first_sync is None
    assert not SyncJob.objects.filter(dry_run=True).exists()
    assert link.first_synced_at is None  # until a sync goes through it
    assert services.request_sync(todoist.pk, trigger=SyncJob.Trigger.SCHEDULE) is not None


def test_a_preview_made_before_the_project_was_ticked_holds_nothing(user, synced):
    todoist, _ = synced
    run(services.preview_sync(todoist.pk))  # the card's "Preview", never confirmed
    tick_work(todoist)  # nothing of DayFlow's to match: no preview of its own

    assert not services.awaits_first_confirmation(todoist)
    assert services.request_sync(todoist.pk, trigger=SyncJob.Trigger.WEBHOOK) is not None


def test_a_preview_marks_no_link_synced_and_a_real_sync_marks_those_it_went_through(
    synced, same_report
):
    todoist, _ = synced
    (home,) = todoist.sync_links.all()
    assert home.first_synced_at is not None  # the connection's first sync went through it
    work = tick_work(todoist)

    run(SyncJob.objects.get(dry_run=True))
    work.refresh_from_db()
    assert work.first_synced_at is None
    run(services.request_sync(todoist.pk, trigger=SyncJob.Trigger.USER))
    work.refresh_from_db()
    assert work.first_synced_at is not None


def test_reconnecting_makes_the_links_again_without_a_preview(synced, same_report):
    todoist, _ = synced
    set_status(todoist, Connection.Status.DISCONNECTED)
    assert not todoist.sync_links.exists()

    set_status(todoist, Connection.Status.CONNECTED)

    assert todoist.sync_links.exists()
    assert not SyncJob.objects.filter(dry_run=True).exists()


def test_a_connection_that_never_synced_waits_on_its_own_first_preview_as_before(user):
    todoist = connect(user, "todoist", "one", project_id="p-home")
    Task.objects.create(user=user, title="Quarterly report")
    first = services.first_sync(todoist.pk)
    assert first.dry_run

    tick_work(todoist)  # before its first sync: no second preview

    assert list(SyncJob.objects.values_list("pk", flat=True)) == [first.pk]
    assert services.awaits_first_confirmation(todoist)
    assert services.request_sync(todoist.pk, trigger=SyncJob.Trigger.SCHEDULE) is None


def test_setting_a_synced_connection_up_again_queues_one_preview(user, synced):
    todoist, _ = synced
    Task.objects.create(user=user, title="Quarterly report")
    todoist.field_mapping = {}  # it needs setup again: its links go
    todoist.save()

    saved = save_settings(todoist, field_mapping={"project_id": "p-work"})

    assert saved.first_sync == SyncJob.objects.get(dry_run=True)


def test_the_dashboard_says_the_new_projects_first_sync_waits_for_the_person(
    client, user, synced, same_report
):
    todoist, _ = synced
    tick_work(todoist)
    preview = run(SyncJob.objects.get(dry_run=True))
    client.force_login(user)

    page = client.get("/integrations/").content.decode()
    assert f'<a href="/sync/jobs/{preview.pk}/">When you confirm its first sync</a>' in page

    run(services.request_sync(todoist.pk, trigger=SyncJob.Trigger.USER))
    assert "When you confirm its first sync" not in client.get("/integrations/").content.decode()


def test_a_settings_save_keeps_what_a_sync_wrote_after_the_form_loaded_the_row(synced):
    todoist, _ = synced
    finished = todoist.last_sync_at + dt.timedelta(minutes=5)
    # A sync finishes (and fails) between the page loading the row and saving the form.
    Connection.objects.filter(pk=todoist.pk).update(last_sync_at=finished, last_error="timed out")

    save_settings(todoist, sync_interval=30)

    todoist.refresh_from_db()
    assert (todoist.sync_interval, todoist.last_sync_at) == (30, finished)
    assert todoist.last_error == "timed out"
