"""`/api/conflicts`: the user's conflicts, field by field, and resolving them as the page does
(keep one side, or choose per field) through `sync.repair.resolve_conflict`."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from dayflow.models import Task
from integrations.models import Connection
from sync import engine
from sync.models import Conflict, ItemLink, SyncJob
from tests.sync.conftest import task_fields
from tests.sync.fakes import FakeProvider, FakeService

pytestmark = pytest.mark.django_db


@pytest.fixture
def remote(use_provider) -> FakeService:
    service = FakeService(page_size=50)
    use_provider(lambda connection: FakeProvider(connection, service))
    return service


@pytest.fixture
def run_sync(connection, remote):
    def run() -> SyncJob:
        job = SyncJob.objects.create(connection=connection)
        engine.run_job(job.pk)
        return job

    return run


@pytest.fixture
def conflict(connection, remote, run_sync) -> Conflict:
    """Given a task whose title changed on both sides, and whose notes changed at the service
    only (manual strategy): one open conflict."""
    remote_id = remote.add(**task_fields("t", notes="base"))
    run_sync()
    task = Task.objects.get()
    task.title = "mine"
    task.save()
    remote.edit(remote_id, title="theirs", notes="their notes")
    run_sync()
    return Conflict.objects.get(status="open")


@pytest.fixture
def theirs(other_user, service) -> Conflict:
    connection = Connection.objects.create(
        user=other_user, service=service, external_account_id="b"
    )
    link = ItemLink.objects.create(connection=connection, item_type="task", remote_id="x")
    return Conflict.objects.create(
        link=link, local={"title": "a"}, remote={"title": "b"}, fields=["title"]
    )


def remote_title(remote: FakeService) -> str:
    return next(iter(remote.items.values())).fields["title"]


def resolve(api, conflict_id: int, body):
    return api.post(f"/api/conflicts/{conflict_id}/resolve", body, format="json")


# --- reading ------------------------------------------------------------------------------
def test_a_conflict_shows_base_local_and_remote_field_by_field(api, conflict):
    response = api.get(f"/api/conflicts/{conflict.pk}")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["service"], body["item_type"]) == ("open", "todoist", "task")
    assert body["fields"] == ["title"]  # the notes changed at the service only
    rows = {row["name"]: row for row in body["comparison"]}
    assert rows["title"] == {
        "name": "title",
        "label": "Title",
        "base": "t",
        "local": "mine",
        "remote": "theirs",
        "change": "clash",
        "clash": True,
    }
    assert (rows["notes"]["change"], rows["notes"]["clash"]) == ("remote", False)
    assert (rows["notes"]["base"], rows["notes"]["local"], rows["notes"]["remote"]) == (
        "base",
        "base",
        "their notes",
    )
    assert not rows["priority"]["clash"]


def test_the_list_is_the_users_own_filtered_by_status_and_connection(
    api, conflict, theirs, connection
):
    resolved = Conflict.objects.create(
        link=conflict.link, local={}, remote={}, status="resolved", resolution="local"
    )

    def ids(query: str = "") -> list[int]:
        response = api.get(f"/api/conflicts?{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [resolved.pk, conflict.pk]
    assert ids("status=open") == [conflict.pk]
    assert ids("status=resolved") == [resolved.pk]
    assert ids(f"connection={connection.pk}&ordering=id") == [conflict.pk, resolved.pk]
    assert ids(f"connection={theirs.link.connection_id}") == []
    assert "comparison" not in api.get("/api/conflicts").json()["results"][0]


@pytest.mark.parametrize(
    "query", ["status=maybe", "connection=x", f"connection={10**30}", "created_after=soon"]
)
def test_bad_filters_are_a_400(api, query):
    assert api.get(f"/api/conflicts?{query}").status_code == 400


def test_the_list_costs_the_same_queries_for_2_or_25(api, connection):
    for n in range(30):
        link = ItemLink.objects.create(connection=connection, item_type="task", remote_id=f"{n}")
        Conflict.objects.create(link=link, local={"title": "a"}, remote={"title": "b"})

    def queries(page_size: int) -> int:
        with CaptureQueriesContext(db) as captured:
            response = api.get(f"/api/conflicts?page_size={page_size}")
        assert len(response.json()["results"]) == page_size
        return len(captured)

    api.get("/api/conflicts")
    assert queries(2) == queries(25)


# --- resolving -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("resolution", "title", "notes"),
    # keeping DayFlow's decides the clashing title; the service's separate notes change stays
    [("local", "mine", "their notes"), ("remote", "theirs", "their notes")],
)
def test_resolving_keeps_one_sides_clashing_fields_on_both_sides(
    api, conflict, remote, user, resolution, title, notes
):
    response = resolve(api, conflict.pk, {"resolution": resolution})

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["resolution"]) == ("resolved", resolution)
    task = Task.objects.get()
    assert (task.title, task.notes) == (title, notes)
    assert remote_title(remote) == title
    conflict.refresh_from_db()
    assert conflict.resolved_by == user
    event = AuditEvent.objects.get(action="sync.conflict.resolved")
    assert (event.channel, event.actor) == ("api: script", user)


def test_a_per_field_choice_keeps_each_named_side_and_merges_the_rest(api, conflict, remote):
    response = resolve(api, conflict.pk, {"fields": {"title": "local"}})

    assert response.status_code == 200, response.content
    assert response.json()["resolution"] == "merged"
    task = Task.objects.get()
    # the title as chosen; the notes only the service changed, so its version
    assert (task.title, task.notes) == ("mine", "their notes")
    stored = next(iter(remote.items.values())).fields
    assert (stored["title"], stored["notes"]) == ("mine", "their notes")


def test_a_per_field_choice_may_overrule_the_merge(api, conflict, remote):
    response = resolve(api, conflict.pk, {"fields": {"title": "remote", "notes": "local"}})
    assert response.status_code == 200
    assert (Task.objects.get().title, Task.objects.get().notes) == ("theirs", "base")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "resolution"),
        ({"resolution": "local", "fields": {"title": "local"}}, "resolution"),
        ({"resolution": "merged"}, "resolution"),
        ({"resolution": "mine"}, "resolution"),
        ({"resolution": ["local"]}, "resolution"),
        ({"fields": {}}, "fields"),
        ({"fields": "title"}, "fields"),
        ({"fields": {"title": "middle"}}, "fields"),
        ({"fields": {"colour": "local"}}, "fields"),
        ({"fields": {"notes": "local"}}, "fields"),  # the title clashes: it must be chosen
        ({"fields": {f"f{n}": "local" for n in range(51)}}, "fields"),
        ({"fields": {"x" * 101: "local"}}, "fields"),
        ({"resolution": "local", "force": True}, "force"),
    ],
)
def test_bad_input_to_resolve_is_a_400_and_changes_nothing(api, conflict, remote, body, field):
    response = resolve(api, conflict.pk, body)

    assert response.status_code == 400, response.content
    assert field in response.json()
    conflict.refresh_from_db()
    assert conflict.status == "open"
    assert (Task.objects.get().title, remote_title(remote)) == ("mine", "theirs")


def test_a_resolved_conflict_is_a_409(api, conflict):
    assert resolve(api, conflict.pk, {"resolution": "local"}).status_code == 200

    again = resolve(api, conflict.pk, {"resolution": "remote"})

    assert again.status_code == 409
    assert again.json() == {"detail": "the conflict is resolved already", "action": "resolve"}
    assert Task.objects.get().title == "mine"


def test_a_conflict_the_service_changed_again_is_a_409(api, conflict, remote):
    remote.edit(next(iter(remote.items)), title="theirs again")

    response = resolve(api, conflict.pk, {"resolution": "local"})

    assert response.status_code == 409
    assert response.json()["action"] == "resolve"
    conflict.refresh_from_db()
    assert conflict.status == "open"


# --- isolation -----------------------------------------------------------------------------
@pytest.mark.parametrize("body", [{"resolution": "local"}, {"resolution": "nonsense"}])
def test_another_users_conflict_is_not_found_and_not_resolved(api, theirs, body):
    assert api.get(f"/api/conflicts/{theirs.pk}").status_code == 404
    assert resolve(api, theirs.pk, body).status_code == 404
    assert resolve(api, 10**30, body).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "open"
    assert api.get("/api/conflicts").json()["results"] == []


def test_conflicts_need_a_token(anonymous, theirs):
    assert anonymous.get("/api/conflicts").status_code == 401
    assert anonymous.get(f"/api/conflicts/{theirs.pk}").status_code == 401
    response = anonymous.post(f"/api/conflicts/{theirs.pk}/resolve", {"resolution": "local"})
    assert response.status_code == 401
    theirs.refresh_from_db()
    assert theirs.status == "open"


# --- typed values, bulk, and the next sync ---------------------------------------------------
def test_a_typed_value_is_kept_on_both_sides_and_the_next_sync_has_nothing_to_do(
    api, conflict, remote, run_sync
):
    response = resolve(api, conflict.pk, {"fields": {"title": {"value": "ours"}}})

    assert response.status_code == 200, response.content
    stored = next(iter(remote.items.values())).fields
    task = Task.objects.get()
    assert (task.title, task.notes) == (stored["title"], stored["notes"]) == ("ours", "their notes")
    writes = remote.writes()
    run_sync()
    assert not Conflict.objects.filter(status="open").exists()
    assert remote.writes() == writes


@pytest.mark.parametrize(
    "choice",
    [
        {"value": "x" * 501},  # a title is at most 500 characters
        {"value": "  "},
        {"value": 5},
        {"value": "a", "extra": 1},
        {"text": "a"},
        ["local"],
        None,
    ],
)
def test_a_bad_typed_value_is_a_400_and_changes_nothing(api, conflict, remote, choice):
    response = resolve(api, conflict.pk, {"fields": {"title": choice}})

    assert response.status_code == 400, response.content
    assert "fields" in response.json()
    conflict.refresh_from_db()
    assert conflict.status == "open"
    assert (Task.objects.get().title, remote_title(remote)) == ("mine", "theirs")


def test_a_typed_time_needs_its_offset(api, connection, remote, run_sync):
    remote_id = remote.add(**task_fields("t", due=None))
    run_sync()
    task = Task.objects.get()
    task.title = "mine"
    task.save()
    remote.edit(remote_id, title="theirs")
    run_sync()
    conflict = Conflict.objects.get(status="open")

    def choose(due: str):
        return resolve(api, conflict.pk, {"fields": {"title": "local", "due": {"value": due}}})

    assert choose("2026-03-05T09:00").status_code == 400
    assert choose("2026-02-30").status_code == 400
    assert choose("2026-03-05T09:00+01:00").status_code == 200
    assert Task.objects.get().due_at.isoformat() == "2026-03-05T08:00:00+00:00"


def make_open(connection, n: int, item_type: str = "task") -> list[Conflict]:
    made = []
    for i in range(n):
        link = ItemLink.objects.create(
            connection=connection, item_type=item_type, remote_id=f"{item_type}{i}"
        )
        made.append(Conflict.objects.create(link=link, base={}, local={}, remote={}))
    return made


@pytest.fixture
def settled(monkeypatch) -> list:
    calls = []

    def fake(pk, resolution, **kwargs):
        calls.append((pk, resolution))
        Conflict.objects.filter(pk=pk).update(status="resolved", resolution=resolution)

    monkeypatch.setattr("sync.repair.resolve_conflict", fake)
    return calls


def bulk(api, body):
    return api.post("/api/conflicts/resolve", body, format="json")


def test_bulk_resolve_by_ids_or_by_filter_bounded(api, connection, theirs, settled):
    tasks, events = make_open(connection, 3), make_open(connection, 2, "event")

    response = bulk(api, {"resolution": "local", "ids": [tasks[0].pk]})
    assert response.status_code == 200, response.content
    assert response.json() == {"resolved": [tasks[0].pk], "failed": [], "remaining": 0}

    response = bulk(api, {"resolution": "remote", "item_type": "event"})
    assert response.json()["resolved"] == [c.pk for c in events]
    response = bulk(api, {"resolution": "remote", "connection": connection.pk})
    assert response.json() == {
        "resolved": [tasks[1].pk, tasks[2].pk],
        "failed": [],
        "remaining": 0,
    }
    assert theirs.pk not in [pk for pk, _ in settled]


def test_bulk_resolve_takes_at_most_100_and_says_how_many_remain(api, connection, settled):
    make_open(connection, 102)

    response = bulk(api, {"resolution": "local", "connection": connection.pk})

    assert (len(response.json()["resolved"]), response.json()["remaining"]) == (100, 2)


@pytest.mark.parametrize(
    "body",
    [
        {"ids": [1]},
        {"resolution": "merged", "ids": [1]},
        {"resolution": "local", "ids": []},
        {"resolution": "local", "ids": list(range(1, 102))},
        {"resolution": "local", "ids": ["x"]},
        {"resolution": "local", "ids": [1], "connection": 1},
        {"resolution": "local", "item_type": "note"},
        {"resolution": "local", "everything": True},
    ],
)
def test_bad_bulk_input_is_a_400(api, connection, settled, body):
    make_open(connection, 1)
    assert bulk(api, body).status_code == 400
    assert settled == []


def test_bulk_ids_must_all_be_your_open_conflicts(api, connection, theirs, settled):
    mine = make_open(connection, 1)[0]

    response = bulk(api, {"resolution": "local", "ids": [mine.pk, theirs.pk]})

    assert response.status_code == 400
    assert settled == []
