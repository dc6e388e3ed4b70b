"""Lists and calendars in the planner's pages: the task form's "List" and the event form's
"Calendar" offer the person's own only; the tasks page filters by list, says each task's list,
and says which tasks and events stay in DayFlow (not synced, and their list or calendar has no
destination)."""

from __future__ import annotations

import datetime as dt

import pytest

from dayflow.models import Calendar, Event, Task, TaskList
from integrations.models import Connection, Service
from sync.models import ItemLink

pytestmark = pytest.mark.django_db

TASK = {"title": "Buy milk", "notes": "", "priority": "0", "list_name": "", "tags": ""}
EVENT = {
    "title": "Dinner",
    "start_day": "2026-03-23",
    "start_time": "19:00",
    "end_day": "2026-03-23",
    "end_time": "21:00",
    "timezone": "Europe/Berlin",
    "location": "",
    "description": "",
    "repeat": "",
    "ends": "never",
}


@pytest.fixture
def home(user) -> TaskList:
    return TaskList.objects.create(user=user, name="Home")


@pytest.fixture
def work(user) -> TaskList:
    return TaskList.objects.create(user=user, name="Work")


@pytest.fixture
def theirs(other_user) -> TaskList:
    return TaskList.objects.create(user=other_user, name="Bob's")


@pytest.fixture
def todoist(user) -> Connection:
    """Its project p-1 is the Inbox's destination (the first task link made)."""
    return Connection.objects.create(
        user=user,
        service=Service.objects.get(key="todoist"),
        external_account_id="acct",
        field_mapping={"project_id": "p-1"},
    )


# --- the forms -------------------------------------------------------------------------------
def test_the_task_form_offers_the_inbox_and_the_persons_own_lists(signed_in, home, theirs):
    page = signed_in.get("/tasks/new/").content.decode()

    select = page.split('name="task_list"')[1].split("</select>")[0]
    assert '<option value="" selected>Inbox</option>' in select
    assert f'<option value="{home.pk}">Home</option>' in select
    assert "Bob" not in select


def test_a_task_made_in_a_list_and_moved_to_the_inbox(signed_in, user, work):
    signed_in.post("/tasks/new/", {**TASK, "task_list": work.pk})
    task = Task.objects.get(user=user)
    assert task.task_list == work

    signed_in.post(f"/tasks/{task.pk}/edit/", {**TASK, "task_list": ""})

    task.refresh_from_db()
    assert task.task_list is None


@pytest.mark.parametrize("bad", ["theirs", "abc", "9" * 30])
def test_another_persons_or_a_bad_list_is_a_form_error(signed_in, user, theirs, bad):
    chosen = theirs.pk if bad == "theirs" else bad

    answer = signed_in.post("/tasks/new/", {**TASK, "task_list": chosen})

    assert answer.status_code == 200
    assert "Select a valid choice" in answer.content.decode()
    assert not Task.objects.filter(user=user).exists()


def test_the_event_form_chooses_a_calendar_of_the_persons_own(signed_in, user, other_user):
    family = Calendar.objects.create(user=user, name="Family")
    bobs = Calendar.objects.create(user=other_user, name="Bob's")
    page = signed_in.get("/events/new/").content.decode()
    select = page.split('name="calendar"')[1].split("</select>")[0]
    assert '<option value="" selected>My calendar</option>' in select
    assert "Bob" not in select

    refused = signed_in.post("/events/new/", {**EVENT, "calendar": bobs.pk})
    signed_in.post("/events/new/", {**EVENT, "calendar": family.pk})

    assert "Select a valid choice" in refused.content.decode()
    event = Event.objects.get(user=user)
    assert event.calendar == family
    edit = signed_in.get(f"/events/{event.pk}/edit/").content.decode()
    assert f'<option value="{family.pk}" selected>Family</option>' in edit
    signed_in.post(f"/events/{event.pk}/edit/", {**EVENT, "calendar": ""})
    event.refresh_from_db()
    assert event.calendar is None


