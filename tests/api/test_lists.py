"""`/api/lists`, `/api/calendars` and `/api/destinations`: a person's DayFlow lists and
calendars, named as the model's rules say, each with the sync link its new items go to; and
the `list` / `calendar` of tasks and events."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from dayflow.models import MAX_LISTS, Calendar, Event, Task, TaskList
from sync import links
from sync.models import ItemType, SyncLink

pytestmark = pytest.mark.django_db
KINDS = pytest.mark.parametrize(("path", "model"), [("lists", TaskList), ("calendars", Calendar)])


def google_link(user, connection, calendar=None) -> SyncLink:
    """An event link of the user's own (a second container of the Todoist connection: the
    API cares about rows, not about which service offers what)."""
    return SyncLink.objects.create(
        connection=connection,
        user=user,
        item_type=ItemType.EVENT,
        collection="cal-1",
        name="Family calendar",
        calendar=calendar,
    )


# --- the success paths ---------------------------------------------------------------------------
@KINDS
def test_a_list_is_added_trimmed_and_audited_without_its_name(api, user, path, model):
    response = api.post(f"/api/{path}", {"name": "  Work   trips "}, format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["name"], data["destination"]) == ("Work trips", None)
    assert model.objects.get(pk=data["id"]).user == user
    event = AuditEvent.objects.get(action=f"{model._meta.model_name}.created")
    assert event.details == {"id": data["id"], "fields": ["name"]}
    assert "Work" not in str(event.details)


@KINDS
def test_a_list_is_renamed_and_deleted(api, user, path, model):
    item = model.objects.create(user=user, name="Work")

    renamed = api.patch(f"/api/{path}/{item.pk}", {"name": "Office"}, format="json")
    deleted = api.delete(f"/api/{path}/{item.pk}")

    assert renamed.status_code == 200, renamed.content
    assert renamed.json()["name"] == "Office"
    assert deleted.status_code == 204
    assert not model.objects.filter(pk=item.pk).exists()


def test_a_lists_destination_names_its_link_connection_service_and_container(api, user, connection):
    work = TaskList.objects.create(user=user, name="Work")
    link = SyncLink.objects.get(connection=connection, item_type=ItemType.TASK)
    links.set_destination(user.pk, ItemType.TASK, work, link)

    data = api.get(f"/api/lists/{work.pk}").json()

    assert data["destination"] == {
        "id": link.pk,
        "connection": connection.pk,
        "service": "Todoist",
        "container": link.container_words,
    }


def test_deleting_a_list_sends_its_tasks_to_the_inbox_and_its_link_stops_being_a_destination(
    api, user, connection
):
    work = TaskList.objects.create(user=user, name="Work")
    task = Task.objects.create(user=user, title="Report", task_list=work)
    link = SyncLink.objects.get(connection=connection, item_type=ItemType.TASK)
    links.set_destination(user.pk, ItemType.TASK, work, link)

    assert api.delete(f"/api/lists/{work.pk}").status_code == 204

    task.refresh_from_db()
    link.refresh_from_db()
    assert (task.task_list_id, link.task_list_id, link.is_destination) == (None, None, False)


def test_destinations_list_the_inbox_and_my_calendar_and_every_list(api, user, connection):
    inbox_link = SyncLink.objects.get(connection=connection, item_type=ItemType.TASK)
    home = TaskList.objects.create(user=user, name="Home")
    family = Calendar.objects.create(user=user, name="Family")
    event_link = google_link(user, connection)
    links.set_destination(user.pk, ItemType.EVENT, family, event_link)

    rows = api.get("/api/destinations").json()

    assert [(r["item_type"], r["id"], r["name"]) for r in rows] == [
        ("task", None, "Inbox"),
        ("task", home.pk, "Home"),
        ("event", None, "My calendar"),
        ("event", family.pk, "Family"),
    ]
    assert [r["destination"] and r["destination"]["id"] for r in rows] == [
        inbox_link.pk,
        None,
        None,
        event_link.pk,
    ]


# --- tasks and events in lists and calendars -----------------------------------------------------
def test_a_task_is_put_in_a_list_and_back_in_the_inbox(api, user):
    work = TaskList.objects.create(user=user, name="Work")

    created = api.post("/api/tasks", {"title": "Report", "list": work.pk}, format="json")
    task_id = created.json()["id"]
    back = api.patch(f"/api/tasks/{task_id}", {"list": None}, format="json")

    assert created.status_code == 201, created.content
    assert created.json()["list"] == work.pk
    assert back.json()["list"] is None
    assert Task.objects.get(pk=task_id).task_list_id is None


def test_an_event_is_put_in_a_calendar(api, user):
    family = Calendar.objects.create(user=user, name="Family")
    event = Event.objects.create(user=user, title="Dinner", all_day=True, start_date="2030-06-01")

    response = api.patch(f"/api/events/{event.pk}", {"calendar": family.pk}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["calendar"] == family.pk
    event.refresh_from_db()
    assert event.calendar_id == family.pk


@pytest.mark.parametrize(
    ("path", "field", "value", "message"),
    [
        ("tasks", "list", "theirs", "No such list."),
        ("events", "calendar", "theirs", "No such calendar."),
        ("tasks", "list", "7", "Give an id: a whole number."),
        ("tasks", "list", 2**70, "No such list."),
        ("tasks", "list", True, "Give an id: a whole number."),
    ],
)
def test_a_task_or_event_refuses_a_list_that_is_not_ones_own(
    api, user, other_user, path, field, value, message
):
    theirs = (TaskList if field == "list" else Calendar).objects.create(
        user=other_user, name="Secret"
    )
    value = theirs.pk if value == "theirs" else value
    body = {"title": "Report", field: value}
    if path == "events":
        body |= {"all_day": True, "start_date": "2030-06-01"}

    response = api.post(f"/api/{path}", body, format="json")

    assert response.status_code == 400
    assert response.json() == {field: [message]}
    assert not Task.objects.exists()
    assert not Event.objects.exists()


# --- bad input -----------------------------------------------------------------------------------
@KINDS
@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "Work", "colour": "red"}, "colour", "Unknown or read-only field."),
        ({"name": "Work", "id": 5}, "id", "Unknown or read-only field."),
        ({"name": "x" * 101}, "name", "Ensure this field has no more than 100 characters."),
        ({"name": "   "}, "name", "This field may not be blank."),
        ({"name": "inbox"}, "name", "“inbox” is always there; choose another name."),
        ({"name": "My  Calendar"}, "name", "“My Calendar” is always there; choose another name."),
        ({"name": "HOME"}, "name", "You already have one named “HOME”."),
        ({"name": 5}, "name", None),
        ({"name": None}, "name", "This field may not be null."),
        ({}, "name", "This field is required."),
    ],
)
def test_a_bad_name_is_a_400_and_nothing_is_added(api, user, path, model, body, field, message):
    model.objects.create(user=user, name="Home")

    response = api.post(f"/api/{path}", body, format="json")

    if message is None:  # a number is taken as its text, as DRF's CharField does
        assert response.status_code == 201
        return
    assert response.status_code == 400, response.content
    assert response.json()[field] == [message]
    assert list(model.objects.values_list("name", flat=True)) == ["Home"]


@KINDS
def test_a_refused_rename_keeps_the_stored_name(api, user, path, model):
    model.objects.create(user=user, name="Home")
    work = model.objects.create(user=user, name="Work")

    response = api.patch(f"/api/{path}/{work.pk}", {"name": "home"}, format="json")

    assert response.status_code == 400
    work.refresh_from_db()
    assert work.name == "Work"


@KINDS
def test_the_same_name_is_fine_for_another_person_and_for_a_renamed_list_itself(
    api, user, other_user, path, model
):
    model.objects.create(user=other_user, name="Work")
    work = model.objects.create(user=user, name="Work")

    response = api.patch(f"/api/{path}/{work.pk}", {"name": "WORK"}, format="json")

    assert response.status_code == 200, response.content


@KINDS
def test_one_more_than_the_most_lists_is_refused(api, user, path, model):
    model.objects.bulk_create(model(user=user, name=f"List {n}") for n in range(MAX_LISTS))

    response = api.post(f"/api/{path}", {"name": "One more"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [f"You can have at most {MAX_LISTS}."]}


@KINDS
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_persons_list_is_not_found_and_stays(others_api, user, path, model, method):
    work = model.objects.create(user=user, name="Work")

    send = getattr(others_api, method)
    response = send(f"/api/{path}/{work.pk}", {"name": "Mine"}, format="json")

    assert response.status_code == 404
    assert model.objects.get(pk=work.pk).name == "Work"


@KINDS
@pytest.mark.parametrize("pk", ["abc", "1.5", "9" * 19, "-1"])
def test_a_malformed_or_huge_id_in_the_path_is_a_404(api, path, model, pk):
    assert api.get(f"/api/{path}/{pk}").status_code == 404


def test_others_lists_are_not_listed_nor_their_destinations(api, others_api, user, connection):
    TaskList.objects.create(user=user, name="Work")

    assert others_api.get("/api/lists").json()["results"] == []
    assert [r["destination"] for r in others_api.get("/api/destinations").json()] == [None, None]


# --- queries -------------------------------------------------------------------------------------
def more_lists(user, connection, count: int) -> None:
    """`count` more lists and calendars, each the destination of a link of its own."""
    start = TaskList.objects.filter(user=user).count()
    for n in range(start, start + count):
        task_list = TaskList.objects.create(user=user, name=f"List {n}")
        calendar = Calendar.objects.create(user=user, name=f"Calendar {n}")
        for item_type, side in ((ItemType.TASK, task_list), (ItemType.EVENT, calendar)):
            link = SyncLink.objects.create(
                connection=connection, user=user, item_type=item_type, collection=f"c-{n}"
            )
            links.set_destination(user.pk, item_type, side, link)


@pytest.mark.parametrize("path", ["/api/lists", "/api/calendars", "/api/destinations"])
def test_the_lists_take_as_many_queries_for_many_rows_as_for_one(
    api, user, connection, django_assert_max_num_queries, path
):
    more_lists(user, connection, 1)
    with django_assert_max_num_queries(30) as one:  # the token and throttles: ~20
        api.get(path)
    more_lists(user, connection, 30)

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = api.get(path)

    rows = response.json()
    rows = rows if isinstance(rows, list) else rows["results"]
    assert sum(1 for row in rows if row["destination"]) >= 31


@KINDS
def test_a_rename_to_the_same_name_is_not_audited(api, user, path, model):
    work = model.objects.create(user=user, name="Work")

    same = api.patch(f"/api/{path}/{work.pk}", {"name": " Work "}, format="json")
    empty = api.patch(f"/api/{path}/{work.pk}", {}, format="json")

    assert (same.status_code, empty.status_code) == (200, 200)
    assert not AuditEvent.objects.filter(action__endswith=".renamed").exists()
