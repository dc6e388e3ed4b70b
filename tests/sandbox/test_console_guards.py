"""The console's guards: off means 404, a person must be signed in and sees only their own
accounts, CSRF is checked, and hostile input gets a clear 4xx and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client as Browser

from integrations.sandbox.desks import DESKS
from integrations.sandbox.models import Account, Delivery, Item
from tests.sandbox.conftest import query
from tests.sandbox.console_fixtures import connector

DAY = dt.date.today() + dt.timedelta(days=2)


@pytest.fixture
def at_service(register, connect, user):
    return connector(register, connect, user)


@pytest.fixture
def todoist(at_service, client, user) -> Account:
    account, _ = at_service("todoist")
    client.force_login(user)
    return account


def url(account: Account, tail: str = "") -> str:
    return f"/sandbox/{account.service}/console/{account.pk}/{tail}"


def a_task(account: Account) -> Item:
    return Item.objects.filter(account=account, kind="task", deleted=False).first()


def unchanged(account: Account, before: int) -> bool:
    account.refresh_from_db()
    return account.seq == before and not Delivery.objects.exists()


# --- who may use it -----------------------------------------------------------------------
def test_the_console_is_404_when_the_sandbox_is_off(todoist, client, settings):
    settings.DAYFLOW_SANDBOX = False

    assert client.get("/sandbox/console/").status_code == 404
    assert client.get(url(todoist)).status_code == 404


def test_a_stranger_is_sent_to_sign_in(todoist):
    answer = Browser().get(url(todoist))

    assert answer.status_code == 302
    assert "login" in answer["Location"]


def test_someone_elses_account_is_404(todoist, client, other_user):
    client.force_login(other_user)

    assert client.get(url(todoist)).status_code == 404
    assert client.post(url(todoist, f"{a_task(todoist).pk}/delete")).status_code == 404
    assert "todoist" not in client.get("/sandbox/console/").content.decode().split("<main>")[1]


def test_the_index_lists_only_my_accounts_by_service(todoist, client):
    page = client.get("/sandbox/console/").content.decode()

    assert todoist.login in page
    assert "No Notion sandbox account yet" in page


def test_an_unknown_service_or_item_is_404(todoist, client):
    assert client.get(f"/sandbox/nothing/console/{todoist.pk}/").status_code == 404
    assert client.get(f"/sandbox/notion/console/{todoist.pk}/").status_code == 404
    assert client.get(url(todoist, "999999/")).status_code == 404
    project = Item.objects.filter(account=todoist, kind="project").first()
    assert client.get(url(todoist, f"{project.pk}/")).status_code == 404  # not a task


def test_the_authorize_page_links_the_account_to_the_signed_in_user(register, user):
    app = register("todoist")
    browser = Browser()
    browser.force_login(user)
    params = {"client_id": app.client_id, "redirect_uri": app.redirect_uri, "state": "s"}

    answer = browser.post("/sandbox/todoist/oauth/authorize", {**params, "allow": "1"})

    assert "code" in query(answer["Location"])
    assert Account.objects.get(service="todoist").user == user


def test_without_a_csrf_token_nothing_changes(todoist, user):
    browser = Browser(enforce_csrf_checks=True)
    browser.force_login(user)
    before = todoist.seq

    answer = browser.post(url(todoist, f"{a_task(todoist).pk}/delete"))

    assert answer.status_code == 403
    assert unchanged(todoist, before)


def test_delete_takes_post_only(todoist, client):
    before = todoist.seq

    assert client.get(url(todoist, f"{a_task(todoist).pk}/delete")).status_code == 405
    assert unchanged(todoist, before)


# --- hostile input ------------------------------------------------------------------------
def project(account: Account) -> str:
    return DESKS["todoist"].containers(account)[0][0]


HOSTILE_TASKS = {
    "no title": {"title": "   "},
    "a title too long": {"title": "x" * 201},
    "a NUL in the title": {"title": "a\x00b"},
    "a date that is not one": {"title": "t", "due": "2026-02-30"},
    "a date out of range": {"title": "t", "due": "1899-01-01"},
    "a time without a date": {"title": "t", "due_time": "10:00"},
    "a time that is not one": {"title": "t", "due": DAY.isoformat(), "due_time": "25:61"},
}


@pytest.mark.parametrize("form", HOSTILE_TASKS.values(), ids=list(HOSTILE_TASKS))
def test_a_hostile_edit_is_400_and_changes_nothing(todoist, client, form):
    task = a_task(todoist)
    data, before = dict(task.data), todoist.seq

    answer = client.post(url(todoist, f"{task.pk}/"), form)

    assert answer.status_code == 400
    assert 'class="error"' in answer.content.decode()
    task.refresh_from_db()
    assert task.data == data
    assert unchanged(todoist, before)


@pytest.mark.parametrize(
    "form",
    [{"title": "t"}, {"title": "t", "container": "not-a-project"}, {}],
    ids=["no project", "someone else's project", "nothing"],
)
def test_a_hostile_add_is_400_and_adds_nothing(todoist, client, form):
    before, count = todoist.seq, Item.objects.count()

    answer = client.post(url(todoist), form)

    assert answer.status_code == 400
    assert Item.objects.count() == count
    assert unchanged(todoist, before)


@pytest.fixture
def calendar(at_service, client, user) -> Account:
    account, _ = at_service("google-calendar")
    client.force_login(user)
    return account


HOSTILE_EVENTS = {
    "an end before the start": {"start": f"{DAY}T10:00", "end": f"{DAY}T09:00"},
    "no length": {"start": f"{DAY}T10:00", "end": f"{DAY}T10:00"},
    "longer than 31 days": {"start": f"{DAY}T10:00", "end": f"{DAY + dt.timedelta(days=40)}T10:00"},
    "not a date-time": {"start": "tomorrow", "end": f"{DAY}T10:00"},
    "no end": {"start": f"{DAY}T10:00"},
    "a year out of range": {"start": "2999-01-01T10:00", "end": "2999-01-01T11:00"},
}


@pytest.mark.parametrize("span", HOSTILE_EVENTS.values(), ids=list(HOSTILE_EVENTS))
def test_a_hostile_event_edit_is_400_and_changes_nothing(calendar, client, span):
    desk = DESKS["google-calendar"]
    event = desk.items(calendar, desk.containers(calendar)[0][0])[0].item
    data, before = dict(event.data), calendar.seq

    answer = client.post(url(calendar, f"{event.pk}/"), {"title": "t", **span})

    assert answer.status_code == 400
    event.refresh_from_db()
    assert event.data == data
    assert unchanged(calendar, before)


def test_the_banner_says_who_you_are_acting_as(todoist, client):
    page = client.get(url(todoist)).content.decode()

    assert "Sandbox — you are acting as Todoist, not DayFlow" in page
