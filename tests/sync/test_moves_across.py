"""A DayFlow item the person moves to a list whose new items go to another connection: that
connection takes it (creates it at its service) and the one that held it lets go of its copy,
deleting it where the deletion policy propagates and nobody changed it there meanwhile
(`ItemLink.handover_to`, `decisions.hand_over`). Journaled as a move. Only a person's move does
this: an item edited in a list it already was in stays with the service that holds it."""

from __future__ import annotations

import pytest

from dayflow.models import Task, TaskList
from sync import decisions, deletions, links, services
from sync.decisions import Handover
from sync.models import ItemLink, JournalEntry, SyncJob
from tests.sync.test_sync_links import sync, task_link, two_services  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def home_and_work(user, two_services):  # noqa: F811 (the fixture)
    """Todoist takes the Inbox's new tasks; Linear takes the list Work's."""
    todoist, linear, remotes = two_services
    work = TaskList.objects.create(user=user, name="Work")
    links.set_destination(user.pk, "task", work, task_link(linear))
    return todoist, linear, remotes, work


def titles(remote) -> list[str]:
    return sorted(stored.fields["title"] for stored in remote.items.values())


def synced_at_todoist(user, todoist, title: str = "Write the report") -> Task:
    task = Task.objects.create(user=user, title=title)
    sync(todoist, SyncJob.Kind.FULL)
    return Task.objects.get(pk=task.pk)  # as a page loads it


@pytest.mark.parametrize(
    ("policy", "remote_changed", "remote_gone", "expected"),
    [
        ("propagate", False, False, Handover.DELETE),
        ("propagate", True, False, Handover.UNLINK),  # an edit there is never thrown away
        ("propagate", False, True, Handover.UNLINK),  # nothing left to delete
        ("unlink", False, False, Handover.UNLINK),
        ("unlink", True, False, Handover.UNLINK),
        ("ask", False, False, Handover.ASK),
        ("ask", True, False, Handover.UNLINK),  # an edit there is never thrown away
        ("ask", False, True, Handover.UNLINK),
        ("ask", True, True, Handover.UNLINK),
    ],
)
def test_what_the_holder_does_with_its_copy(policy, remote_changed, remote_gone, expected):
    found = decisions.hand_over(
        policy=policy, remote_changed=remote_changed, remote_gone=remote_gone
    )
    assert found is expected


def test_a_task_moved_to_a_list_of_another_service_moves_there(user, home_and_work):
    todoist, linear, remotes, work = home_and_work
    task = synced_at_todoist(user, todoist)
    assert titles(remotes[todoist.pk]) == ["Write the report"]

    task.task_list = work
    task.save()
    assert ItemLink.objects.get(task=task).handover_to_id == linear.pk
    taken = sync(linear)
    let_go = sync(todoist)

    assert titles(remotes[linear.pk]) == ["Write the report"]
    assert titles(remotes[todoist.pk]) == []
    assert list(ItemLink.objects.filter(task=task).values_list("connection_id", flat=True)) == [
        linear.pk
    ]
    assert (taken.remote_created, let_go.remote_deleted) == (1, 1)
    move = JournalEntry.objects.get(job=let_go)
    assert (move.op, move.before, move.after) == (
        "move",
        {"list": "p-home"},
        {"list": str(linear)},
    )
    task.refresh_from_db()
    assert (task.is_deleted, task.task_list_id) == (False, work.pk)
    # Settled: later runs of either write nothing more.
    assert sync(todoist).processed == sync(linear).processed == 0
    assert remotes[linear.pk].calls["create"] == 1


def test_the_holder_may_let_go_first(user, home_and_work):
    todoist, linear, remotes, work = home_and_work
    task = synced_at_todoist(user, todoist)
    task.task_list = work
    task.save()

    sync(todoist)
    sync(linear)

    assert (titles(remotes[todoist.pk]), titles(remotes[linear.pk])) == ([], ["Write the report"])
    assert ItemLink.objects.get(task=task).connection_id == linear.pk


def test_under_unlink_only_the_old_copy_stays_at_its_service(user, home_and_work):
    todoist, linear, remotes, work = home_and_work
    todoist.deletion_policy = "unlink"
    todoist.save()
    task = synced_at_todoist(user, todoist)
    task.task_list = work
    task.save()

    sync(linear)
    job = sync(todoist)

    assert titles(remotes[todoist.pk]) == titles(remotes[linear.pk]) == ["Write the report"]
    assert job.remote_deleted == 0
    assert ItemLink.objects.get(task=task, handover_to=None).connection_id == linear.pk
    # The copy left at Todoist is not brought back into DayFlow, even by a full listing.
    again = sync(todoist, SyncJob.Kind.FULL)
    assert again.local_created == 0
    assert Task.objects.filter(title="Write the report").count() == 1


def test_an_edit_at_the_old_service_since_keeps_its_copy(user, home_and_work):
    todoist, _, remotes, work = home_and_work
    task = synced_at_todoist(user, todoist)
    remote_id = ItemLink.objects.get(task=task).remote_id
    task.task_list = work
    task.save()
    remotes[todoist.pk].edit(remote_id, notes="added at Todoist meanwhile")

    job = sync(todoist)

    assert remote_id in remotes[todoist.pk].items
    assert job.remote_deleted == 0
    # Kept apart: the engine leaves the copy alone, neither synced nor imported again.
    assert ItemLink.objects.get(task=task, connection=todoist).deletion_pending == "unlinked"