# --- the tasks page --------------------------------------------------------------------------
def test_the_tasks_page_filters_by_list_and_says_each_tasks_list(signed_in, user, home, work):
    Task.objects.create(user=user, title="Water the plants", task_list=home)
    Task.objects.create(user=user, title="Send the invoice", task_list=work)
    Task.objects.create(user=user, title="Call mum")

    every = signed_in.get("/tasks/").content.decode()
    at_home = signed_in.get(f"/tasks/?list={home.pk}").content.decode()
    inbox = signed_in.get("/tasks/?list=inbox").content.decode()

    assert "Water the plants" in every
    assert "Send the invoice" in every
    assert "· in Home" in every
    assert "· in Inbox" in every
    assert "Water the plants" in at_home
    assert "Send the invoice" not in at_home
    assert f'<option value="{home.pk}" selected>Home</option>' in at_home
    assert "Call mum" in inbox
    assert "Water the plants" not in inbox


def test_a_bad_list_filter_is_a_400_and_another_persons_list_a_404(signed_in, theirs):
    assert signed_in.get("/tasks/?list=home").status_code == 400
    assert signed_in.get(f"/tasks/?list={'9' * 13}").status_code == 400
    assert signed_in.get(f"/tasks/?list={theirs.pk}").status_code == 404


def test_a_task_not_synced_in_a_list_without_destination_stays_in_dayflow(
    signed_in, user, home, todoist
):
    Task.objects.create(user=user, title="Water the plants", task_list=home)
    Task.objects.create(user=user, title="Call mum")  # the Inbox: new tasks go to Todoist
    synced = Task.objects.create(user=user, title="Fix the tap", task_list=home)
    ItemLink.objects.create(connection=todoist, item_type="task", remote_id="r1", task=synced)

    page = signed_in.get("/tasks/").content.decode()

    def row(title: str) -> str:
        return page.split(title)[1].split("</li>\n")[0]

    assert "Stays in DayFlow" in row("Water the plants")
    assert "Stays in DayFlow" not in row("Call mum")
    assert "Not synced" in row("Call mum")
    assert "Synced with Todoist" in row("Fix the tap")


def test_an_event_not_synced_in_a_calendar_without_destination_stays_in_dayflow(signed_in, user):
    google = Connection.objects.create(  # its calendar is My calendar's destination
        user=user,
        service=Service.objects.get(key="google-calendar"),
        external_account_id="me@example.com",
        field_mapping={"calendars": ["primary"]},
    )
    family = Calendar.objects.create(user=user, name="Family")
    when = {"start": dt.datetime(2026, 3, 23, 18, tzinfo=dt.UTC)}
    when["end"] = when["start"] + dt.timedelta(hours=1)
    alone = Event.objects.create(user=user, title="Picnic", calendar=family, **when)
    Event.objects.create(user=user, title="Dentist", **when)  # My calendar: goes to Google
    synced = Event.objects.create(user=user, title="Standup", calendar=family, **when)
    ItemLink.objects.create(connection=google, item_type="event", remote_id="e1", event=synced)

    page = signed_in.get("/events/").content.decode()

    def row(title: str) -> str:
        return page.split(title)[1].split("</li>\n")[0]

    assert "Stays in DayFlow" in row("Picnic")
    assert "Not synced" in row("Dentist")
    assert "Stays in DayFlow" not in row("Dentist")
    assert "Synced with Google Calendar" in row("Standup")
    detail = signed_in.get(f"/events/{alone.pk}/").content.decode()
    assert "Stays in DayFlow" in detail


def test_the_tasks_page_costs_the_same_queries_with_many_lists_and_tasks(
    signed_in, user, todoist, django_assert_max_num_queries
):
    def grow(n: int) -> None:
        for i in range(n):
            task_list = TaskList.objects.create(user=user, name=f"List {n}-{i}")
            task = Task.objects.create(user=user, title=f"Task {n}-{i}", task_list=task_list)
            ItemLink.objects.create(
                connection=todoist, item_type="task", remote_id=f"r{n}-{i}", task=task
            )
            Task.objects.create(user=user, title=f"Alone {n}-{i}", task_list=task_list)

    grow(1)
    with django_assert_max_num_queries(7) as few:
        signed_in.get("/tasks/")
    grow(8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = signed_in.get("/tasks/").content.decode()
    assert page.count("Stays in DayFlow") == 9
