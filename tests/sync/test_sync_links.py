"""Sync links: one per container a connection syncs, following its settings; the DayFlow list
or calendar each feeds; and where a list's new items go (its destination), in the engine."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from dayflow.models import Calendar, Event, Task, TaskList
from integrations.models import Connection, Service
from integrations.providers.errors import PreconditionFailed
from sync import engine, links, services
from sync.models import ItemLink, JournalEntry, SyncJob, SyncLink
from tests.sync.fakes import FakeProvider, FakeService

pytestmark = pytest.mark.django_db


class ContainerFake(FakeProvider):
    """The fake service, remembering the container each create was asked for and putting
    it on the items it returns."""

    def create(self, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = "") -> Any:
        item = super().create(fields, dayflow_id=dayflow_id, collection=collection)
        self.service.containers[item.remote_id] = collection
        return dataclasses.replace(item, collection=collection)

    def _item(self, remote_id: str) -> Any:
        item = super()._item(remote_id)
        return dataclasses.replace(item, collection=self.service.containers.get(remote_id, ""))


class MovingFake(ContainerFake):
    """A service that moves items between containers, keeping their ids."""

    supports_move = True

    def move(self, remote_id: str, collection: str, version: str = "") -> Any:
        self._call("move")
        if version and version != str(self.service.items[remote_id].version):
            raise PreconditionFailed("changed", status=412, service="fake")
        self.service.containers[remote_id] = collection
        self.service.edit(remote_id)  # a new version, in the change feed
        return self._item(remote_id)


def fake_service() -> FakeService:
    service = FakeService()
    service.containers = {}
    return service


def connect(user, key: str, account: str, **mapping: Any) -> Connection:
    return Connection.objects.create(
        user=user,
        service=Service.objects.get(key=key),
        external_account_id=account,
        label=f"{key} account",
        field_mapping=mapping,
    )


@pytest.fixture
def two_services(user, use_provider):
    """Todoist for home (project p-home) and Linear for work (team t-work), each a fake."""
    todoist = connect(user, "todoist", "home", project_id="p-home")
    linear = connect(user, "linear", "work", team_id="t-work")
    remotes = {todoist.pk: fake_service(), linear.pk: fake_service()}
    use_provider(lambda connection: ContainerFake(connection, remotes[connection.pk]))
    return todoist, linear, remotes


def sync(connection: Connection, kind: str = SyncJob.Kind.INCREMENTAL) -> SyncJob:
    job = SyncJob.objects.create(connection=connection, kind=kind)
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == SyncJob.Status.SUCCEEDED, job.error
    return job


def task_link(connection: Connection) -> SyncLink:
    return connection.sync_links.get(item_type="task")


# --- links follow the connection's settings ------------------------------------------------------
def test_each_picked_container_gets_a_link_and_the_first_takes_the_inbox(user):
    todoist = connect(user, "todoist", "home", project_id="p-home")
    linear = connect(user, "linear", "work", team_id="t-work")

    assert [(link.item_type, link.collection) for link in todoist.sync_links.all()] == [
        ("task", "p-home")
    ]
    assert task_link(todoist).is_destination  # the Inbox's new tasks go to the first
    assert not task_link(linear).is_destination
    assert task_link(linear).dayflow_words == "Inbox"


def test_a_connection_that_needs_setup_has_no_link_until_its_container_is_picked(user):
    todoist = connect(user, "todoist", "home")
    assert not todoist.sync_links.exists()

    todoist.field_mapping = {"project_id": "p-1"}
    todoist.save()
    assert task_link(todoist).collection == "p-1"

    todoist.field_mapping = {"project_id": "p-2"}
    todoist.save()
    assert [link.collection for link in todoist.sync_links.all()] == ["p-2"]
    assert task_link(todoist).is_destination  # the new one takes the Inbox again


def test_calendars_get_a_link_each_and_caldav_to_dos_only_when_asked(user):
    google = connect(user, "google-calendar", "g", calendars=["work@x", "home@x"])
    assert sorted(google.sync_links.values_list("collection", "is_destination")) == [
        ("home@x", False),
        ("work@x", True),
    ]
    fastmail = connect(user, "fastmail", "f", calendars=["https://dav.example/c/"])
    assert list(fastmail.sync_links.values_list("item_type", flat=True)) == ["event"]

    fastmail.field_mapping = {"calendars": ["https://dav.example/c/"], "sync_todos": True}
    fastmail.save()
    assert sorted(fastmail.sync_links.values_list("item_type", flat=True)) == ["event", "task"]


def test_a_calendar_service_with_nothing_picked_syncs_its_default(user):
    outlook = connect(user, "outlook", "o")
    link = outlook.sync_links.get()
    assert (link.collection, link.container_words) == ("", "your default calendar")


def test_turning_tasks_off_or_disconnecting_drops_the_links(user):
    todoist = connect(user, "todoist", "home", project_id="p-home")
    todoist.sync_tasks = False
    todoist.save()
    assert not todoist.sync_links.exists()

    todoist.sync_tasks = True
    todoist.save()
    todoist.status = Connection.Status.DISCONNECTED
    todoist.save(update_fields=["status"])
    assert not todoist.sync_links.exists()


# --- destinations ---------------------------------------------------------------------------
def test_a_list_has_at_most_one_destination_and_choosing_another_moves_it(user, two_services):
    todoist, linear, _ = two_services
    work = TaskList.objects.create(user=user, name="Work")

    links.set_destination(user.pk, "task", work, task_link(linear))
    links.set_destination(user.pk, "task", work, task_link(todoist))

    destinations = links.destination_map(user.pk, "task")
    assert destinations[work.pk].connection_id == todoist.pk
    assert None not in destinations  # the Inbox lost Todoist to Work: its tasks stay local


def test_stay_in_dayflow_for_the_inbox_holds_when_a_service_is_connected_later(user):
    todoist = connect(user, "todoist", "home", project_id="p-home")
    links.set_destination(user.pk, "task", None, None)  # the person: "Stay in DayFlow"
    linear = connect(user, "linear", "work", team_id="t-work")
    todoist.field_mapping = {"project_id": "p-other"}  # a new container, a new link
    todoist.save()
    google = connect(user, "google-calendar", "g", calendars=["work@x"])

    assert links.destination_map(user.pk, "task") == {}
    assert not task_link(linear).is_destination
    assert not task_link(todoist).is_destination
    assert google.sync_links.get().is_destination  # events: nothing was said about them

    links.choose(task_link(todoist), is_destination=True)  # a destination chosen again
    todoist.status = Connection.Status.DISCONNECTED
    todoist.save(update_fields=["status"])
    again = connect(user, "todoist", "home-again", project_id="p-home")
    assert task_link(again).is_destination  # the Inbox was the service's, not kept local


def test_another_persons_list_or_the_wrong_kind_is_refused(user, other_user, two_services):
    todoist, _, _ = two_services
    theirs = TaskList.objects.create(user=other_user, name="Theirs")
    calendar = Calendar.objects.create(user=user, name="Family")

    with pytest.raises(links.LinkRefused):
        links.set_destination(user.pk, "task", theirs, task_link(todoist))
    with pytest.raises(links.LinkRefused):
        links.feed_into(task_link(todoist), calendar)
    with pytest.raises(links.LinkRefused):
        links.set_destination(other_user.pk, "task", None, task_link(todoist))
    assert task_link(todoist).task_list_id is None


def test_deleting_a_destination_list_leaves_its_tasks_in_the_inbox_and_local(user, two_services):
    todoist, linear, _ = two_services
    home = TaskList.objects.create(user=user, name="Home")
    links.set_destination(user.pk, "task", home, task_link(linear))  # Todoist keeps the Inbox
    task = Task.objects.create(user=user, title="Water plants", task_list=home)

    home.delete()

    task.refresh_from_db()
    assert task.task_list_id is None
    assert not task_link(linear).is_destination
    assert links.destination_map(user.pk, "task")[None].connection_id == todoist.pk


def test_deleting_every_list_at_once_keeps_the_links_without_destinations(user, two_services):
    todoist, linear, _ = two_services
    home = TaskList.objects.create(user=user, name="Home")
    work = TaskList.objects.create(user=user, name="Work")
    links.set_destination(user.pk, "task", home, task_link(todoist))
    links.set_destination(user.pk, "task", work, task_link(linear))

    TaskList.objects.for_user(user).delete()  # no second destination of the Inbox

    assert not SyncLink.objects.destinations().exists()
    assert SyncLink.objects.filter(task_list__isnull=True).count() == 2


def test_erasing_a_person_removes_their_lists_and_links(user, two_services):
    from privacy.erasure import request_erasure, run

    home = TaskList.objects.create(user=user, name="Home")
    links.set_destination(user.pk, "task", home, task_link(two_services[1]))

    run(request_erasure(user))

    assert not SyncLink.objects.exists()
    assert not TaskList.objects.exists()


# --- the engine: new items go where their list says ----------------------------------------
def test_new_tasks_go_to_their_lists_destination_and_nowhere_else(user, two_services):
    todoist, linear, remotes = two_services
    home = TaskList.objects.create(user=user, name="Home")
    work = TaskList.objects.create(user=user, name="Work")
    someday = TaskList.objects.create(user=user, name="Someday")
    links.set_destination(user.pk, "task", home, task_link(todoist))
    links.set_destination(user.pk, "task", work, task_link(linear))
    Task.objects.create(user=user, title="Buy milk", task_list=home)
    Task.objects.create(user=user, title="Ship release", task_list=work)
    Task.objects.create(user=user, title="Learn the cello", task_list=someday)
    Task.objects.create(user=user, title="Call mum")  # the Inbox: no destination left

    for connection in (todoist, linear):
        sync(connection, SyncJob.Kind.FULL)
        sync(connection)  # a second run writes nothing more

    def titles(connection: Connection) -> dict[str, str]:
        remote = remotes[connection.pk]
        return {s.fields["title"]: remote.containers[rid] for rid, s in remote.items.items()}

    assert titles(todoist) == {"Buy milk": "p-home"}
    assert titles(linear) == {"Ship release": "t-work"}
    assert remotes[todoist.pk].calls["create"] == remotes[linear.pk].calls["create"] == 1
    stays = Task.objects.filter(title__in=["Learn the cello", "Call mum"])
    assert not ItemLink.objects.filter(task__in=stays).exists()
    link = ItemLink.objects.get(task__title="Ship release")
    assert (link.connection_id, link.collection) == (linear.pk, "t-work")


def test_tasks_from_a_service_land_in_the_list_its_link_feeds(user, two_services):
    todoist, linear, remotes = two_services
    work = TaskList.objects.create(user=user, name="Work")
    links.feed_into(task_link(linear), work)
    remotes[linear.pk].add("task", **{"title": "Fix the login bug"})
    remotes[todoist.pk].add("task", **{"title": "Buy bread"})

    sync(linear, SyncJob.Kind.FULL)
    sync(todoist, SyncJob.Kind.FULL)

    assert Task.objects.get(title="Fix the login bug").task_list_id == work.pk
    assert Task.objects.get(title="Buy bread").task_list_id is None
    # Each stays with its own service: neither is sent to the other.
    assert remotes[todoist.pk].calls["create"] == remotes[linear.pk].calls["create"] == 0


def test_events_follow_their_calendars_destination(user, use_provider):
    google = connect(user, "google-calendar", "g", calendars=["work@x", "home@x"])
    remote = fake_service()
    use_provider(lambda connection: ContainerFake(connection, remote))
    family = Calendar.objects.create(user=user, name="Family")
    home_link = google.sync_links.get(collection="home@x")
    links.set_destination(user.pk, "event", family, home_link)
    start = {"start": "2026-03-02T09:00:00+00:00", "end": "2026-03-02T10:00:00+00:00"}
    Event.objects.create(user=user, title="Piano lesson", calendar=family, **start)
    Event.objects.create(user=user, title="Stand-up", **start)  # My calendar: work@x

    sync(google, SyncJob.Kind.FULL)

    created = {s.fields["title"]: remote.containers[rid] for rid, s in remote.items.items()}
    assert created == {"Piano lesson": "home@x", "Stand-up": "work@x"}


def test_a_local_change_wakes_only_its_lists_destination(user, two_services, settings, monkeypatch):
    todoist, linear, _ = two_services
    work = TaskList.objects.create(user=user, name="Work")
    links.set_destination(user.pk, "task", work, task_link(linear))
    settings.DAYFLOW_SYNC_LOCAL_DELAY = 1.0
    asked: list[int] = []
    monkeypatch.setattr(services, "request_sync", lambda pk, **kwargs: asked.append(pk))

    task = Task.objects.create(user=user, title="Ship release", task_list=work)
    services.sync_local_change("task", task.pk, user.pk, task.version, work.pk)
    services.sync_local_change("task", task.pk, user.pk, task.version, None)

    assert asked == [linear.pk, todoist.pk]
    links.set_destination(user.pk, "task", None, None)
    asked.clear()
    services.sync_local_change("task", task.pk, user.pk, task.version, None)
    assert asked == []  # the Inbox keeps its new tasks: no sync to wake


# --- moves between the containers of one connection ----------------------------------------
@pytest.fixture
def two_projects(user, use_provider):
    """One Todoist connection syncing two projects: Home's (the Inbox's destination) and
    Work's, which feeds and takes the DayFlow list Work."""
    todoist = connect(user, "todoist", "one", project_id=["p-home", "p-work"])
    work = TaskList.objects.create(user=user, name="Work")
    links.set_destination(user.pk, "task", work, todoist.sync_links.get(collection="p-work"))
    remote = fake_service()
    use_provider(lambda connection: MovingFake(connection, remote))
    return todoist, work, remote


