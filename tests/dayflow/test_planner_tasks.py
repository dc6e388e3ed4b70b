"""Tasks in the planner's pages: made, changed, completed, reopened and deleted by their owner;
a bad form is a form error, another person's task a 404."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from dayflow.models import Profile, Task

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
GOOD = {"title": "Buy milk", "notes": "", "priority": "2", "list_name": "Home"}


def test_a_task_is_made_with_a_day_it_is_due(signed_in, user):
    response = signed_in.post("/tasks/new/", {**GOOD, "due_day": "2026-12-05"}, follow=True)

    task = Task.objects.get(user=user)
    assert (task.title, task.due_date, task.due_at, task.priority) == (
        "Buy milk",
        dt.date(2026, 12, 5),
        None,
        2,
    )
    assert "Task “Buy milk” added." in response.content.decode()
    assert response.redirect_chain == [("/tasks/", 302)]


def test_a_time_it_is_due_is_read_in_the_persons_zone(signed_in, user):
    Profile.objects.create(user=user, timezone="Europe/Berlin")

    signed_in.post("/tasks/new/", {**GOOD, "due_day": "2026-12-05", "due_time": "09:30"})

    task = Task.objects.get(user=user)
    assert task.due_date is None
    assert task.due_at == dt.datetime(2026, 12, 5, 9, 30, tzinfo=BERLIN)
    assert "Sat 5 Dec 2026, 09:30" in signed_in.get("/tasks/").content.decode()


def test_a_task_is_edited_and_its_version_moves(signed_in, user):
    task = Task.objects.create(user=user, title="Old", due_date=dt.date(2026, 1, 2))

    signed_in.post(f"/tasks/{task.pk}/edit/", {**GOOD, "title": "New", "due_day": ""})

    task.refresh_from_db()
    assert (task.title, task.due_date, task.version) == ("New", None, 2)


def test_the_edit_form_shows_the_task_as_it_is(signed_in, user):
    Profile.objects.create(user=user, timezone="Europe/Berlin")
    due = dt.datetime(2026, 12, 5, 8, 30, tzinfo=dt.UTC)
    task = Task.objects.create(user=user, title="Call", due_at=due)

    body = signed_in.get(f"/tasks/{task.pk}/edit/").content.decode()

    assert 'value="2026-12-05"' in body
    assert 'value="09:30"' in body


def test_a_task_is_completed_and_reopened(signed_in, user):
    task = Task.objects.create(user=user, title="Walk")

    with time_machine.travel(dt.datetime(2026, 12, 5, 10, tzinfo=dt.UTC), tick=False):
        signed_in.post(f"/tasks/{task.pk}/complete/")
    task.refresh_from_db()
    assert (task.status, task.completed_at) == ("done", dt.datetime(2026, 12, 5, 10, tzinfo=dt.UTC))

    signed_in.post(f"/tasks/{task.pk}/complete/", {"done": "0"})
    task.refresh_from_db()
    assert (task.status, task.completed_at, task.version) == ("open", None, 3)


def test_completing_goes_back_only_to_our_own_pages(signed_in, user):
    task = Task.objects.create(user=user, title="Walk")

    here = signed_in.post(f"/tasks/{task.pk}/complete/", {"next": "/"})
    assert here["Location"] == "/"
    for away in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
        response = signed_in.post(f"/tasks/{task.pk}/complete/", {"next": away})
        assert response["Location"] == "/tasks/", away


def test_a_deleted_task_is_soft_deleted_so_the_sync_sees_it(signed_in, user):
    task = Task.objects.create(user=user, title="Gone")

    assert "Delete this task?" in signed_in.get(f"/tasks/{task.pk}/delete/").content.decode()
    signed_in.post(f"/tasks/{task.pk}/delete/")

    task = Task.all_objects.get(pk=task.pk)
    assert task.is_deleted
    assert task.version == 2


BAD_TASKS = [
    ("no title", {"title": ""}, "title"),
    ("title too long", {"title": "x" * 501}, "title"),
    ("notes too long", {"notes": "x" * 10_001}, "notes"),
    ("list too long", {"list_name": "x" * 201}, "list_name"),
    ("priority not a choice", {"priority": "9"}, "priority"),
    ("priority not a number", {"priority": "high"}, "priority"),
    ("date before 1900", {"due_day": "1899-12-31"}, "due_day"),
    ("date after 2200", {"due_day": "2201-01-01"}, "due_day"),
    ("date not a date", {"due_day": "2026-02-30"}, "due_day"),
    ("year 0", {"due_day": "0000-01-01"}, "due_day"),
    ("huge year", {"due_day": "99999-01-01"}, "due_day"),
    ("time without a day", {"due_time": "10:00"}, "due_day"),
    ("time not a time", {"due_day": "2026-01-01", "due_time": "25:61"}, "due_time"),
]


@pytest.mark.parametrize(("name", "change", "field"), BAD_TASKS, ids=[c[0] for c in BAD_TASKS])
def test_a_bad_task_is_a_form_error(signed_in, user, name, change, field):
    response = signed_in.post("/tasks/new/", {**GOOD, **change})

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Task.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    ("name", "methods"),
    [("task-edit", ["get", "post"]), ("task-delete", ["get", "post"]), ("task-complete", ["post"])],
)
def test_another_persons_task_is_not_found(client, user, other_user, name, methods):
    task = Task.objects.create(user=user, title="Mine")
    client.force_login(other_user)

    for method in methods:
        assert getattr(client, method)(reverse(name, args=[task.pk]), GOOD).status_code == 404

    task.refresh_from_db()
    assert (task.title, task.status, task.is_deleted, task.version) == ("Mine", "open", False, 1)


def test_a_deleted_task_is_not_found_either(signed_in, user):
    task = Task.objects.create(user=user, title="Gone")
    task.soft_delete()

    assert signed_in.get(f"/tasks/{task.pk}/edit/").status_code == 404


def test_changes_need_a_post_with_the_csrf_token(user):
    from django.test import Client

    task = Task.objects.create(user=user, title="Walk")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    assert client.get(f"/tasks/{task.pk}/complete/").status_code == 405
    assert client.post(f"/tasks/{task.pk}/complete/").status_code == 403
    assert client.post(f"/tasks/{task.pk}/delete/").status_code == 403
