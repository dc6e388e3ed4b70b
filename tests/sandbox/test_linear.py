"""Linear's emulator: the hand-built fixtures from the schema (tests/fixtures/linear), the
GraphQL subset the provider sends, PKCE and rotation, signed webhooks, and the real
LinearProvider through it over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client as Browser

from integrations.providers import errors
from integrations.providers.http import HttpClient
from integrations.providers.linear import provider as linear_provider
from integrations.providers.linear.provider import LinearProvider
from integrations.providers.linear.webhook import LinearRegistrar, verify_linear
from integrations.sandbox import graphql, linear
from integrations.sandbox.models import Account, Delivery, Item
from tests.integrations.providers.support import load
from tests.sandbox.conftest import VERIFIER, challenge, same_shape

KEY = "linear"
URL = "/sandbox/linear/graphql"
PKCE = {"code_challenge": challenge(), "code_challenge_method": "S256"}


@pytest.fixture
def app(register):
    return register(
        KEY,
        webhook_url="http://127.0.0.1:8000/api/webhooks/linear/",
        webhook_secret="lin-app-secret",
    )


@pytest.fixture
def token(app, connect) -> str:
    return connect(KEY, app, "oauth/token", scope="read,write", **PKCE)["access_token"]


def gql(token: str, query: str, variables: dict[str, Any] | None = None):
    body = json.dumps({"query": query, "variables": variables or {}})
    return Browser().post(
        URL, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def team_id(token: str, key: str = "ENG") -> str:
    teams = gql(token, linear_provider.TEAMS, {"after": None}).json()["data"]["teams"]["nodes"]
    return next(t["id"] for t in teams if t["key"] == key)


def test_pkce_rotation_and_a_24_hour_token(app, authorize):
    code = authorize(KEY, app, **PKCE)["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri}
    form |= {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "code_verifier": "wrong",
    }

    assert Browser().post("/sandbox/linear/oauth/token", form).json()["error"] == "invalid_grant"
    code = authorize(KEY, app, **PKCE)["code"]
    first = (
        Browser()
        .post(
            "/sandbox/linear/oauth/token",
            {
                **form,
                "code": code,
                "code_verifier": VERIFIER,
            },
        )
        .json()
    )
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    refresh |= {"client_id": app.client_id, "client_secret": app.client_secret}
    second = Browser().post("/sandbox/linear/oauth/token", refresh).json()

    assert first["expires_in"] == 86400
    assert second["refresh_token"] != first["refresh_token"]
    assert Browser().post("/sandbox/linear/oauth/token", refresh).json()["error"] == "invalid_grant"


# --- contract: the fixtures win ---------------------------------------------------------------
def test_an_issue_has_the_fields_of_the_fixture(token):
    issues = gql(token, linear_provider.ISSUES, {"filter": {}, "first": 1}).json()["data"]["issues"]

    assert same_shape(load("linear", "issue.json"), issues["nodes"][0]) == []
    assert set(issues["nodes"][0]) == set(load("linear", "issue.json"))  # just what was asked
    assert set(issues["pageInfo"]) == {"hasNextPage", "endCursor"}


def more_issues(count: int) -> None:
    """`count` more issues like the first, in one insert."""
    model = Item.objects.filter(kind="issue").order_by("pk").first()
    Item.objects.bulk_create(
        Item(
            account=model.account,
            kind="issue",
            remote_id=f"copy{n}",
            container=model.container,
            data={**model.data, "id": f"copy{n}"},
            seq=model.seq,
        )
        for n in range(count)
    )


def issues(token: str, first: Any):
    return gql(
        token, "query Q($first: Int) { issues(first: $first) { nodes { id } } }", {"first": first}
    )


def test_a_connection_serves_up_to_250_and_refuses_more(token):
    more_issues(linear.PAGE_MAX + 1)

    served = issues(token, 250).json()["data"]["issues"]["nodes"]
    default = issues(token, None).json()["data"]["issues"]["nodes"]
    refused = [issues(token, size) for size in (251, 0, -1, "ten")]

    assert (len(served), len(default)) == (250, 50)
    assert {r.status_code for r in refused} == {400}
    assert all("first" in r.json()["errors"][0]["message"] for r in refused)


COMPLEXITY_CASES = [
    pytest.param("{ viewer { id name } }", {}, 1.2, id="an-object-and-two-properties"),
    pytest.param("{ teams { nodes { id } } }", {}, 50 * 1.1, id="a-connection-at-its-default"),
    pytest.param("{ teams(first: 3) { nodes { id } } }", {}, 3 * 1.1, id="a-connection-of-3"),
    pytest.param(linear_provider.ISSUES, {"first": 250}, 250 * 67, id="the-issues-query-at-250"),
]


@pytest.mark.parametrize(("document", "variables", "points"), COMPLEXITY_CASES)
def test_complexity_is_counted_as_linear_documents_it(document, variables, points):
    _, fields = graphql.Parser(document).operation()

    assert graphql.complexity(fields, variables, linear.PAGE_DEFAULT) == pytest.approx(points)


def test_the_provider_s_issue_page_fits_the_complexity_cap_and_250_would_not(token):
    team = team_id(token)
    at = {
        size: gql(
            token, linear_provider.ISSUES, {"filter": {"team": {"id": {"eq": team}}}, "first": size}
        )
        for size in (linear_provider.PAGE_SIZE, 250)
    }

    assert at[linear_provider.PAGE_SIZE].status_code == 200
    assert at[250].status_code == 400
    assert at[250].json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


@pytest.mark.parametrize("body", ["[]", '{"query": "{ viewer { id } }", "variables": [1]}'])
def test_a_body_that_is_no_object_is_refused(token, body):
    response = Browser().post(
        URL, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code == 400
    assert response.json()["errors"]


def test_the_states_query_answers_as_the_fixture(token):
    body = gql(token, linear_provider.STATES, {"id": team_id(token)}).json()

    assert same_shape(load("linear", "states.json"), body) == []
    assert {s["type"] for s in body["data"]["team"]["states"]["nodes"]} == {
        s["type"] for s in load("linear", "states.json")["data"]["team"]["states"]["nodes"]
    }


def test_an_unknown_token_and_a_storm_answer_as_the_fixtures(token):
    refused = gql("lin_oauth_nope", linear_provider.TEAMS)
    Account.objects.update(throttled=1)
    limited = gql(token, linear_provider.TEAMS)

    assert refused.json() == load("linear", "error_auth.json")
    assert limited.json() == load("linear", "error_ratelimited.json")
    assert {
        "X-RateLimit-Requests-Limit",
        "X-RateLimit-Requests-Remaining",
        "X-RateLimit-Requests-Reset",
    } <= set(limited.headers)


def test_an_unknown_field_is_a_graphql_error(token):
    body = gql(token, "query { viewer { id shoeSize } }").json()

    assert body["data"] is None
    assert 'Cannot query field "shoeSize"' in body["errors"][0]["message"]


def test_webhook_create_needs_the_admin_scope(token):
    mutation = LinearRegistrar.CREATE  # the product's own mutation
    body = gql(
        token,
        mutation,
        {
            "input": {
                "url": "http://127.0.0.1:8000/h",
                "resourceTypes": ["Issue"],
                "allPublicTeams": True,
            }
        },
    ).json()

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_a_change_is_sent_to_the_app_webhook_signed_and_timestamped(token):
    issue_id = gql(token, linear_provider.ISSUES, {"filter": {}, "first": 1}).json()["data"][
        "issues"
    ]["nodes"][0]["id"]
    gql(token, linear_provider.UPDATE, {"id": issue_id, "input": {"title": "Ship the webhooks"}})

    sent = Delivery.objects.get()
    body = bytes(sent.body)
    assert same_shape(load("webhooks/linear", "Issue.update.json"), json.loads(body)) == []
    assert json.loads(body)["updatedFrom"]["title"] != "Ship the webhooks"
    assert verify_linear(sent.headers, body, "lin-app-secret").ok


# --- the real provider, over HTTP -------------------------------------------------------------
@pytest.fixture
def provider(transactional_db, live_server, app, connect, connection, monkeypatch):
    tokens = connect(KEY, app, "oauth/token", **PKCE)
    monkeypatch.setattr(LinearProvider, "api_base", f"{live_server.url}/sandbox/linear/graphql")
    team = Item.objects.get(kind="team", data__key="ENG")
    connection.field_mapping = {"team_id": team.remote_id, "write_id_marker": True}
    http = HttpClient(
        KEY,
        auth_headers=lambda: {"Authorization": f"Bearer {tokens['access_token']}"},
        rate=(0, 1.0),
        sleep=lambda seconds: None,
    )
    yield LinearProvider(connection, http=http)
    http.session.close()


def pull_all(provider, cursor=None):
    items, deleted = [], []
    while True:
        page = provider.pull(cursor)
        items += page.items
        deleted += page.deleted_ids
        cursor = page.next_cursor
        if not page.has_more:
            return items, deleted, cursor


def test_the_provider_pulls_creates_updates_deletes_and_pulls_just_the_changes(
    provider, monkeypatch
):
    monkeypatch.setattr(linear_provider, "PAGE_SIZE", 5)  # several Relay pages
    items, _, cursor = pull_all(provider)
    assert len(items) == 14
    assert {i.fields["status"] for i in items} == {"open", "done"}

    created = provider.create(
        {"title": "Try the sandbox", "status": "open", "priority": 3, "notes": ""},
        dayflow_id="df-3",
    )
    items, deleted, cursor = pull_all(provider, cursor)
    assert ([i.remote_id for i in items], deleted) == ([created.remote_id], [])
    assert items[0].dayflow_id == "df-3"

    updated = provider.update(
        created.remote_id, {"title": "Tried it", "status": "done"}, created.version
    )
    assert updated.fields["status"] == "done"
    items, _, cursor = pull_all(provider, cursor)
    assert [(i.remote_id, i.fields["title"]) for i in items] == [(created.remote_id, "Tried it")]

    provider.delete(created.remote_id, updated.version)
    items, deleted, cursor = pull_all(provider, cursor)
    assert (items, deleted) == ([], [created.remote_id])


def test_tags_are_the_workspaces_labels_both_ways(provider):
    created = provider.create(
        {"title": "Crash on save", "status": "open", "notes": "", "tags": ["bug", "nope"]},
        dayflow_id="df-9",
    )
    assert created.fields["tags"] == ["Bug"]  # found by name, case aside; an unknown one left out
    assert any("nope" in note for note in provider.notes)

    updated = provider.update(created.remote_id, {"tags": ["Feature", "Bug"]}, created.version)
    items, _, _ = pull_all(provider)

    assert sorted(updated.fields["tags"]) == ["Bug", "Feature"]
    assert {i.remote_id: sorted(i.fields["tags"]) for i in items}[created.remote_id] == [
        "Bug",
        "Feature",
    ]


def test_a_label_that_is_not_the_workspaces_is_refused(token):
    create = "mutation($input: IssueCreateInput!) { issueCreate(input: $input) { success } }"
    answer = gql(
        token, create, {"input": {"teamId": team_id(token), "title": "x", "labelIds": ["nope"]}}
    ).json()

    assert answer["errors"][0]["extensions"]["code"] == "INPUT_ERROR"
    labels = gql(token, linear_provider.LABELS, {"team": team_id(token), "first": 50})
    assert [n["name"] for n in labels.json()["data"]["issueLabels"]["nodes"]] == list(
        linear.WORKSPACE_LABELS
    )


def test_the_provider_reads_a_storm_as_rate_limited(provider):
    Account.objects.update(throttled=1)

    with pytest.raises(errors.RateLimited) as raised:
        provider.list_containers()

    assert 0 < raised.value.retry_after <= 2
