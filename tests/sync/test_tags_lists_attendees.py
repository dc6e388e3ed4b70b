"""Tags sync both ways where the service carries them, and never look changed where it does
not; a task's list and an event's attendees follow the service, read-only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dayflow.models import Event, Task
from integrations.providers import provider_class
from integrations.providers.base import RemoteItem
from sync import conflicts
from sync.models import JournalEntry
from tests.sync.conftest import task_fields
from tests.sync.fakes import FakeProvider, FakeService

pytestmark = pytest.mark.django_db

ALICE = {"email": "alice@example.com", "name": "Alice", "response": "accepted"}
BOB = {"email": "bob@example.com", "name": "", "response": ""}


class TaggingProvider(FakeProvider):
    """The fake service carrying tags, and showing each item's read-only values."""

    lacks_fields = frozenset({"task.list"})

    def __init__(self, connection: Any, service: FakeService, shown: dict) -> None:
        super().__init__(connection, service)
        self.shown = shown

    def _item(self, remote_id: str) -> RemoteItem:
        item = super()._item(remote_id)
        return RemoteItem(
            **{**item.__dict__, "read_only": dict(self.shown.get(remote_id, {}))},
        )


@pytest.fixture
def shown() -> dict:
    return {}


@pytest.fixture
def tagging(use_provider, fake_provider, remote, shown) -> FakeService:
    # after `fake_provider`, which `run_sync` sets up: this provider replaces it
    use_provider(lambda connection: TaggingProvider(connection, remote, shown))
    return remote


def event_fields(title: str) -> dict:
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    return {
        "title": title,
        "description": "",
        "location": "",
        "status": "confirmed",
        "all_day": False,
        "start": start,
        "end": start + dt.timedelta(hours=1),
        "timezone": "UTC",
        "rrule": "",
        "exdates": [],
        "recurrence_id": "",
        "series_remote_id": "",
    }


def test_a_service_without_tags_never_sees_a_difference_and_a_second_run_writes_nothing(
    connection, remote, run_sync, user
):
    # given a service that carries no tags, a tagged DayFlow task and an untagged remote one
    Task.objects.create(user=user, title="local", tags=["home", "errands"])
    remote.add(**task_fields("remote"))
    run_sync()
    writes, versions = remote.writes(), dict(Task.objects.values_list("pk", "version"))

    # when DayFlow's tags change and it syncs twice
    task = Task.objects.get(title="local")
    task.tags = ["work"]
    task.save()
    run_sync()
    again = run_sync()

    # then no tag ever reached the service, nothing was written, nothing came back
    assert all("tags" not in stored.fields for stored in remote.items.values())
    assert remote.writes() == writes
    assert again.processed == 0
    assert Task.objects.get(title="local").tags == ["work"]
    assert Task.objects.get(title="remote").version == versions[Task.objects.get(title="remote").pk]


def test_tags_come_in_sorted_and_a_local_change_goes_out(connection, tagging, run_sync, user):
    # given a task tagged at the service
    remote_id = tagging.add(**task_fields("pay rent", tags=["money", "home"]))
    run_sync()
    task = Task.objects.get(title="pay rent")
    assert task.tags == ["home", "money"]

    # when DayFlow's tags change
    task.tags = ["home"]
    task.save()
    run_sync()

    # then the service holds the new tags, and a second run writes nothing
    assert tagging.items[remote_id].fields["tags"] == ["home"]
    writes = tagging.writes()
    assert run_sync().processed == 0
    assert tagging.writes() == writes


def test_a_tag_change_at_the_service_comes_in(connection, tagging, run_sync):
    remote_id = tagging.add(**task_fields("pay rent", tags=["home"]))
    run_sync()

    tagging.edit(remote_id, tags=["home", "urgent"])
    run_sync()

    assert Task.objects.get(title="pay rent").tags == ["home", "urgent"]


def test_the_list_name_follows_the_service_without_a_new_version(
    connection, tagging, shown, run_sync
):
    # given a task the service shows in its list "Home"
    remote_id = tagging.add(**task_fields("pay rent"))
    shown[remote_id] = {"list_name": "Home"}
    run_sync()
    task = Task.objects.get(title="pay rent")
    assert task.list_name == "Home"

    # when the list is renamed at the service (the item is pulled again)
    shown[remote_id] = {"list_name": "Household"}
    tagging.edit(remote_id)
    job = run_sync()

    # then the new name is shown, the task's version is unchanged and nothing went out
    task.refresh_from_db()
    assert (task.list_name, task.version) == ("Household", 1)
    assert tagging.calls["update"] == 0
    assert JournalEntry.objects.filter(job=job).count() == 0


def test_attendees_are_kept_read_only_and_refreshed_on_every_pull(
    connection, tagging, shown, run_sync
):
    # given an event with two attendees at the service
    remote_id = tagging.add("event", **event_fields("review"))
    shown[remote_id] = {"attendees": [ALICE, BOB]}
    run_sync()
    event = Event.objects.get(title="review")
    assert event.attendees == [ALICE, BOB]

    # when Bob declines at the service
    shown[remote_id] = {"attendees": [ALICE, {**BOB, "response": "declined"}]}
    tagging.edit(remote_id)
    run_sync()

    # then DayFlow shows it, without a version of its own, and nothing is sent back
    event.refresh_from_db()
    assert event.attendees[1]["response"] == "declined"
    assert event.version == 1
    assert tagging.writes() == 0
    assert "attendees" not in tagging.items[remote_id].fields


def test_read_only_values_missing_on_a_linked_item_are_filled_on_a_full_sync(
    connection, tagging, shown, run_sync
):
    # given a task synced before its service reported a list
    remote_id = tagging.add(**task_fields("pay rent"))
    run_sync()

    # when a full sync reads it with its list, unchanged otherwise
    shown[remote_id] = {"list_name": "Home"}
    run_sync(kind="full")

    # then the list is filled, and the next run changes nothing
    assert Task.objects.get(title="pay rent").list_name == "Home"
    assert run_sync(kind="full").processed == 0


WORDS = [
    ("tags", ["home", "money"], "home, money"),
    ("no tags", [], "—"),
]


@pytest.mark.parametrize(("value", "words"), [c[1:] for c in WORDS], ids=[c[0] for c in WORDS])
def test_a_conflict_on_tags_reads_as_words(value, words):
    assert conflicts.label("tags") == "Tags"
    assert conflicts.value_words("tags", value, {}, dt.UTC) == words


class NotingProvider(FakeProvider):
    def pull(self, cursor, collection=""):
        self.note("a tag was left out")
        self.note("a tag was left out")
        return super().pull(cursor, collection)


def test_what_a_provider_notes_lands_in_the_job_s_report_and_page(
    connection, use_provider, fake_provider, remote, run_sync, client, user
):
    use_provider(lambda c: NotingProvider(c, remote))

    job = run_sync()

    assert job.report["notes"] == ["a tag was left out"]
    client.force_login(user)
    assert "a tag was left out" in client.get(f"/sync/jobs/{job.pk}/").content.decode()


@pytest.mark.parametrize("key", ["todoist", "clickup", "linear"])
def test_the_services_with_labels_or_tags_carry_them_in_the_sync(key):
    """A provider whose `lacks_fields` named tags would have them dropped from every
    comparison (`Provider.lacking`): they would never travel either way. (Notion carries them
    once a tags property is mapped.)"""
    assert "task.tags" not in provider_class(key).lacks_fields
