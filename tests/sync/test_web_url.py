"""A link keeps the item's page at the service: from the pull when the item came from there,
from the write when DayFlow created it; a later answer without one keeps what is known."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from dayflow.models import Task
from integrations.providers.base import RemoteItem
from sync import engine
from sync.models import ItemLink, SyncJob
from tests.sync.conftest import task_fields
from tests.sync.fakes import FakeProvider, FakeService

pytestmark = pytest.mark.django_db


class PagedProvider(FakeProvider):
    """The fake service, with a page per item (its address made from the id); `hidden` ids
    are answered without one, as a service's partial answer would be."""

    web_url_template = "https://fake.example/items/{id}"
    hidden: set[str] = set()

    def _item(self, remote_id: str) -> RemoteItem:
        item = super()._item(remote_id)
        raw: dict[str, Any] = {}
        url = "" if remote_id in self.hidden else self.web_url(raw, remote_id)
        return dataclasses.replace(item, web_url=url)


@pytest.fixture
def sync(use_provider, connection):
    service = FakeService()
    use_provider(lambda conn: PagedProvider(conn, service))

    def run() -> SyncJob:
        job = SyncJob.objects.create(connection=connection, kind=SyncJob.Kind.INCREMENTAL)
        engine.run_job(job.pk)
        job.refresh_from_db()
        assert job.status == SyncJob.Status.SUCCEEDED, job.error
        return job

    run.service = service
    PagedProvider.hidden = set()
    return run


def test_an_item_pulled_from_the_service_links_to_its_page(sync, connection):
    remote_id = sync.service.add(**task_fields("from the service"))

    sync()

    link = ItemLink.objects.get(connection=connection, remote_id=remote_id)
    assert link.web_url == f"https://fake.example/items/{remote_id}"
    assert link.web_address == link.web_url


def test_an_item_dayflow_created_at_the_service_links_to_its_page(sync, connection, user):
    task = Task.objects.create(user=user, title="from DayFlow")

    sync()

    link = ItemLink.objects.get(connection=connection, task=task)
    assert link.remote_id
    assert link.web_url == f"https://fake.example/items/{link.remote_id}"


def test_a_later_answer_without_an_address_keeps_the_known_one(sync, connection):
    remote_id = sync.service.add(**task_fields("first"))
    sync()
    PagedProvider.hidden = {remote_id}
    sync.service.edit(remote_id, title="edited at the service")

    sync()

    link = ItemLink.objects.get(connection=connection, remote_id=remote_id)
    assert link.task.title == "edited at the service"
    assert link.web_url == f"https://fake.example/items/{remote_id}"


def test_a_stored_address_that_is_not_http_is_never_offered(connection, user):
    task = Task.objects.create(user=user, title="t")
    link = ItemLink.objects.create(
        connection=connection, item_type="task", remote_id="r", task=task, web_url="javascript:x"
    )

    assert link.web_address == ""