def test_deleting_a_list_is_a_new_version_of_its_tasks_and_no_write_at_the_service(
    user, two_projects
):
    todoist, work, remote = two_projects
    task = Task.objects.create(user=user, title="Book the venue", task_list=work)
    sync(todoist, SyncJob.Kind.FULL)
    remote_id = ItemLink.objects.get(task=task).remote_id
    before = Task.objects.get(pk=task.pk)

    work.delete()  # its tasks go to the Inbox; its link feeds the Inbox now

    after = Task.objects.get(pk=task.pk)
    assert after.task_list_id is None
    assert after.version == before.version + 1  # a change like any other, for API clients too
    assert after.updated_at > before.updated_at
    job = sync(todoist)
    assert (job.remote_updated, job.remote_created, job.remote_deleted) == (0, 0, 0)
    assert remote.containers[remote_id] == "p-work"  # where the link that feeds it syncs


def test_an_edit_in_the_list_its_container_feeds_is_no_move(user, two_projects):
    todoist, _, remote = two_projects
    links.feed_into(todoist.sync_links.get(collection="p-work"), None)  # both feed the Inbox
    remote_id = remote.add("task", title="Call the plumber")
    remote.containers[remote_id] = "p-work"
    sync(todoist, SyncJob.Kind.FULL)
    task = Task.objects.get(title="Call the plumber")
    assert task.task_list_id is None

    task.title = "Call the plumber today"
    task.save()
    job = sync(todoist)

    assert job.remote_updated == 1
    assert remote.containers[remote_id] == "p-work"  # not sent to the Inbox's destination
    assert not JournalEntry.objects.filter(job=job, op="move").exists()


