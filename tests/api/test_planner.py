"""`/api/tasks` and `/api/events`: DayFlow's own planner data, written as local edits the sync
engine pushes, guarded by the item's version (`ETag` / `If-Match`), every write audited."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import time_machine
from django.db import connection as db
from django.db import connections
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from dayflow.api.planner_serializers import EventSerializer, TaskSerializer
from dayflow.models import Event, Task
from sync import engine
from sync.models import SyncJob
from tests.sync.conftest import task_fields
from tests.sync.fakes import FakeProvider, FakeService

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)


def make_task(user, **fields) -> Task:
    return Task.objects.create(user=user, **{"title": "Write the report", **fields})


def make_event(user, **fields) -> Event:
    fields = {
        "title": "Standup",
        "start": dt.datetime(2030, 6, 3, 9, tzinfo=dt.UTC),
        "end": dt.datetime(2030, 6, 3, 9, 15, tzinfo=dt.UTC),
        **fields,
    }
    return Event.objects.create(user=user, **fields)


RESOURCES = {
    "tasks": (make_task, {"title": "Renamed"}),
    "events": (make_event, {"title": "Renamed"}),
}
resource = pytest.mark.parametrize("path", list(RESOURCES))


def stored(path: str, pk: int) -> Task | Event:
    model = Task if path == "tasks" else Event
    return model.all_objects.get(pk=pk)


# --- tasks: the success paths --------------------------------------------------------------------
def test_a_task_is_created_with_its_version_as_etag_and_audited_without_its_title(api, user):
    body = {"title": "Pay rent", "due_date": "2030-06-05", "priority": 3, "list_name": "Home"}
    response = api.post("/api/tasks", body, format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert response["ETag"] == '"1"'
    assert (data["title"], data["version"], data["status"]) == ("Pay rent", 1, "open")
    task = Task.objects.get(pk=data["id"])
    assert task.user == user
    event = AuditEvent.objects.get(action="task.created")
    assert (event.actor, event.channel, event.resource) == (user, "api: script", f"task:{task.pk}")
    assert event.details == {"id": task.pk, "fields": sorted(body)}
    assert "Pay rent" not in str(event.details)


def test_a_task_is_read_with_its_etag(api, user):
    task = make_task(user, notes="in the shared folder")

    response = api.get(f"/api/tasks/{task.pk}")

    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert response.json()["notes"] == "in the shared folder"


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_task_is_updated_its_version_bumped_and_the_changed_fields_audited(api, user, method):
    task = make_task(user, priority=1)
    body = {"title": "Write the report", "priority": 4}

    response = getattr(api, method)(f"/api/tasks/{task.pk}", body, format="json")

    assert response.status_code == 200, response.content
    assert response["ETag"] == '"2"'
    task.refresh_from_db()
    assert (task.priority, task.version) == (4, 2)
    assert AuditEvent.objects.get(action="task.updated").details == {
        "id": task.pk,
        "fields": ["priority"],
    }


def test_an_update_that_changes_nothing_keeps_the_version(api, user):
    task = make_task(user)

    response = api.patch(f"/api/tasks/{task.pk}", {"title": task.title}, format="json")

    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert not AuditEvent.objects.filter(action="task.updated").exists()


def test_completing_a_task_sets_done_and_when_and_reopening_clears_them(api, user):
    task = make_task(user)

    with time_machine.travel(NOW, tick=False):
        response = api.post(f"/api/tasks/{task.pk}/complete")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["completed_at"]) == (
        "done",
        "2030-06-01T12:00:00Z",
    )
    assert response["ETag"] == '"2"'
    again = api.post(f"/api/tasks/{task.pk}/complete")
    assert (again.status_code, again["ETag"]) == (200, '"2"')  # already done: unchanged

    reopened = api.post(f"/api/tasks/{task.pk}/reopen")

    assert (reopened.json()["status"], reopened.json()["completed_at"]) == ("open", None)
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["task.completed", "task.reopened"]


def test_setting_the_status_in_an_update_records_the_completion_too(api, user):
    task = make_task(user)
    with time_machine.travel(NOW, tick=False):
        api.patch(f"/api/tasks/{task.pk}", {"status": "done"}, format="json")
    task.refresh_from_db()
    assert task.completed_at == NOW
    api.patch(f"/api/tasks/{task.pk}", {"status": "open"}, format="json")
    task.refresh_from_db()
    assert task.completed_at is None


def test_complete_takes_no_fields(api, user):
    task = make_task(user)
    response = api.post(f"/api/tasks/{task.pk}/complete", {"status": "open"}, format="json")
    assert response.status_code == 400
    assert "status" in response.json()
    assert Task.objects.get(pk=task.pk).status == "open"


@resource
def test_a_delete_is_soft_the_row_stays_with_deleted_at_and_a_new_version(api, user, path):
    make, _ = RESOURCES[path]
    item = make(user)

    with time_machine.travel(NOW, tick=False):
        response = api.delete(f"/api/{path}/{item.pk}")

    assert response.status_code == 204
    assert api.get(f"/api/{path}/{item.pk}").status_code == 404
    assert item.pk not in [row["id"] for row in api.get(f"/api/{path}").json()["results"]]
    row = stored(path, item.pk)
    assert (row.deleted_at, row.version) == (NOW, 2)
    kind = path.removesuffix("s")
    assert AuditEvent.objects.get(action=f"{kind}.deleted").details == {
        "id": item.pk,
        "fields": ["deleted_at"],
    }


# --- tasks: the list ------------------------------------------------------------------------------
def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["title"] for row in response.json()["results"]]


def test_the_task_list_shows_only_your_live_tasks_filtered_and_ordered(api, user, other_user):
    make_task(user, title="a: due", due_date=dt.date(2030, 6, 5), list_name="Work")
    make_task(user, title="b: due at", due_at=dt.datetime(2030, 6, 7, 8, tzinfo=dt.UTC))
    make_task(user, title="c: done", status="done", priority=2, list_name="Work")
    make_task(user, title="d: gone").soft_delete()
    make_task(other_user, title="e: bob's", list_name="Work")

    assert titles(api.get("/api/tasks?ordering=title")) == ["a: due", "b: due at", "c: done"]
    assert titles(api.get("/api/tasks?status=done")) == ["c: done"]
    assert titles(api.get("/api/tasks?list_name=Work&ordering=title")) == ["a: due", "c: done"]
    assert titles(api.get("/api/tasks?priority=2")) == ["c: done"]
    assert titles(api.get("/api/tasks?due_after=2030-06-06")) == ["b: due at"]
    assert titles(api.get("/api/tasks?due_before=2030-06-06")) == ["a: due"]
    both = api.get("/api/tasks?due_after=2030-06-01&due_before=2030-06-30&ordering=-title")
    assert titles(both) == ["b: due at", "a: due"]


def test_the_task_list_finds_what_changed_since_a_moment(api, user):
    with time_machine.travel(NOW, tick=False):
        make_task(user, title="old")
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        make_task(user, title="new")

    assert titles(api.get("/api/tasks?updated_since=2030-06-01T12:30:00Z")) == ["new"]


@pytest.mark.parametrize(
    "query",
    [
        "status=archived",
        "priority=9",
        "due_after=tomorrow",
        "due_after=1800-01-01",
        "updated_since=99999-01-01T00:00:00Z",
        "list_name=" + "x" * 201,
        "ordering=nonsense",
        "priority=",
    ],
)
def test_a_bad_task_filter_is_a_400_or_ignored_never_a_500(api, user, query):
    make_task(user)
    response = api.get(f"/api/tasks?{query}")
    assert response.status_code in (200, 400)
    if query.startswith(("ordering", "priority=")) and "9" not in query:
        assert response.status_code == 200  # an unknown ordering, an empty filter: ignored
    else:
        assert response.status_code == 400, response.content


# --- events: the success paths --------------------------------------------------------------------
def test_a_timed_event_is_created_in_its_zone(api, user):
    body = {
        "title": "Dentist",
        "start": "2030-06-03T09:00:00+02:00",
        "end": "2030-06-03T09:30:00+02:00",
        "timezone": "Europe/Paris",
        "location": "Rue de Rivoli",
    }
    response = api.post("/api/events", body, format="json")

    assert response.status_code == 201, response.content
    event = Event.objects.get(pk=response.json()["id"])
    assert event.start == dt.datetime(2030, 6, 3, 7, tzinfo=dt.UTC)
    assert (event.timezone, event.version, response["ETag"]) == ("Europe/Paris", 1, '"1"')
    assert AuditEvent.objects.get(action="event.created").details["fields"] == sorted(body)


def test_an_all_day_recurring_event_and_an_overridden_instance(api, user):
    series = api.post(
        "/api/events",
        {
            "title": "Holiday",
            "all_day": True,
            "start_date": "2030-07-01",
            "end_date": "2030-07-02",
            "rrule": "RRULE:freq=weekly;byday=MO",
            "exdates": ["2030-07-15", "2030-07-08", "2030-07-08"],
        },
        format="json",
    )
    assert series.status_code == 201, series.content
    assert series.json()["rrule"] == "FREQ=WEEKLY;BYDAY=MO"
    assert series.json()["exdates"] == ["2030-07-08", "2030-07-15"]

    instance = api.post(
        "/api/events",
        {
            "title": "Holiday (moved)",
            "all_day": True,
            "start_date": "2030-07-23",
            "series": series.json()["id"],
            "recurrence_id": "2030-07-22",
        },
        format="json",
    )

    assert instance.status_code == 201, instance.content
    assert Event.objects.get(pk=instance.json()["id"]).series_id == series.json()["id"]
    listed = api.get(f"/api/events?series={series.json()['id']}")
    assert titles(listed) == ["Holiday (moved)"]


def test_an_event_patch_is_checked_against_the_stored_fields(api, user):
    event = make_event(user)

    later_start = {"start": "2030-06-03T10:00:00Z"}  # after the stored end
    response = api.patch(f"/api/events/{event.pk}", later_start, format="json")
    assert response.status_code == 400
    assert "end" in response.json()

    both = {"start": "2030-06-03T10:00:00Z", "end": "2030-06-03T11:00:00Z"}
    response = api.patch(f"/api/events/{event.pk}", both, format="json")
    assert response.status_code == 200, response.content
    assert AuditEvent.objects.get(action="event.updated").details["fields"] == ["end", "start"]


def test_the_event_list_filters_by_start_and_status(api, user, other_user):
    make_event(user, title="timed")
    make_event(
        user, title="all day", start=None, end=None, all_day=True, start_date=dt.date(2030, 6, 10)
    )
    make_event(user, title="cancelled", status="cancelled")
    make_event(other_user, title="bob's")

    assert titles(api.get("/api/events?ordering=title")) == ["all day", "cancelled", "timed"]
    assert titles(api.get("/api/events?status=cancelled")) == ["cancelled"]
    assert titles(api.get("/api/events?starts_after=2030-06-05T00:00:00Z")) == ["all day"]
    before = api.get("/api/events?starts_before=2030-06-05T00:00:00Z&ordering=title")
    assert titles(before) == ["cancelled", "timed"]
    assert titles(api.get("/api/events?all_day=true")) == ["all day"]
    assert api.get("/api/events?all_day=perhaps").status_code == 400


# --- 400: field by field, nothing made ------------------------------------------------------------
BAD_TASKS = [
    ({}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 501}, "title"),
    ({"title": ["a"]}, "title"),
    ({"title": "t", "notes": "x" * 100_001}, "notes"),
    ({"title": "t", "status": "archived"}, "status"),
    ({"title": "t", "priority": 9}, "priority"),
    ({"title": "t", "priority": "high"}, "priority"),
    ({"title": "t", "due_date": "2030-02-30"}, "due_date"),
    ({"title": "t", "due_date": "1800-01-01"}, "due_date"),
    ({"title": "t", "due_at": "2999-01-01T00:00:00Z"}, "due_at"),
    ({"title": "t", "due_date": "2030-01-01", "due_at": "2030-01-01T09:00:00Z"}, "due_at"),
    ({"title": "t", "list_name": "x" * 201}, "list_name"),
    ({"title": "t", "version": 7}, "version"),
    ({"title": "t", "completed_at": "2030-01-01T00:00:00Z"}, "completed_at"),
    ({"title": "t", "id": 5}, "id"),
    ({"title": "t", "user": 2}, "user"),
    ({"title": "t", "deleted_at": None}, "deleted_at"),
]


@pytest.mark.parametrize(("body", "field"), BAD_TASKS)
def test_a_bad_task_is_a_400_naming_the_field_and_makes_nothing(api, body, field):
    response = api.post("/api/tasks", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Task.all_objects.exists()


@pytest.mark.parametrize(("body", "field"), [b for b in BAD_TASKS if b[0]])
def test_a_bad_task_update_is_a_400_and_changes_nothing(api, user, body, field):
    task = make_task(user)
    response = api.patch(f"/api/tasks/{task.pk}", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Task.objects.get(pk=task.pk).version == 1


TIMED = {"title": "t", "start": "2030-06-03T09:00:00Z", "end": "2030-06-03T10:00:00Z"}
ALL_DAY = {"title": "t", "all_day": True, "start_date": "2030-06-03"}
WEEKLY = {**TIMED, "rrule": "FREQ=WEEKLY"}
BAD_EVENTS = [
    ({"start": "2030-06-03T09:00:00Z"}, "title"),
    ({"title": "t"}, "start"),
    ({**TIMED, "end": "2030-06-03T08:00:00Z"}, "end"),
    ({**TIMED, "end": TIMED["start"]}, "end"),
    ({**TIMED, "start_date": "2030-06-03"}, "start_date"),
    ({**TIMED, "start": "1899-12-31T00:00:00Z"}, "start"),
    ({**TIMED, "start": "next tuesday"}, "start"),
    ({**TIMED, "status": "maybe"}, "status"),
    ({**TIMED, "location": "x" * 501}, "location"),
    ({**TIMED, "description": "x" * 100_001}, "description"),
    ({**TIMED, "timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({**TIMED, "timezone": "x" * 65}, "timezone"),
    ({**TIMED, "all_day": "sometimes"}, "all_day"),
    ({"title": "t", "all_day": True}, "start_date"),
    ({**ALL_DAY, "start": "2030-06-03T09:00:00Z"}, "start"),
    ({**ALL_DAY, "end_date": "2030-06-03"}, "end_date"),
    ({**ALL_DAY, "end_date": "2230-06-03"}, "end_date"),
    ({**TIMED, "rrule": "FREQ=SOMETIMES"}, "rrule"),
    ({**TIMED, "rrule": "BYDAY=MO"}, "rrule"),
    ({**TIMED, "rrule": "FREQ=DAILY;INTERVAL=0"}, "rrule"),
    ({**TIMED, "rrule": "FREQ=YEARLY;BYMONTH=13"}, "rrule"),
    ({**TIMED, "rrule": "FREQ=DAILY;COUNT=3;UNTIL=20300101"}, "rrule"),
    ({**TIMED, "rrule": "FREQ=DAILY;FREQ=WEEKLY"}, "rrule"),
    ({**TIMED, "rrule": "FREQ=WEEKLY;BYDAY=+99MO"}, "rrule"),
    ({**TIMED, "rrule": "FREQ=DAILY;BYHOUR=²"}, "rrule"),
    ({**TIMED, "rrule": "FREQ=DAILY\nDTSTART:20300101T000000Z"}, "rrule"),
    ({**TIMED, "rrule": "FREQ=DAILY;" + "BYHOUR=1;" * 60}, "rrule"),
    ({**TIMED, "exdates": ["2030-06-10"]}, "exdates"),
    ({**WEEKLY, "exdates": "2030-06-10"}, "exdates"),
    ({**WEEKLY, "exdates": ["June 10th"]}, "exdates"),
    ({**WEEKLY, "exdates": ["1066-10-14"]}, "exdates"),
    ({**WEEKLY, "exdates": [{"date": "2030-06-10"}]}, "exdates"),
    ({**WEEKLY, "exdates": ["2030-06-10"] * 1001}, "exdates"),
    ({**TIMED, "recurrence_id": "2030-06-10"}, "recurrence_id"),
    ({**TIMED, "series": 999_999}, "series"),
    ({**TIMED, "series": "abc"}, "series"),
    ({**TIMED, "version": 3}, "version"),
    ({**TIMED, "created_at": "2030-01-01T00:00:00Z"}, "created_at"),
    ({**TIMED, "colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("body", "field"), BAD_EVENTS)
def test_a_bad_event_is_a_400_naming_the_field_and_makes_nothing(api, body, field):
    response = api.post("/api/events", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Event.all_objects.exists()


def test_an_instance_names_a_series_of_your_own_that_recurs(api, user, other_user):
    theirs = make_event(other_user, rrule="FREQ=WEEKLY")
    plain = make_event(user)
    master = make_event(user, rrule="FREQ=WEEKLY")
    instance = {**TIMED, "recurrence_id": "2030-06-10T09:00:00+00:00"}

    cases = [
        ({**instance, "series": theirs.pk}, "series"),
        ({**instance, "series": plain.pk}, "series"),
        ({**instance, "series": master.pk, "rrule": "FREQ=DAILY"}, "rrule"),
        ({**TIMED, "series": master.pk}, "recurrence_id"),
    ]
    for body, field in cases:
        response = api.post("/api/events", body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), body
    own = api.patch(f"/api/events/{master.pk}", {"series": master.pk}, format="json")
    assert own.status_code == 400
    assert Event.objects.count() == 3


def test_a_series_with_overridden_instances_keeps_its_rule(api, user):
    master = make_event(user, rrule="FREQ=WEEKLY")
    make_event(user, series=master, recurrence_id="2030-06-10T09:00:00+00:00")

    response = api.patch(f"/api/events/{master.pk}", {"rrule": ""}, format="json")

    assert response.status_code == 400
    assert "rrule" in response.json()
    assert Event.objects.get(pk=master.pk).rrule == "FREQ=WEEKLY"


def test_the_series_field_offers_no_one_elses_events():
    assert not EventSerializer().fields["series"].queryset.exists()


# --- isolation: another user's item is not found, for every method --------------------------------
def methods(path: str) -> list[tuple[str, str, dict | None]]:
    _, change = RESOURCES[path]
    found = [("get", "", None), ("put", "", change), ("patch", "", change), ("delete", "", None)]
    if path == "tasks":
        found += [("post", "/complete", None), ("post", "/reopen", None)]
    return found


@resource
def test_another_users_item_is_not_found_for_every_method_and_unchanged(api, other_user, path):
    make, _ = RESOURCES[path]
    theirs = make(other_user, title="Bob's secret plan")

    for method, suffix, body in methods(path):
        response = getattr(api, method)(f"/api/{path}/{theirs.pk}{suffix}", body, format="json")
        assert response.status_code == 404, (method, suffix)
        assert "Bob" not in response.content.decode()
    row = stored(path, theirs.pk)
    assert (row.title, row.version, row.deleted_at) == ("Bob's secret plan", 1, None)
    assert not AuditEvent.objects.exists()


@resource
def test_the_anonymous_get_401_for_every_method(anonymous, user, path):
    make, change = RESOURCES[path]
    item = make(user)

    assert anonymous.get(f"/api/{path}").status_code == 401
    assert anonymous.post(f"/api/{path}", change, format="json").status_code == 401
    for method, suffix, body in methods(path):
        response = getattr(anonymous, method)(f"/api/{path}/{item.pk}{suffix}", body, format="json")
        assert response.status_code == 401, (method, suffix)
    assert stored(path, item.pk).version == 1


@resource
@pytest.mark.parametrize("pk", ["0", "99999999999999999999999"])
def test_an_id_that_is_no_item_is_a_404(api, path, pk):
    assert api.get(f"/api/{path}/{pk}").status_code == 404
    assert api.delete(f"/api/{path}/{pk}").status_code == 404


# --- versions: ETag and If-Match ------------------------------------------------------------------
@resource
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_write_with_a_stale_if_match_is_a_412_and_changes_nothing(api, user, path, method):
    make, change = RESOURCES[path]
    item = make(user)
    item.save()  # someone else's edit: now version 2

    send = getattr(api, method)
    response = send(f"/api/{path}/{item.pk}", change, format="json", HTTP_IF_MATCH='"1"')

    assert response.status_code == 412, response.content
    row = stored(path, item.pk)
    assert (row.version, row.title, row.deleted_at) == (2, item.title, None)
    assert not AuditEvent.objects.exists()


def test_completing_with_a_stale_if_match_is_a_412(api, user):
    task = make_task(user)
    task.save()
    response = api.post(f"/api/tasks/{task.pk}/complete", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert Task.objects.get(pk=task.pk).status == "open"


@pytest.mark.parametrize("header", ['"2"', '"7", "2"', 'W/"2"', "*", "2"])
def test_a_write_with_the_current_version_goes_through(api, user, header):
    task = make_task(user)
    task.save()

    response = api.patch(
        f"/api/tasks/{task.pk}", {"priority": 2}, format="json", HTTP_IF_MATCH=header
    )

    assert response.status_code == 200, response.content
    assert response["ETag"] == '"3"'


@pytest.mark.parametrize("header", ["", "junk", '"2' + "0" * 2000 + '"'])
def test_an_if_match_naming_no_version_is_a_412(api, user, header):
    task = make_task(user)
    response = api.patch(
        f"/api/tasks/{task.pk}", {"priority": 2}, format="json", HTTP_IF_MATCH=header
    )
    assert response.status_code == 412


def test_a_412_is_checked_before_the_body(api, user):
    task = make_task(user)
    task.save()
    response = api.patch(
        f"/api/tasks/{task.pk}", {"priority": 99}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 412


@pytest.mark.django_db(transaction=True)
def test_of_two_writers_holding_the_same_version_only_one_wins(token_client, user, monkeypatch):
    """Each writer checks the version and writes while holding the row: the second waits for
    the first, then finds the version gone (validation is slowed to hold the race open)."""
    if db.vendor == "sqlite" and db.is_in_memory_db():
        pytest.skip("in-memory SQLite locks tables across threads: needs a file or PostgreSQL")
    task = make_task(user)
    clients = [token_client(user, name=f"writer {n}") for n in range(2)]
    validate = TaskSerializer.validate

    def slow_validate(self, attrs):
        time.sleep(0.3)
        return validate(self, attrs)

    monkeypatch.setattr(TaskSerializer, "validate", slow_validate)
    start = threading.Barrier(2)
    codes: list[int] = []

    def write(n: int) -> None:
        try:
            start.wait()
            response = clients[n].patch(
                f"/api/tasks/{task.pk}",
                {"title": f"by writer {n}"},
                format="json",
                HTTP_IF_MATCH='"1"',
            )
            codes.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(codes) == [200, 412]
    assert Task.objects.get(pk=task.pk).version == 2


# --- lists cost the same whatever the page size ---------------------------------------------------
@resource
def test_the_list_is_paginated_in_a_constant_number_of_queries(api, user, path):
    make, _ = RESOURCES[path]
    master = make_event(user, rrule="FREQ=DAILY") if path == "events" else None
    for n in range(30):
        extra = {"series": master, "recurrence_id": f"2030-06-{n % 28 + 1:02d}"} if master else {}
        make(user, title=f"item {n:02d}", **extra)

    def queries(page_size: int) -> int:
        with CaptureQueriesContext(db) as captured:
            response = api.get(f"/api/{path}?page_size={page_size}")
        assert response.status_code == 200
        return len(captured)

    api.get(f"/api/{path}")  # the token's first use is recorded once
    assert queries(2) == queries(25)
    first = api.get(f"/api/{path}?page_size=20&ordering=title").json()
    second = api.get(first["next"]).json()
    assert len(first["results"]) + len(second["results"]) == 30 + (1 if master else 0)


# --- the sync engine sees API writes as local edits -----------------------------------------------
@pytest.fixture
def service_side(use_provider) -> FakeService:
    """The connected service, faked in memory (tests/sync/fakes.py), as the engine tests do."""
    remote = FakeService()
    use_provider(lambda connection: FakeProvider(connection, remote))
    return remote


def sync(connection) -> SyncJob:
    job = SyncJob.objects.create(connection=connection, kind=SyncJob.Kind.INCREMENTAL)
    engine.run_job(job.pk)
    job.refresh_from_db()
    return job


def test_api_writes_are_pushed_by_the_next_sync_like_any_local_edit(api, connection, service_side):
    remote_id = service_side.add(**task_fields("from the service"))
    sync(connection)
    task = Task.objects.get(title="from the service")

    edited = api.patch(f"/api/tasks/{task.pk}", {"title": "edited by a script"}, format="json")
    made = api.post("/api/tasks", {"title": "made by a script"}, format="json")
    job = sync(connection)

    assert (edited.status_code, made.status_code) == (200, 201)
    assert service_side.items[remote_id].fields["title"] == "edited by a script"
    assert "made by a script" in [item.fields["title"] for item in service_side.items.values()]
    assert (job.remote_updated, job.remote_created) == (1, 1)

    assert api.delete(f"/api/tasks/{task.pk}").status_code == 204
    sync(connection)
    assert remote_id not in service_side.items
