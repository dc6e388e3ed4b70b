"""Linear: GraphQL issue queries and mutations, mapping and errors, at the HTTP seam.

Shapes: tests/fixtures/linear/ (built from Linear's GraphQL schema, see SOURCE.md).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from integrations.providers import errors
from integrations.providers.linear.provider import LinearProvider
from tests.integrations.providers.support import (
    ERROR_CASES,
    arrange_error_case,
    assert_error_case,
    body,
    load,
)

API = "https://api.linear.app/graphql"
TEAM = "team-eng"
ISSUE = load("linear", "issue.json")


def issue(issue_id: str, updated: str, **changes: Any) -> dict[str, Any]:
    node = copy.deepcopy(ISSUE)
    node.update(id=issue_id, updatedAt=updated, **changes)
    return node


def issues(nodes: list[dict], end: str | None = None) -> dict[str, Any]:
    info = {"hasNextPage": end is not None, "endCursor": end}
    return {"data": {"issues": {"nodes": nodes, "pageInfo": info}}}


def variables(call: Any) -> dict[str, Any]:
    return body(call)["variables"]


@pytest.fixture
def provider(connect, wired) -> LinearProvider:
    connection = connect("linear", team_id=TEAM, write_id_marker=True)
    return LinearProvider(connection, http=wired(connection, "lin_oauth_live"))


# --- pull ---------------------------------------------------------------------------------
def test_several_teams_are_pulled_together_each_issue_in_its_own(connect, wired, mocked):
    connection = connect("linear", team_id=[TEAM, "team-2"], write_id_marker=True)
    provider = LinearProvider(connection, http=wired(connection, "lin_oauth_live"))
    other = issue("i2", "2026-02-01T11:00:00.000Z", team={"id": "team-2", "name": "Design"})
    mocked.post(API, json=issues([issue("i1", "2026-02-01T10:00:00.000Z"), other]))

    page = provider.pull(None)

    assert variables(mocked.calls[0])["filter"] == {"team": {"id": {"in": [TEAM, "team-2"]}}}
    assert [item.collection for item in page.items] == [ISSUE["team"]["id"], "team-2"]


def test_full_pull_follows_relay_cursors(provider, mocked):
    mocked.post(API, json=issues([issue("i1", "2026-02-01T10:00:00.000Z")], end="c1"))
    mocked.post(API, json=issues([issue("i2", "2026-02-01T11:00:00.000Z")]))
    first = provider.pull(None)
    second = provider.pull(first.next_cursor)
    assert [i.remote_id for i in first.items + second.items] == ["i1", "i2"]
    assert first.has_more
    assert not second.has_more
    assert first.full
    assert variables(mocked.calls[0]) == {
        "filter": {"team": {"id": {"eq": TEAM}}},
        "first": 100,  # the most a query of issues with their labels may cost
        "after": None,
    }
    assert variables(mocked.calls[1])["after"] == "c1"
    query = body(mocked.calls[0])["query"]
    assert "orderBy: updatedAt" in query
    assert "includeArchived: true" in query
    assert mocked.calls[0].request.headers["Authorization"] == "Bearer lin_oauth_live"
    assert json.loads(second.next_cursor) == {"since": "2026-02-01T11:00:00.000Z"}


def test_incremental_pull_filters_on_updated_at_and_reports_removals(provider, mocked):
    archived = issue("i1", "2026-02-02T09:00:00.000Z", archivedAt="2026-02-02T09:00:00.000Z")
    trashed = issue("i2", "2026-02-02T09:01:00.000Z", trashed=True)
    edited = issue("i3", "2026-02-02T09:02:00.000Z", title="Edited")
    mocked.post(API, json=issues([archived, trashed, edited]))
    page = provider.pull(json.dumps({"since": "2026-02-01T11:00:00.000Z"}))
    assert variables(mocked.calls[0])["filter"]["updatedAt"] == {"gt": "2026-02-01T11:00:00.000Z"}
    assert page.deleted_ids == ["i1", "i2"]
    assert [i.fields["title"] for i in page.items] == ["Edited"]
    assert json.loads(page.next_cursor) == {"since": "2026-02-02T09:02:00.000Z"}


def test_an_issue_with_an_out_of_range_priority_is_unexpected(provider, mocked):
    mocked.post(API, json=issues([issue("i1", "2026-02-01T10:00:00.000Z", priority=9)]))
    with pytest.raises(errors.UnexpectedPayload) as caught:
        provider.pull(None)
    assert (caught.value.service, caught.value.field) == ("linear", "priority")


# --- mapping ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("linear_priority", "dayflow_priority"), [(0, 0), (1, 4), (2, 3), (3, 2), (4, 1)]
)
def test_priorities_map_both_ways(provider, linear_priority, dayflow_priority):
    item = provider.to_item(issue("i", "2026-02-01T10:00:00.000Z", priority=linear_priority))
    assert item.fields["priority"] == dayflow_priority
    assert provider.to_input({"priority": dayflow_priority}, TEAM) == {"priority": linear_priority}


@pytest.mark.parametrize(
    ("state_type", "status"),
    [
        ("completed", "done"),
        ("canceled", "done"),
        ("started", "open"),
        ("backlog", "open"),
        ("triage", "open"),
    ],
)
def test_workflow_state_types_map_to_status(provider, state_type, status):
    node = issue(
        "i", "2026-02-01T10:00:00.000Z", state={"id": "s", "type": state_type, "name": "x"}
    )
    assert provider.to_item(node).fields["status"] == status


def echo_issue(request) -> tuple[int, dict, str]:
    """What Linear stores for issueCreate, returned in the shape our query selects."""
    sent = json.loads(request.body)["variables"]["input"]
    states = {n["id"]: n for n in load("linear", "states.json")["data"]["team"]["states"]["nodes"]}
    state = states[sent["stateId"]]
    completed = "2026-02-03T08:00:00.000Z" if state["type"] == "completed" else None
    node = issue(
        "new-issue",
        "2026-02-03T08:00:00.000Z",
        title=sent["title"],
        description=sent["description"],
        priority=sent["priority"],
        dueDate=sent["dueDate"],
        completedAt=completed,
        state={"id": state["id"], "type": state["type"], "name": "x"},
        labels={"nodes": [{"id": i, "name": i[6:]} for i in sent.get("labelIds", [])]},
    )
    return 200, {}, json.dumps({"data": {"issueCreate": {"success": True, "issue": node}}})


ROUND_TRIPS = [
    {
        "title": "Ship",
        "notes": "**bold** and\nlines",
        "status": "done",
        "due": dt.date(2026, 2, 20),
        "priority": 4,
        "tags": [],
    },
    {"title": "Later", "notes": "", "status": "open", "due": None, "priority": 0, "tags": []},
    {
        "title": "Low",
        "notes": "n",
        "status": "open",
        "due": dt.date(2026, 12, 1),
        "priority": 1,
        "tags": [],
    },
]


@pytest.mark.parametrize("fields", ROUND_TRIPS)
def test_every_normalized_field_round_trips(provider, mocked, fields):
    mocked.post(API, json=issues([]))  # no issue carries our marker yet
    mocked.post(API, json=load("linear", "states.json"))
    mocked.add_callback("POST", API, callback=echo_issue)
    item = provider.create(fields, dayflow_id="task-5")
    got = dict(item.fields)
    completed_at = got.pop("completed_at")
    assert got.pop("url") == ISSUE["url"]
    assert got == fields
    assert item.dayflow_id == "task-5"
    done_at = dt.datetime(2026, 2, 3, 8, tzinfo=dt.UTC)
    assert completed_at == (done_at if fields["status"] == "done" else None)


def test_a_due_time_keeps_its_local_date_because_linear_dates_have_no_time(provider):
    due = dt.datetime(2026, 2, 20, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert provider.to_input({"due": due}, TEAM) == {"dueDate": "2026-02-20"}


# --- writes -------------------------------------------------------------------------------
def test_create_sends_issue_create_with_our_marker(provider, mocked):
    mocked.post(API, json=issues([]))
    mocked.post(API, json=load("linear", "states.json"))
    mocked.add_callback("POST", API, callback=echo_issue)
    provider.create(
        {"title": "New", "notes": "Body", "status": "open", "priority": 2, "due": None},
        dayflow_id="task-5",
    )
    lookup = variables(mocked.calls[0])["filter"]
    assert lookup["description"] == {"contains": "[dayflow:task-5]"}
    assert variables(mocked.calls[1]) == {"id": TEAM}
    assert variables(mocked.calls[2])["input"] == {
        "teamId": TEAM,
        "title": "New",
        "description": "Body\n\n[dayflow:task-5]",
        "priority": 3,
        "stateId": "state-todo",  # an "unstarted" state before backlog or triage
        "dueDate": None,
    }


def test_without_the_marker_setting_the_description_is_left_alone(connect, make_client, mocked):
    provider = LinearProvider(connect("linear", team_id=TEAM), http=make_client("linear"))
    mocked.add_callback("POST", API, callback=echo_issue)
    provider._states = {TEAM: {"open": "state-todo", "done": "state-done"}}
    item = provider.create(
        {"title": "t", "notes": "plain", "status": "open", "priority": 0, "due": None},
        dayflow_id="task-5",
    )
    assert variables(mocked.calls[0])["input"]["description"] == "plain"
    assert item.dayflow_id == ""
    assert len(mocked.calls) == 1  # no lookup either: nothing to find


def test_a_retried_create_finds_the_issue_it_already_made(provider, mocked):
    made = issue("made", "2026-02-03T08:00:00.000Z", description="Body\n\n[dayflow:task-5]")
    mocked.post(API, json=issues([made]))
    item = provider.create({"title": "New"}, dayflow_id="task-5")
    assert item.remote_id == "made"
    assert item.fields["notes"] == "Body"
    assert len(mocked.calls) == 1


def test_update_keeps_the_marker_and_checks_the_version(provider, mocked):
    current = issue("i1", "2026-02-01T10:00:00.000Z", description="old\n\n[dayflow:task-5]")
    mocked.post(API, json={"data": {"issue": current}})
    updated = issue("i1", "2026-02-01T10:05:00.000Z", description="new\n\n[dayflow:task-5]")
    mocked.post(API, json={"data": {"issueUpdate": {"success": True, "issue": updated}}})
    item = provider.update("i1", {"notes": "new"}, version="2026-02-01T10:00:00.000Z")
    assert variables(mocked.calls[1]) == {
        "id": "i1",
        "input": {"description": "new\n\n[dayflow:task-5]"},
    }
    assert item.fields["notes"] == "new"
    assert item.dayflow_id == "task-5"


def test_update_of_an_issue_changed_since_is_a_conflict(provider, mocked):
    mocked.post(API, json={"data": {"issue": issue("i1", "2026-02-01T10:09:00.000Z")}})
    with pytest.raises(errors.PreconditionFailed):
        provider.update("i1", {"title": "x"}, version="2026-02-01T10:00:00.000Z")


def test_a_move_puts_the_issue_in_the_other_team_with_that_teams_state_and_labels(provider, mocked):
    current = issue("i1", "2026-02-01T10:00:00.000Z")  # Todo in team-eng, labelled Bug and Auth
    mocked.post(API, json={"data": {"issue": current}})
    mocked.post(API, json=load("linear", "states.json"))  # team-2's states
    design_labels = [{"id": "label-des-bug", "name": "Bug"}]  # no Auth label in that team
    info = {"hasNextPage": False, "endCursor": None}
    mocked.post(API, json={"data": {"issueLabels": {"nodes": design_labels, "pageInfo": info}}})
    moved = issue("i1", "2026-02-01T10:05:00.000Z", team={"id": "team-2", "name": "Design"})
    mocked.post(API, json={"data": {"issueUpdate": {"success": True, "issue": moved}}})

    item = provider.move("i1", "team-2", version="2026-02-01T10:00:00.000Z")

    sent = variables(mocked.calls[3])
    assert sent["id"] == "i1"
    assert sent["input"]["teamId"] == "team-2"
    assert sent["input"]["stateId"] == "state-todo"  # that team's first unstarted state
    assert sent["input"]["labelIds"] == ["label-des-bug"]
    assert (item.remote_id, item.collection) == ("i1", "team-2")
    assert any("Auth" in note for note in provider.notes)


def test_a_move_of_an_issue_changed_since_is_a_conflict_and_sends_nothing(provider, mocked):
    mocked.post(API, json={"data": {"issue": issue("i1", "2026-02-01T10:09:00.000Z")}})
    with pytest.raises(errors.PreconditionFailed):
        provider.move("i1", "team-2", version="2026-02-01T10:00:00.000Z")
    assert len(mocked.calls) == 1


def test_a_move_to_the_team_it_is_in_writes_nothing(provider, mocked):
    mocked.post(API, json={"data": {"issue": issue("i1", "2026-02-01T10:00:00.000Z")}})
    assert provider.move("i1", TEAM).collection == TEAM
    assert len(mocked.calls) == 1


def test_delete_trashes_the_issue(provider, mocked):
    mocked.post(API, json={"data": {"issueDelete": {"success": True}}})
    provider.delete("i1")
    assert variables(mocked.calls[0]) == {"id": "i1"}
    assert "issueDelete" in body(mocked.calls[0])["query"]


def test_list_containers_pages_through_teams(provider, mocked):
    page1 = {
        "data": {
            "teams": {
                "nodes": [{"id": "t1", "name": "Eng", "key": "ENG"}],
                "pageInfo": {"hasNextPage": True, "endCursor": "x"},
            }
        }
    }
    page2 = {
        "data": {
            "teams": {
                "nodes": [{"id": "t2", "name": "Ops", "key": "OPS"}],
                "pageInfo": {"hasNextPage": False, "endCursor": None},
            }
        }
    }
    mocked.post(API, json=page1)
    mocked.post(API, json=page2)
    containers = provider.list_containers()
    assert [(c.id, c.name, c.kind) for c in containers] == [
        ("t1", "Eng (ENG)", "team"),
        ("t2", "Ops (OPS)", "team"),
    ]
    assert "teams(first: 250," in body(mocked.calls[0])["query"]  # the largest page
    assert variables(mocked.calls[1]) == {"after": "x"}


# --- errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ERROR_CASES)
def test_error_cases_on_a_pull(connect, make_client, mocked, clock, case):
    refreshed: list[str] = []
    provider = LinearProvider(
        connect("linear", team_id=TEAM), http=make_client("linear", refresh=refreshed.append)
    )
    arrange_error_case(case, mocked, "POST", API, issues([]))
    assert_error_case(case, lambda: provider.pull(None), clock, refreshed)


@pytest.mark.parametrize(
    ("fixture", "status", "error"),
    [
        ("error_auth.json", 400, errors.AuthExpired),
        ("error_ratelimited.json", 400, errors.RateLimited),
        ("error_ratelimited.json", 200, errors.RateLimited),
    ],
)
def test_graphql_errors_become_typed_errors(provider, mocked, clock, fixture, status, error):
    reset_ms = str(int((clock.now + 30) * 1000))
    mocked.post(
        API,
        status=status,
        json=load("linear", fixture),
        headers={"X-RateLimit-Requests-Reset": reset_ms},
    )
    with pytest.raises(error) as caught:
        provider.pull(None)
    if error is errors.RateLimited:
        assert caught.value.retry_after == pytest.approx(30, abs=1)


@pytest.mark.parametrize(
    ("errors_value", "error"),
    [
        (
            [{"message": "Entity not found: Issue", "extensions": {"type": "invalid input"}}],
            errors.NotFound,
        ),
        (
            [{"message": "Argument Validation Error", "extensions": {"code": "INVALID_INPUT"}}],
            errors.Permanent,
        ),
        (["bare string error"], errors.Permanent),
    ],
)
def test_other_graphql_errors_are_typed(provider, mocked, errors_value, error):
    mocked.post(API, status=400, json={"errors": errors_value})
    with pytest.raises(error) as caught:
        provider.get("i-missing")
    assert caught.value.service == "linear"


# --- an authentication error answered as HTTP 400 -----------------------------------------
LINEAR_TOKEN_URL = "https://api.linear.app/oauth/token"


@pytest.fixture
def refreshable(connect, settings, monkeypatch, clock):
    """A Linear connection whose access token expired but whose refresh token still works."""
    from integrations.clients import client_for
    from integrations.models import Credential

    settings.DAYFLOW_OAUTH_CLIENTS = {
        "linear": {"client_id": "linear-client-id", "client_secret": "linear-client-secret"}
    }
    monkeypatch.setattr("integrations.tokens._sleep", lambda seconds: None)
    connection = connect("linear", team_id=TEAM)
    Credential.objects.create(connection=connection, access_token="at-old", refresh_token="rt-old")
    http = client_for(connection, rate=(0, 1.0), clock=clock, wall_clock=clock, sleep=clock.sleep)
    return LinearProvider(connection, http=http)


def graphql_calls(mocked) -> list[Any]:
    return [c for c in mocked.calls if c.request.url == API]


def test_a_400_authentication_error_refreshes_the_token_once_and_retries(refreshable, mocked):
    from integrations.models import Connection, Credential

    # given Linear refuses the expired token with 400 + AUTHENTICATION_ERROR, not a 401
    mocked.post(API, status=400, json=load("linear", "error_auth.json"))
    mocked.post(LINEAR_TOKEN_URL, json={"access_token": "at-new", "refresh_token": "rt-new"})
    mocked.post(API, json=issues([issue("i1", "2026-02-01T10:00:00.000Z")]))
    # when
    page = refreshable.pull(None)
    # then the refresh went through the token endpoint and the retry carried the new token
    assert [i.remote_id for i in page.items] == ["i1"]
    sent = [c.request.headers["Authorization"] for c in graphql_calls(mocked)]
    assert sent == ["Bearer at-old", "Bearer at-new"]
    assert len([c for c in mocked.calls if c.request.url == LINEAR_TOKEN_URL]) == 1
    assert Credential.objects.get(connection=refreshable.connection).access_token == "at-new"
    refreshable.connection.refresh_from_db()
    assert refreshable.connection.status != Connection.Status.NEEDS_REAUTH


def test_a_second_authentication_error_after_the_refresh_is_auth_expired(refreshable, mocked):
    # given the refreshed token is refused too
    mocked.post(API, status=400, json=load("linear", "error_auth.json"))
    mocked.post(LINEAR_TOKEN_URL, json={"access_token": "at-new", "refresh_token": "rt-new"})
    mocked.post(API, status=400, json=load("linear", "error_auth.json"))
    # when / then: one refresh, one retry, then AuthExpired
    with pytest.raises(errors.AuthExpired):
        refreshable.pull(None)
    assert len(graphql_calls(mocked)) == 2
    assert len([c for c in mocked.calls if c.request.url == LINEAR_TOKEN_URL]) == 1


# --- labels and the list name -------------------------------------------------------------
LABELS = {
    "data": {
        "issueLabels": {
            "nodes": [
                {"id": "label-bug", "name": "Bug"},
                {"id": "label-auth", "name": "Auth"},
                {"id": "label-ux", "name": "UX"},
            ],
            "pageInfo": {"hasNextPage": False, "endCursor": None},
        }
    }
}


def test_labels_come_in_as_sorted_tags_and_the_project_names_the_list(provider):
    item = provider.to_item(ISSUE)
    assert item.fields["tags"] == ["Auth", "Bug"]
    assert item.read_only == {"list_name": "Q1 launch"}


def test_an_issue_without_a_project_is_listed_under_its_team(provider):
    item = provider.to_item(issue("i", "2026-02-01T10:20:30.456Z", project=None))
    assert item.read_only == {"list_name": "Engineering"}


def test_labels_not_a_connection_are_an_unexpected_payload(provider):
    with pytest.raises(errors.UnexpectedPayload, match="labels"):
        provider.to_item(issue("i", "2026-02-01T10:20:30.456Z", labels=["Bug"]))


def test_tags_are_written_as_the_team_s_label_ids_looked_up_once_per_run(provider, mocked):
    mocked.post(API, json=LABELS)
    first = provider.to_input({"tags": ["Bug", "ux"]}, TEAM)
    second = provider.to_input({"tags": ["Auth"]}, TEAM)

    assert first == {"labelIds": ["label-bug", "label-ux"]}
    assert second == {"labelIds": ["label-auth"]}
    assert len(mocked.calls) == 1
    sent = variables(mocked.calls[0])
    assert (sent["team"], sent["first"]) == (TEAM, 250)


def test_a_name_without_a_label_is_left_out_and_logged(provider, mocked, caplog):
    mocked.post(API, json=LABELS)

    got = provider.to_input({"tags": ["Bug", "Nope"]}, TEAM)

    assert got == {"labelIds": ["label-bug"]}
    assert "no label named 'Nope'" in caplog.text
    assert provider.notes == [
        "Linear has no label named 'Nope' in this team: left out of the issue."
    ]


def test_no_tags_clear_the_labels_without_a_lookup(provider, mocked):
    assert provider.to_input({"tags": []}, TEAM) == {"labelIds": []}
    assert len(mocked.calls) == 0