def test_an_item_edited_where_it_is_stays_with_the_service_holding_it(
    user,
    two_services,  # noqa: F811 (the fixture)
):
    todoist, linear, remotes = two_services
    # Tasks Linear brings in land in the Inbox, whose new tasks go to Todoist.
    remotes[linear.pk].add("task", title="Fix the login bug")
    sync(linear, SyncJob.Kind.FULL)
    task = Task.objects.get(title="Fix the login bug")
    assert task.task_list_id is None

    task.notes = "edited in DayFlow"
    task.save()
    sync(todoist)
    sync(linear)

    assert titles(remotes[todoist.pk]) == []  # never copied to Todoist
    assert ItemLink.objects.get(task=task).connection_id == linear.pk


def test_a_list_without_destination_or_a_move_back_keeps_it_where_it_is(user, home_and_work):
    todoist, linear, remotes, work = home_and_work
    someday = TaskList.objects.create(user=user, name="Someday")
    task = synced_at_todoist(user, todoist)

    task.task_list = work
    task.save()
    task.task_list = None  # back to the Inbox before any sync
    task.save()
    assert ItemLink.objects.get(task=task).handover_to_id is None
    task.task_list = someday  # a list that keeps its new items in DayFlow
    task.save()
    sync(linear)
    sync(todoist)

    assert titles(remotes[todoist.pk]) == ["Write the report"]
    assert titles(remotes[linear.pk]) == []
    assert ItemLink.objects.get(task=task).handover_to_id is None


def test_a_move_wakes_the_holder_and_the_taker(user, home_and_work, settings, monkeypatch):
    todoist, linear, _, work = home_and_work
    task = synced_at_todoist(user, todoist)
    settings.DAYFLOW_SYNC_LOCAL_DELAY = 1.0
    asked: list[int] = []
    monkeypatch.setattr(services, "request_sync", lambda pk, **kwargs: asked.append(pk))

    task.task_list = work
    task.save()
    services.sync_local_change("task", task.pk, user.pk, task.version, work.pk)

    assert sorted(asked) == sorted([todoist.pk, linear.pk])


def test_saving_other_fields_only_is_no_move(user, home_and_work):
    todoist, _, _, work = home_and_work
    task = synced_at_todoist(user, todoist)

    task.task_list = work  # changed in memory, but only the title is saved
    task.title = "Renamed"
    task.save(update_fields=["title"])

    assert ItemLink.objects.get(task=task).handover_to_id is None


def test_under_ask_the_person_deletes_or_keeps_the_old_copy(user, home_and_work, client):
    todoist, linear, remotes, work = home_and_work
    todoist.deletion_policy = "ask"
    todoist.save()
    kept = synced_at_todoist(user, todoist, "Keep me at Todoist")
    gone = synced_at_todoist(user, todoist, "Delete me at Todoist")
    for task in (kept, gone):
        task.task_list = work
        task.save()
    sync(linear)
    job = sync(todoist)

    assert job.remote_deleted == 0
    assert titles(remotes[todoist.pk]) == ["Delete me at Todoist", "Keep me at Todoist"]
    waiting = {deletions.title_of(link): link for link in deletions.waiting(todoist)}
    assert set(waiting) == {"Keep me at Todoist", "Delete me at Todoist"}
    client.force_login(user)
    page = client.get(f"/sync/connections/{todoist.pk}/deletions/").content.decode()
    assert "Moved in DayFlow to a list that syncs with Linear" in page
    assert "deletes the copy at Todoist" in page
    api = client.get(f"/api/connections/{todoist.pk}/deletions").json()
    assert {row["deleted_on"] for row in api["results"]} == {"moved"}

    deletions.settle(todoist, "confirm", waiting["Delete me at Todoist"].pk)
    deletions.settle(todoist, "restore", waiting["Keep me at Todoist"].pk)

    assert titles(remotes[todoist.pk]) == ["Keep me at Todoist"]
    assert not deletions.waiting(todoist).exists()
    move = JournalEntry.objects.get(connection=todoist, op="move", job=None)
    assert move.after == {"list": str(linear)}
    # Neither comes back into DayFlow as a second item, nor goes back to Todoist.
    again = sync(todoist, SyncJob.Kind.FULL)
    assert (again.local_created, again.remote_created, again.remote_deleted) == (0, 0, 0)
    assert Task.objects.filter(title__startswith="Keep me").count() == 1
    assert titles(remotes[linear.pk]) == ["Delete me at Todoist", "Keep me at Todoist"]


@pytest.mark.parametrize("policy", ["ask", "unlink"])
def test_an_item_moved_back_pairs_with_the_copy_its_old_service_kept(user, home_and_work, policy):
    todoist, linear, remotes, work = home_and_work
    todoist.deletion_policy = policy
    todoist.save()
    task = synced_at_todoist(user, todoist)
    task.task_list = work
    task.save()
    sync(linear)
    sync(todoist)  # keeps its copy apart ("unlink") or asks the person ("ask")
    assert ItemLink.objects.get(task=task, connection=todoist).deletion_pending

    task.task_list = None  # back to the Inbox, whose new tasks go to Todoist
    task.title = "Write the final report"
    task.save()
    sync(todoist)
    sync(linear)

    back = ItemLink.objects.get(task=task, connection=todoist)
    assert (back.deletion_pending, back.handover_to_id) == ("", None)
    assert titles(remotes[todoist.pk]) == ["Write the final report"]  # the one copy, edited
    assert titles(remotes[linear.pk]) == []  # Linear let go of its copy in turn
    assert not deletions.waiting(todoist).exists()
    again = sync(todoist, SyncJob.Kind.FULL)
    assert (again.local_created, again.remote_created) == (0, 0)
    assert Task.objects.filter(title__startswith="Write the").count() == 1
