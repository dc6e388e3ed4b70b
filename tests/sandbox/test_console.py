"""The console, per service: adding, editing and deleting an item "at the service" changes it
there, moves the change feed the real provider pulls, and queues the service's signed webhook
— the same as the emulator's API does."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations.providers.http import HttpClient
from integrations.providers.todoist.provider import TodoistProvider
from integrations.sandbox.desks import DESKS
from integrations.sandbox.models import Delivery, Item
from tests.sandbox.console_fixtures import LINES, connector

DAY = dt.date.today() + dt.timedelta(days=3)


@pytest.fixture
def at_service(register, connect, user):
    return connector(register, connect, user)


def task_form(title: str, **extra: str) -> dict[str, str]:
    return {"title": title, "due": DAY.isoformat(), **extra}


def event_form(title: str, **extra: str) -> dict[str, str]:
    return {"title": title, "start": f"{DAY}T09:00", "end": f"{DAY}T10:30", **extra}


def form(key: str, title: str, **extra: str) -> dict[str, str]:
    return (event_form if DESKS[key].events else task_form)(title, **extra)


def console(key: str, account) -> str:
    return f"/sandbox/{key}/console/{account.pk}/"


def newest(account) -> Item:
    return Item.objects.filter(account=account, kind=DESKS[account.service].item_kind).latest("pk")


@pytest.fixture
def subscribed(at_service, request, settings):
    def run(key: str):
        line = LINES[key]
        live = None
        if line.live:
            live = request.getfixturevalue("live_server")
            settings.ROOT_URLCONF = "tests.sandbox.echo_urls"  # Graph's validationToken echo
        account, token = at_service(key)
        secret = line.subscribe(token, live)
        return account, token, secret

    return run


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("key", list(LINES))
def test_add_edit_and_delete_at_the_service_move_the_feed_and_send_signed_webhooks(
    subscribed, client, user, key
):
    line, desk = LINES[key], DESKS[key]
    account, token, secret = subscribed(key)
    client.force_login(user)
    container = desk.containers(account)[0][0]
    cursor = line.start(token, container)

    def sent_one_more(before: int) -> None:
        assert Delivery.objects.count() > before
        assert line.verify(Delivery.objects.latest("pk"), secret)

    # add
    before = Delivery.objects.count()
    added = client.post(
        console(key, account), {**form(key, "Made at the service"), "container": container}
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    item = newest(account)
    assert desk.read(item).title == "Made at the service"
    changed, cursor = line.feed(token, container, cursor)
    assert item.remote_id in changed
    sent_one_more(before)

    # edit
    before = Delivery.objects.count()
    edited = client.post(f"{console(key, account)}{item.pk}/", form(key, "Edited at the service"))
    assert edited.status_code == 302, edited.content.decode()[:2000]
    item.refresh_from_db()
    assert desk.read(item).title == "Edited at the service"
    changed, cursor = line.feed(token, container, cursor)
    assert item.remote_id in changed
    sent_one_more(before)

    # delete
    before = Delivery.objects.count()
    deleted = client.post(f"{console(key, account)}{item.pk}/delete")
    assert deleted.status_code == 302
    assert desk.item(account, item.pk) is None
    if line.feed_shows_deletes:
        changed, cursor = line.feed(token, container, cursor)
        assert item.remote_id in changed
    sent_one_more(before)


@pytest.mark.parametrize("key", [k for k, desk in DESKS.items() if not desk.events])
def test_completing_a_task_at_the_service(at_service, client, user, key):
    account, _ = at_service(key)
    client.force_login(user)
    desk = DESKS[key]
    row = next(r for r in desk.items(account, desk.containers(account)[0][0]) if not r.now.done)

    client.post(f"{console(key, account)}{row.item.pk}/", task_form(row.now.title, done="on"))

    row.item.refresh_from_db()
    assert desk.read(row.item).done is True
    assert desk.read(row.item).due == DAY


@pytest.mark.parametrize("key", [k for k, desk in DESKS.items() if desk.events])
def test_an_event_can_become_all_day(at_service, client, user, key):
    account, _ = at_service(key)
    client.force_login(user)
    desk = DESKS[key]
    row = next(r for r in desk.items(account, desk.containers(account)[0][0]) if not r.now.all_day)

    answer = client.post(
        f"{console(key, account)}{row.item.pk}/",
        {"title": "Offsite", "all_day": "on", "start": f"{DAY}T00:00", "end": f"{DAY}T00:00"},
    )

    assert answer.status_code == 302
    row.item.refresh_from_db()
    now = desk.read(row.item)
    assert (now.all_day, now.start.date(), now.end.date()) == (
        True,
        DAY,
        DAY + dt.timedelta(days=1),
    )


def test_a_due_time_is_kept(at_service, client, user):
    account, _ = at_service("todoist")
    client.force_login(user)
    desk = DESKS["todoist"]
    item = desk.items(account, desk.containers(account)[0][0])[0].item

    client.post(f"{console('todoist', account)}{item.pk}/", task_form("Call", due_time="17:45"))

    item.refresh_from_db()
    assert (desk.read(item).due, desk.read(item).due_time) == (DAY, dt.time(17, 45))


@pytest.mark.django_db(transaction=True)
def test_the_real_todoist_provider_pulls_a_console_change(
    live_server, at_service, connection, client, user, monkeypatch
):
    account, token = at_service("todoist")
    monkeypatch.setattr(TodoistProvider, "api_base", f"{live_server.url}/sandbox/todoist/api/v1")
    work = Item.objects.get(account=account, kind="project", data__name="Work")
    connection.field_mapping = {"project_id": work.remote_id}
    http = HttpClient(
        "todoist", auth_headers=lambda: {"Authorization": f"Bearer {token}"}, rate=(0, 1.0)
    )
    provider = TodoistProvider(connection, http=http)
    cursor = provider.pull(None).next_cursor
    task = Item.objects.filter(account=account, container=work.remote_id, kind="task").first()
    client.force_login(user)

    client.post(f"{console('todoist', account)}{task.pk}/", task_form("Renamed at Todoist"))
    pulled = provider.pull(cursor)
    http.session.close()  # no kept-alive connection outlives the live server's database

    assert [(i.remote_id, i.fields["title"]) for i in pulled.items] == [
        (task.remote_id, "Renamed at Todoist")
    ]
