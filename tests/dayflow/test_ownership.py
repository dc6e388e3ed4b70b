"""Ownership: every page that takes an id answers 404 for another user's object, through the
one `for_user` rule of each model, and the table below covers every such page."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from dayflow.models import Calendar, TaskList
from integrations.models import Connection
from sync.models import Conflict, ItemLink, SyncJob

pytestmark = pytest.mark.django_db

# (url name, the object its id names, extra path arguments, methods)
PAGES = [
    ("integrations:reconnect", "connection", [], ["post"]),
    ("integrations:pause", "connection", [], ["post"]),
    ("integrations:resume", "connection", [], ["post"]),
    ("integrations:disconnect", "connection", [], ["get", "post"]),
    ("integrations:settings", "connection", [], ["get", "post"]),
    ("sync:start", "connection", [], ["post"]),
    ("integrations:card", "connection", [], ["get"]),
    ("integrations:rules-preview", "connection", [], ["post"]),
    ("sync:job", "job", [], ["get"]),
    ("sync:job-live", "job", [], ["get"]),
    *[
        ("sync:job-control", "job", [action], ["post"])
        for action in ("pause", "resume", "cancel", "confirm", "undo", "send-again")
    ],
    ("sync:deletions", "connection", [], ["get"]),
    ("sync:deletions-settle", "connection", [], ["post"]),
    ("sync:conflict", "conflict", [], ["get"]),
    ("sync:conflict-resolve", "conflict", [], ["post"]),
    ("sync:list-rename", "task_list", {"kind": "list"}, ["post"]),
    ("sync:list-delete", "task_list", {"kind": "list"}, ["get", "post"]),
    ("sync:list-rename", "calendar", {"kind": "calendar"}, ["post"]),
    ("sync:list-delete", "calendar", {"kind": "calendar"}, ["get", "post"]),
    ("sync:link", "sync_link", [], ["post"]),
    ("sync:link-settings", "sync_link", [], ["get", "post"]),
    ("sync:link-rules-preview", "sync_link", [], ["post"]),
]


def _url(name: str, pk: int, extra: list | dict) -> str:
    """Extra path arguments after the id (a list), or named ones around it (a dict)."""
    if isinstance(extra, dict):
        return reverse(name, kwargs={"pk": pk, **extra})
    return reverse(name, args=[pk, *extra])


@pytest.fixture
def owned(connection):
    link = ItemLink.objects.create(connection=connection, item_type="task", remote_id="r1")
    return {
        "connection": connection,
        "job": SyncJob.objects.create(connection=connection),
        "conflict": Conflict.objects.create(link=link, local={"title": "a"}, remote={"title": "b"}),
        "task_list": TaskList.objects.create(user=connection.user, name="Home"),
        "calendar": Calendar.objects.create(user=connection.user, name="Family"),
        "sync_link": connection.sync_links.get(),
    }


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr("sync.tasks.run_job.apply_async", lambda *a, **k: None)


@pytest.mark.parametrize(("name", "kind", "extra", "methods"), PAGES)
def test_another_users_object_is_not_found(client, other_user, owned, name, kind, extra, methods):
    client.force_login(other_user)
    url = _url(name, owned[kind].pk, extra)
    for method in methods:
        assert getattr(client, method)(url).status_code == 404, (name, method)
    owned[kind].refresh_from_db()  # still there, untouched by the refused request


@pytest.mark.parametrize(("name", "kind", "extra", "methods"), PAGES)
def test_the_owner_reaches_the_same_page(client, user, owned, name, kind, extra, methods):
    client.force_login(user)
    url = _url(name, owned[kind].pk, extra)
    assert getattr(client, methods[0])(url).status_code != 404, name


def test_the_table_covers_every_page_that_takes_an_id():
    taking_an_id = {
        name
        for name, pattern in _named_patterns(get_resolver())
        if "<int:" in pattern and name.split(":")[0] in ("integrations", "sync")
    }
    assert taking_an_id == {name for name, *_ in PAGES}


def test_for_user_keeps_only_the_users_own(user, other_user, owned):
    assert list(Connection.objects.for_user(user)) == [owned["connection"]]
    assert list(SyncJob.objects.for_user(user)) == [owned["job"]]
    assert list(Conflict.objects.for_user(user)) == [owned["conflict"]]
    assert not Connection.objects.for_user(other_user).exists()
    assert not SyncJob.objects.for_user(other_user).exists()
    assert not Conflict.objects.for_user(other_user).exists()


def _named_patterns(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _named_patterns(entry, route, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name, route