def test_a_task_moved_to_another_list_in_dayflow_moves_at_the_service(user, two_projects):
    todoist, work, remote = two_projects
    task = Task.objects.create(user=user, title="Book the venue")
    sync(todoist, SyncJob.Kind.FULL)
    remote_id = ItemLink.objects.get(task=task).remote_id
    assert remote.containers[remote_id] == "p-home"

    task.task_list = work
    task.save()
    job = sync(todoist)

    assert remote.containers[remote_id] == "p-work"  # the same item, moved
    assert (remote.calls["move"], remote.calls["create"], remote.calls["delete"]) == (1, 1, 0)
    link = ItemLink.objects.get(task=task)
    assert (link.remote_id, link.collection) == (remote_id, "p-work")
    move = JournalEntry.objects.get(job=job)
    assert (move.op, move.side, move.before, move.after) == (
        "move",
        "remote",
        {"list": "p-home", "_container": "p-home"},
        {"list": "p-work", "_container": "p-work"},
    )
    assert sync(todoist).processed == 0  # the move came back as our own write
    assert remote.calls["move"] == 1


def test_a_task_moved_at_the_service_moves_to_that_containers_list(user, two_projects):
    todoist, work, remote = two_projects
    task = Task.objects.create(user=user, title="Book the venue")
    sync(todoist, SyncJob.Kind.FULL)
    remote_id = ItemLink.objects.get(task=task).remote_id
    version = Task.objects.get(pk=task.pk).version

    remote.containers[remote_id] = "p-work"
    remote.edit(remote_id)
    job = sync(todoist)

    task.refresh_from_db()
    assert task.task_list_id == work.pk
    assert task.version == version  # the service's change: nothing to send back
    assert ItemLink.objects.get(task=task).collection == "p-work"
    move = JournalEntry.objects.get(job=job, op="move")
    assert (move.side, move.before, move.after) == (
        "local",
        {"list": "Inbox", "_container": "p-home"},
        {"list": "Work", "_container": "p-work"},
    )
    assert sync(todoist).processed == 0
    assert remote.calls["move"] == 0


