"""A page or an API request that waits on the service (a deletion restored, a conflict settled,
a job undone) gives up after one retry, not a sync job's five attempts and two minutes of
backoff: the person hears the service could not be reached within seconds."""

from __future__ import annotations

import re

import pytest
import requests
import responses
from django.utils import timezone

from dayflow.models import Task
from integrations.models import Credential
from integrations.providers.http import HttpClient
from sync import deletions
from sync.deletion_policy import Mark
from sync.engine import providers
from sync.models import ItemLink

pytestmark = pytest.mark.django_db
TODOIST = re.compile(r"https://api\.todoist\.com/.*")


@pytest.fixture
def credential(connection):
    return Credential.objects.create(connection=connection, access_token="t")


@responses.activate
def test_restoring_a_deletion_while_the_service_is_unreachable_asks_twice(
    connection, credential, user
):
    responses.add(responses.GET, TODOIST, body=requests.ConnectionError("unreachable"))
    task = Task.objects.create(user=user, title="gone here", deleted_at=timezone.now())
    link = ItemLink.objects.create(
        connection=connection,
        item_type="task",
        task=task,
        remote_id="r1",
        deletion_pending=Mark.LOCAL,
        deletion_pending_at=timezone.now(),
    )

    report = deletions.settle(connection, "restore", link.pk, user=user)

    assert [failure["link"] for failure in report.failed] == [link.pk]
    assert len(responses.calls) == 2
    link.refresh_from_db()
    assert link.deletion_pending == Mark.LOCAL  # still waiting for the person


def test_the_engines_seam_gives_the_short_budget_only_to_the_connections_own_provider(
    connection, credential, use_provider
):
    waiting = providers.provider_for(connection, someone_waits=True)
    job = providers.provider_for(connection)
    assert waiting.http.max_attempts == 2
    assert job.http.max_attempts == HttpClient("todoist").max_attempts

    fake = object()
    use_provider(lambda _connection: fake)
    assert providers.provider_for(connection, someone_waits=True) is fake
