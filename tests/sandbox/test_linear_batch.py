"""Linear's batched writes through the emulator over HTTP: aliased mutations in one request,
per-alias errors, and the engine pushing many new tasks in few write requests."""

from __future__ import annotations

import math
from typing import Any

import pytest

from dayflow.models import Task
from integrations.models import Connection, Service
from integrations.providers import errors
from integrations.providers.base import Write
from integrations.providers.http import HttpClient
from integrations.providers.linear.provider import LinearProvider
from integrations.sandbox.models import Item
from sync import engine
from sync.models import ItemLink, SyncJob
from tests.sandbox.test_linear import KEY, PKCE, app, gql, team_id, token  # noqa: F401


class CountingLinear(LinearProvider):
    """The real provider, keeping the documents it sends (`mutations`: the writes)."""

    sent: list[str] = []

    def send(self, query: str, variables: dict[str, Any], idempotent: bool) -> Any:
        CountingLinear.sent.append(query)
        return super().send(query, variables, idempotent)

    @classmethod
    def mutations(cls) -> list[str]:
        return [query for query in cls.sent if query.startswith("mutation")]


@pytest.fixture
def connection(transactional_db, user):
    """A Linear connection (the shared fixture's is Todoist's)."""
    return Connection.objects.create(
        user=user,
        service=Service.objects.get(key=KEY),
        external_account_id="linear-account",
        field_mapping={},
    )


@pytest.fixture
def linear(transactional_db, live_server, app, connect, connection, monkeypatch):  # noqa: F811
    tokens = connect(KEY, app, "oauth/token", **PKCE)
    monkeypatch.setattr(LinearProvider, "api_base", f"{live_server.url}/sandbox/linear/graphql")
    team = Item.objects.get(kind="team", data__key="ENG")
    connection.field_mapping = {"team_id": team.remote_id, "write_id_marker": True}
    connection.save()
    http = HttpClient(
        KEY,
        auth_headers=lambda: {"Authorization": f"Bearer {tokens['access_token']}"},
        rate=(0, 1.0),
        sleep=lambda seconds: None,
    )
    CountingLinear.sent = []
    yield CountingLinear(connection, http=http)
    http.session.close()


def test_the_emulator_answers_each_aliased_mutation_and_errs_per_alias(token):  # noqa: F811
    document = (
        "mutation M($a: IssueCreateInput!, $b: IssueCreateInput!) {"
        " m0: issueCreate(input: $a) { success issue { id title } }"
        " m1: issueCreate(input: $b) { success issue { id title } } }"
    )
    team = team_id(token)
    answer = gql(token, document, {"a": {"teamId": team, "title": "Kept"}, "b": {"teamId": team}})

    assert answer.status_code == 200  # some data: not the whole request's failure
    body = answer.json()
    assert body["data"]["m0"]["issue"]["title"] == "Kept"
    assert body["data"]["m1"] is None
    assert [error["path"] for error in body["errors"]] == [["m1"]]
    assert body["errors"][0]["extensions"]["code"] == "INPUT_ERROR"


def test_creates_an_update_and_a_delete_in_one_request_one_failing_alone(linear):
    first = linear.create({"title": "Old", "status": "open", "priority": 0}, dayflow_id="df-0")
    CountingLinear.sent.clear()
    writes = [
        Write("create", {"title": "One", "status": "open"}, dayflow_id="df-1"),
        Write("create", {"title": "", "status": "open"}, dayflow_id="df-2"),  # refused
        Write("update", {"title": "Renamed"}, remote_id=first.remote_id, version=first.version),
        Write("delete", remote_id="no-such-issue"),
    ]

    results = linear.write_batch(writes)

    assert len(CountingLinear.mutations()) == 1
    assert results[0].fields["title"] == "One"
    assert results[0].dayflow_id == "df-1"
    assert isinstance(results[1], errors.Permanent)
    assert results[2].fields["title"] == "Renamed"
    assert isinstance(results[3], errors.NotFound)
    assert linear.find_by_dayflow_id("df-2") is None  # nothing made for the refused one


def test_a_batch_sent_again_duplicates_nothing(linear):
    writes = [
        Write("create", {"title": f"Batched {n}", "status": "open"}, dayflow_id=f"d{n}")
        for n in range(3)
    ]
    made = linear.write_batch(writes)
    again = linear.write_batch(writes)
    assert [i.remote_id for i in again] == [i.remote_id for i in made]
    assert len(CountingLinear.mutations()) == 1  # the second found all three by their markers
    assert Item.objects.filter(kind="issue", data__title__startswith="Batched ").count() == 3


def test_60_new_tasks_reach_linear_in_ceil_60_over_the_batch_size_requests(
    linear, use_provider, connection, user
):
    use_provider(lambda c: linear)
    Task.objects.bulk_create([Task(user=user, title=f"task {n:02}") for n in range(60)])

    job = SyncJob.objects.create(connection=connection)
    engine.run_job(job.pk)
    job.refresh_from_db()

    assert job.status == "succeeded", job.error
    size = LinearProvider.write_batch_size
    assert len(CountingLinear.mutations()) == math.ceil(60 / size)
    assert job.remote_created == 60
    # Per batch: the mutation alone (the engine's creates come looked for already,
    # `Write.looked_up`: no markers' look-up, which a create from elsewhere makes, above);
    # once: the pull and the team's states.
    assert len(CountingLinear.sent) == math.ceil(60 / size) + 2
    links = ItemLink.objects.exclude(remote_id="").filter(task__title__startswith="task ")
    assert links.count() == 60  # besides the emulator's 14 seeded issues, pulled in
    titles = Item.objects.filter(kind="issue", data__title__startswith="task ")
    assert titles.count() == 60