def test_a_move_the_service_did_not_version_is_still_a_move_on_a_full_listing(user, two_projects):
    # ClickUp and Notion may keep an item's version when it changes list: the full listing
    # finds it in the other container, the same item, moved, not deleted and created again.
    todoist, work, remote = two_projects
    task = Task.objects.create(user=user, title="Book the venue")
    sync(todoist, SyncJob.Kind.FULL)
    link = ItemLink.objects.get(task=task)

    remote.containers[link.remote_id] = "p-work"  # no new version, nothing in the feed
    job = sync(todoist, SyncJob.Kind.FULL)

    task.refresh_from_db()
    assert task.task_list_id == work.pk
    assert ItemLink.objects.get(task=task).collection == "p-work"
    move = JournalEntry.objects.get(job=job)
    assert (move.op, move.side, move.before, move.after) == (
        "move",
        "local",
        {"list": "Inbox", "_container": "p-home"},
        {"list": "Work", "_container": "p-work"},
    )
    assert (job.local_created, job.local_deleted, job.remote_created) == (0, 0, 0)
    assert sync(todoist, SyncJob.Kind.FULL).processed == 0


def test_a_service_that_cannot_move_keeps_the_task_where_it_is(user, use_provider):
    todoist = connect(user, "todoist", "one", project_id=["p-home", "p-work"])
    work = TaskList.objects.create(user=user, name="Work")
    links.set_destination(user.pk, "task", work, todoist.sync_links.get(collection="p-work"))
    remote = fake_service()
    use_provider(lambda connection: ContainerFake(connection, remote))  # no move
    task = Task.objects.create(user=user, title="Book the venue")
    sync(todoist, SyncJob.Kind.FULL)

    task.task_list = work
    task.save()
    sync(todoist)

    link = ItemLink.objects.get(task=task)
    assert (link.collection, remote.containers[link.remote_id]) == ("p-home", "p-home")
    assert (remote.calls["create"], remote.calls["delete"]) == (1, 0)


