"""Property: random edits on both sides with syncs in between converge, lose nothing the
strategy does not say, journal every loser, and a sync after a sync changes nothing."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dayflow.models import Task
from sync import engine
from sync.models import Conflict, ItemLink, JournalEntry, SyncCursor, SyncJob
from tests.sync.conftest import task_fields
from tests.sync.fakes import FakeProvider, FakeService

pytestmark = pytest.mark.django_db

OPERATIONS = st.one_of(
    st.tuples(st.sampled_from(["local_add", "remote_add", "sync"])),
    st.tuples(
        st.sampled_from(["local_edit", "remote_edit", "local_delete", "remote_delete"]),
        st.integers(min_value=0, max_value=7),
        st.sampled_from(["title", "notes", "priority"]),
    ),
)


class World:
    """Both sides of one connection, driven by the operations hypothesis draws."""

    def __init__(self, connection, use_provider) -> None:
        self.connection = connection
        self.remote = FakeService(page_size=3)
        use_provider(lambda c: FakeProvider(c, self.remote))
        self.names = itertools.count()
        self.seen: set[str] = set()  # every value either side held when a sync looked

    def value(self, field: str):
        return next(self.names) % 5 if field == "priority" else f"{field}-{next(self.names)}"

    def do(self, operation: tuple) -> None:
        name, *args = operation
        getattr(self, name)(*args)

    def local_add(self) -> None:
        Task.objects.create(user=self.connection.user, title=f"title-{next(self.names)}")

    def remote_add(self) -> None:
        self.remote.add(**task_fields(f"title-{next(self.names)}"))

    def _local(self, index: int) -> Task | None:
        tasks = list(Task.objects.order_by("pk"))
        return tasks[index % len(tasks)] if tasks else None

    def _remote(self, index: int) -> str | None:
        ids = sorted(self.remote.items)
        return ids[index % len(ids)] if ids else None

    def local_edit(self, index: int, field: str) -> None:
        task = self._local(index)
        if task is not None:
            setattr(task, field, self.value(field))
            task.save()

    def remote_edit(self, index: int, field: str) -> None:
        remote_id = self._remote(index)
        if remote_id is not None:
            self.remote.edit(remote_id, **{field: self.value(field)})

    def local_delete(self, index: int, _field: str) -> None:
        task = self._local(index)
        if task is not None:
            task.soft_delete()

    def remote_delete(self, index: int, _field: str) -> None:
        remote_id = self._remote(index)
        if remote_id is not None:
            self.remote.remove(remote_id)

    def sync(self) -> SyncJob:
        self.seen |= {t.title for t in Task.objects.all()}
        self.seen |= {s.fields["title"] for s in self.remote.items.values()}
        # Deletions are confirmed up front: the mass-deletion guard has its own tests.
        job = SyncJob.objects.create(connection=self.connection, confirmed=True)
        engine.run_job(job.pk)
        job.refresh_from_db()
        assert job.status == SyncJob.Status.SUCCEEDED, job.error
        return job

    def recoverable_titles(self) -> set[str]:
        titles = set(Task.all_objects.values_list("title", flat=True))
        titles |= {s.fields["title"] for s in self.remote.items.values()}
        for before, after in JournalEntry.objects.values_list("before", "after"):
            titles |= {v["title"] for v in (before, after) if v and "title" in v}
        for local, remote in Conflict.objects.values_list("local", "remote"):
            titles |= {v["title"] for v in (local, remote) if v}
        return titles


def reset() -> None:
    for model in (JournalEntry, Conflict, ItemLink, SyncCursor, SyncJob):
        model.objects.all().delete()
    Task.all_objects.all().delete()


@pytest.mark.parametrize("strategy", ["latest", "source", "merge", "manual"])
def test_random_edits_converge_without_losing_anything(
    connection, strategy, settings_override, use_provider
):
    connection.conflict_resolution = strategy
    connection.save()

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(OPERATIONS, min_size=1, max_size=25))
    def check(operations):
        reset()
        world = World(connection, use_provider)
        for operation in operations:
            world.do(operation)
        world.sync()
        writes = world.remote.writes()
        versions = dict(Task.all_objects.values_list("pk", "version"))

        again = world.sync()

        # A sync right after a sync changes nothing on either side.
        assert world.remote.writes() == writes
        assert dict(Task.all_objects.values_list("pk", "version")) == versions
        assert not JournalEntry.objects.filter(job=again).exists()
        # Both sides hold the same items, except those waiting in an open conflict: they are
        # frozen until the user resolves it, even if one side deletes them meanwhile.
        links = {link.remote_id: link for link in ItemLink.objects.select_related("task")}
        conflicted = set(Conflict.objects.filter(status="open").values_list("link_id", flat=True))
        if strategy in ("latest", "source"):
            assert not conflicted
        waiting = {rid: link for rid, link in links.items() if link.pk in conflicted}
        settled = {rid: link for rid, link in links.items() if link.pk not in conflicted}
        assert set(settled) == set(world.remote.items) - set(waiting)
        assert {link.task_id for link in settled.values()} == set(
            Task.objects.values_list("pk", flat=True)
        ) - {link.task_id for link in waiting.values()}
        for remote_id, link in settled.items():
            remote_fields = world.remote.items[remote_id].fields
            local = link.task
            assert (local.title, local.notes, local.priority) == (
                remote_fields["title"],
                remote_fields["notes"],
                remote_fields["priority"],
            )
        # Nothing a sync saw is lost: it is on a side, in the journal, or in a conflict.
        assert world.seen <= world.recoverable_titles()

    check()


@pytest.fixture
def settings_override(settings):
    settings.DAYFLOW_SYNC_MASS_DELETE_MIN = 10**6  # the guard has its own tests
    settings.DAYFLOW_SYNC_BATCH = 4
