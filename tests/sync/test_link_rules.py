"""Rules and a deletion policy per sync link: one container of a connection keeps only open
tasks, or never deletes, while the connection's other containers follow the connection's
settings (`SyncLink.sync_rules`, `.deletion_policy`, read through `sync.links.LinkSettings`)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from dayflow.models import Task, TaskList
from integrations.models import Connection
from sync import links
from sync.engine import phases
from sync.models import ItemLink, SyncCursor, SyncJob, SyncLink
from tests.sync.conftest import task_fields
from tests.sync.test_sync_links import ContainerFake, connect, fake_service, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def projects(user, use_provider):
    """One Todoist connection syncing Home (the Inbox's) and Work (the DayFlow list Work's)."""
    todoist = connect(user, "todoist", "one", project_id=["p-home", "p-work"])
    work = TaskList.objects.create(user=user, name="Work")
    links.set_destination(user.pk, "task", work, todoist.sync_links.get(collection="p-work"))
    remote = fake_service()
    use_provider(lambda connection: ContainerFake(connection, remote))
    return todoist, work, remote


def add_in(remote, container: str, title: str, **fields) -> str:
    remote_id = remote.add(**task_fields(title, **fields))
    remote.containers[remote_id] = container
    return remote_id


def work_link(connection: Connection) -> SyncLink:
    return connection.sync_links.get(collection="p-work")


def set_link(link: SyncLink, **values) -> None:
    for name, value in values.items():
        setattr(link, name, value)
    link.full_clean()
    link.save()


def test_a_containers_own_rules_apply_to_it_alone(user, projects):
    todoist, work, remote = projects
    set_link(work_link(todoist), sync_rules={"task": {"status": "open"}})
    add_in(remote, "p-home", "done at home", status="done")
    add_in(remote, "p-work", "done at work", status="done")
    add_in(remote, "p-work", "open at work")
    Task.objects.create(user=user, title="done here, Inbox", status="done")
    Task.objects.create(user=user, title="done here, Work", status="done", task_list=work)

    job = sync(todoist, SyncJob.Kind.FULL)

    assert set(Task.objects.values_list("title", flat=True)) == {
        "done at home",
        "open at work",
        "done here, Inbox",
        "done here, Work",
    }
    created = {
        stored.fields["title"]: remote.containers.get(remote_id)
        for remote_id, stored in remote.items.items()
    }
    assert created["done here, Inbox"] == "p-home"  # Home has no rules: it goes
    assert "done here, Work" not in created  # Work keeps open tasks only: it stays here
    assert job.report["rules"] == {"left_out": 2, "unlinked": 0}


def test_completing_a_task_in_a_filtered_container_lets_it_go_there_only(user, projects):
    todoist, _, remote = projects
    home_id = add_in(remote, "p-home", "home chore")
    work_id = add_in(remote, "p-work", "work chore")
    sync(todoist, SyncJob.Kind.FULL)
    set_link(work_link(todoist), sync_rules={"task": {"status": "open"}})

    remote.edit(home_id, status="done")
    remote.edit(work_id, status="done")
    job = sync(todoist)

    assert set(Task.objects.filter(status="done").values_list("title", flat=True)) == {
        "home chore",
        "work chore",  # the edit that made it stop matching still arrives, then it is let go
    }
    assert list(ItemLink.objects.values_list("remote_id", flat=True)) == [home_id]
    assert (work_id in remote.items, job.local_deleted, job.remote_deleted) == (True, 0, 0)


def test_a_containers_own_deletion_policy_keeps_its_copies(user, projects):
    todoist, _, remote = projects
    set_link(work_link(todoist), deletion_policy="unlink")  # the connection propagates
    home_id = add_in(remote, "p-home", "home chore")
    work_id = add_in(remote, "p-work", "work chore")
    sync(todoist, SyncJob.Kind.FULL)

    remote.remove(home_id)
    remote.remove(work_id)
    job = sync(todoist)

    assert list(Task.objects.values_list("title", flat=True)) == ["work chore"]
    assert job.local_deleted == 1
    kept = ItemLink.objects.get(remote_id=work_id)
    assert kept.deletion_pending == "unlinked"


def test_ask_on_one_container_puts_its_deletions_on_the_review_page(user, projects, client):
    todoist, work, remote = projects
    set_link(work_link(todoist), deletion_policy="ask")
    Task.objects.create(user=user, title="work chore", task_list=work)
    sync(todoist, SyncJob.Kind.FULL)

    Task.objects.get(title="work chore").soft_delete()
    sync(todoist)

    assert [stored.fields["title"] for stored in remote.items.values()] == ["work chore"]
    assert ItemLink.objects.get().deletion_pending == "local"
    client.force_login(user)
    page = client.get(f"/sync/connections/{todoist.pk}/deletions/").content.decode()
    assert "work chore" in page
    assert "This connection's settings say" not in page  # one of its containers asks


def test_a_link_without_its_own_settings_follows_the_connection(user, projects):
    todoist, _, _ = projects
    todoist.sync_rules = {"task": {"status": "open"}}
    todoist.deletion_policy = "ask"
    todoist.save()
    settings = links.LinkSettings(todoist)
    set_link(work_link(todoist), deletion_policy="unlink", sync_rules={})
    mine = links.LinkSettings(todoist)

    assert (settings.rules("task", "p-work"), settings.policy("task", "p-work")) == (
        {"task": {"status": "open"}},
        "ask",
    )
    assert (mine.rules("task", "p-work"), mine.policy("task", "p-work")) == ({}, "unlink")
    assert (mine.rules("task", "p-home"), mine.policy("task", "p-home")) == (
        {"task": {"status": "open"}},
        "ask",
    )


def test_new_rules_on_a_link_make_the_next_sync_list_everything(user, projects):
    todoist, _, remote = projects
    add_in(remote, "p-work", "work chore")
    sync(todoist, SyncJob.Kind.FULL)
    cursor = SyncCursor.objects.get(connection=todoist)
    assert cursor.value

    set_link(work_link(todoist), sync_rules={"task": {"due_within_days": 7}})

    cursor.refresh_from_db()
    assert (cursor.value, cursor.local_watermark) == ("", None)


def test_link_rules_changed_during_a_sync_leave_the_next_one_listing_everything(
    user, projects, monkeypatch
):
    todoist, _, remote = projects
    add_in(remote, "p-work", "work chore")
    sync(todoist, SyncJob.Kind.FULL)
    real_plan = phases.plan

    def plan_then_change_the_rules(run, pulled, watermark):
        pairs = real_plan(run, pulled, watermark)
        # The person saves the link's new rules while this run writes.
        set_link(work_link(todoist), sync_rules={"task": {"tags": ["x"]}})
        return pairs

    monkeypatch.setattr(phases, "plan", plan_then_change_the_rules)
    sync(todoist)

    cursor = SyncCursor.objects.get(connection=todoist)
    assert (cursor.value, cursor.local_watermark) == ("", None)


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ({"event": {"past_days": 3}}, "not a kind of item this service syncs"),
        ({"task": {"color": "red"}}, "unknown rule"),
        ({"task": {"due_within_days": 10**9}}, "from 0 to 3650 days"),
        ({"task": {"tags": ["x" * 101]}}, "1 to 100 characters"),
        ([1, 2], "must be an object"),
    ],
)
def test_a_links_rules_are_checked_as_the_connections(user, projects, rules, problem):
    todoist, _, _ = projects
    link = work_link(todoist)
    link.sync_rules = rules
    with pytest.raises(ValidationError) as refused:
        link.full_clean()
    assert problem in str(refused.value)


def test_an_unknown_deletion_policy_is_refused(user, projects):
    link = work_link(projects[0])
    link.deletion_policy = "shred"
    with pytest.raises(ValidationError):
        link.full_clean()