def test_a_move_the_service_refuses_is_the_items_error_and_tried_again(user, two_projects):
    todoist, work, remote = two_projects
    task = Task.objects.create(user=user, title="Book the venue")
    sync(todoist, SyncJob.Kind.FULL)
    task.task_list = work
    task.save()
    remote.fail_next("move", PreconditionFailed("changed", status=412, service="fake"))

    job = sync(todoist)

    link = ItemLink.objects.get(task=task)
    assert (job.errors, link.collection) == (1, "p-home")
    assert "not moved" in link.last_error
    sync(todoist)  # tried again
    link.refresh_from_db()
    assert (link.collection, link.last_error) == ("p-work", "")
    assert remote.containers[link.remote_id] == "p-work"


def test_a_container_no_id_can_be_gets_no_link_and_the_connection_still_saves(user):
    # settings saved before they were bounded: a calendar of 200,000 characters
    google = connect(user, "google-calendar", "g", calendars=["work@x"])
    Connection.objects.filter(pk=google.pk).update(
        field_mapping={"calendars": ["c" * 200_000, "home@x", "bad\nid"]}
    )
    google.refresh_from_db()

    google.status = Connection.Status.ERROR
    google.save(update_fields=["status"])  # what marking it failed does

    assert list(google.sync_links.values_list("collection", flat=True)) == ["home@x"]


# --- the list's direction (issue 18 item 4): which way moves go -----------------------------
# A move in DayFlow goes to the service only when the list goes out, a move at the service
# comes into DayFlow only when the list comes in; the link always knows where the item is.
def direct_list(connection: Connection, direction: str) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        field_directions={"task": {"list": direction}}
    )


def synced_task(user, todoist) -> tuple[Task, str]:
    task = Task.objects.create(user=user, title="Book the venue")
    sync(todoist, SyncJob.Kind.FULL)
    return task, ItemLink.objects.get(task=task).remote_id


@pytest.mark.parametrize("direction", ["from_service", "off"])
def test_a_move_in_dayflow_stays_here_when_the_list_does_not_go_out(
    user,
    two_projects,
    direction,
):
    todoist, work, remote = two_projects
    task, remote_id = synced_task(user, todoist)
    direct_list(todoist, direction)

    task.task_list = work
    task.save()
    sync(todoist)
    sync(todoist)

    assert remote.containers[remote_id] == "p-home"
    assert remote.calls["move"] == 0
    assert Task.objects.get(pk=task.pk).task_list_id == work.pk
    assert ItemLink.objects.get(task=task).collection == "p-home"
    assert not JournalEntry.objects.filter(op="move").exists()


@pytest.mark.parametrize("direction", ["to_service", "off"])
def test_a_move_at_the_service_stays_there_when_the_list_does_not_come_in(
    user,
    two_projects,
    direction,
):
    todoist, _, remote = two_projects
    task, remote_id = synced_task(user, todoist)
    direct_list(todoist, direction)

    remote.containers[remote_id] = "p-work"
    remote.edit(remote_id)
    sync(todoist)

    assert Task.objects.get(pk=task.pk).task_list_id is None  # still in the Inbox
    assert ItemLink.objects.get(task=task).collection == "p-work"  # where it is there
    assert not JournalEntry.objects.filter(op="move").exists()
    assert remote.calls["move"] == 0


def test_a_list_only_to_the_service_puts_it_back_at_dayflows_next_change(
    user,
    two_projects,
):
    todoist, _, remote = two_projects
    task, remote_id = synced_task(user, todoist)
    direct_list(todoist, "to_service")
    remote.containers[remote_id] = "p-work"
    remote.edit(remote_id)
    sync(todoist)

    task = Task.objects.get(pk=task.pk)
    task.title = "Book the venue today"
    task.save()
    sync(todoist)

    assert remote.containers[remote_id] == "p-home"  # DayFlow's list went out with the edit
    assert remote.calls["move"] == 1
    assert Task.objects.get(pk=task.pk).task_list_id is None


def test_a_list_only_from_the_service_still_follows_the_services_moves(
    user,
    two_projects,
):
    todoist, work, remote = two_projects
    task, remote_id = synced_task(user, todoist)
    direct_list(todoist, "from_service")

    remote.containers[remote_id] = "p-work"
    remote.edit(remote_id)
    sync(todoist)

    assert Task.objects.get(pk=task.pk).task_list_id == work.pk
    assert JournalEntry.objects.get(op="move").side == "local"
