"""Linear's batched writes: aliased mutations in one GraphQL request, per-alias errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from integrations.providers import errors
from integrations.providers.base import Write
from integrations.providers.linear import batch
from integrations.providers.linear.provider import LinearProvider
from integrations.sandbox import graphql
from tests.integrations.providers.support import body
from tests.integrations.providers.test_linear import API, TEAM, issue, issues

STATES = {"open": "state-todo", "done": "state-done"}
V1 = "2026-02-01T10:00:00.000Z"


@pytest.fixture
def provider(connect, wired) -> LinearProvider:
    connection = connect("linear", team_id=TEAM, write_id_marker=True)
    linear = LinearProvider(connection, http=wired(connection, "lin_oauth_live"))
    linear._states = {TEAM: dict(STATES)}
    return linear


def mutation_answer(request, fail: dict[str, dict[str, Any]] | None = None):
    """Each alias of the mutation answered as Linear would; `fail` maps an alias to its error."""
    sent = json.loads(request.body)
    data: dict[str, Any] = {}
    errors_out = []
    numbers = {name.removeprefix("id").removeprefix("i") for name in sent["variables"]}
    for number in sorted(numbers, key=int):
        alias, value = f"m{number}", sent["variables"].get(f"i{number}") or {}
        if fail and alias in fail:
            data[alias] = None
            errors_out.append({**fail[alias], "path": [alias]})
            continue
        node = issue(
            sent["variables"].get("id" + alias[1:], "new-" + alias),
            "2026-02-03T08:00:00.000Z",
            title=value.get("title", "t"),
            description=value.get("description", ""),
        )
        data[alias] = {"success": True, "issue": node} if value else {"success": True}
    payload = {"data": data, **({"errors": errors_out} if errors_out else {})}
    return 200, {}, json.dumps(payload)


NOT_FOUND = {"message": "Entity not found", "extensions": {"code": "INVALID_INPUT"}}
INVALID = {"message": "title should not be empty", "extensions": {"code": "INPUT_ERROR"}}


def test_three_creates_in_one_mutation_one_failing_alone(provider, mocked):
    mocked.post(API, json=issues([]))  # the markers' lookup, one query for all three
    mocked.add_callback("POST", API, callback=lambda r: mutation_answer(r, {"m1": INVALID}))
    writes = [Write("create", {"title": f"T{n}"}, dayflow_id=f"task-{n}") for n in range(3)]
    results = provider.write_batch(writes)
    assert len(mocked.calls) == 2
    lookup = body(mocked.calls[0])["variables"]["filter"]
    assert lookup["or"] == [{"description": {"contains": f"[dayflow:task-{n}]"}} for n in range(3)]
    sent = body(mocked.calls[1])
    assert sent["query"].count("issueCreate(") == 3
    assert "m0: issueCreate(input: $i0)" in sent["query"]
    assert sent["variables"]["i2"]["description"] == "[dayflow:task-2]"
    assert results[0].remote_id == "new-m0"
    assert results[0].dayflow_id == "task-0"
    assert isinstance(results[1], errors.Permanent)
    assert results[2].remote_id == "new-m2"


def test_a_create_whose_issue_exists_is_not_sent_again(provider, mocked):
    made = issue("made", V1, description="Body\n\n[dayflow:task-0]")
    mocked.post(API, json=issues([made]))
    mocked.add_callback("POST", API, callback=mutation_answer)
    writes = [Write("create", {"title": f"T{n}"}, dayflow_id=f"task-{n}") for n in range(2)]
    results = provider.write_batch(writes)
    assert results[0].remote_id == "made"
    assert results[1].remote_id == "new-m1"
    assert body(mocked.calls[1])["query"].count("issueCreate(") == 1


def test_updates_read_in_one_query_a_changed_one_is_a_conflict_alone(provider, mocked):
    current = [issue("a", V1), issue("b", "2026-02-01T11:00:00.000Z")]
    mocked.post(API, json=issues(current))
    mocked.add_callback("POST", API, callback=mutation_answer)
    writes = [
        Write("update", {"title": "A"}, remote_id="a", version=V1),
        Write("update", {"title": "B"}, remote_id="b", version=V1),
        Write("update", {"title": "C"}, remote_id="c", version=V1),
    ]
    results = provider.write_batch(writes)
    assert body(mocked.calls[0])["variables"]["filter"] == {"id": {"in": ["a", "b", "c"]}}
    assert results[0].fields["title"] == "A"
    assert isinstance(results[1], errors.PreconditionFailed)
    assert isinstance(results[2], errors.NotFound)  # not there any more
    assert body(mocked.calls[1])["query"].count("issueUpdate(") == 1
    assert len(mocked.calls) == 2


def test_a_delete_of_a_missing_issue_is_its_own_not_found(provider, mocked):
    def answer(request):
        return (
            200,
            {},
            json.dumps(
                {
                    "data": {"m0": {"success": True}, "m1": None},
                    "errors": [{**NOT_FOUND, "path": ["m1"]}],
                }
            ),
        )

    mocked.add_callback("POST", API, callback=answer)
    results = provider.write_batch([Write("delete", remote_id="x"), Write("delete", remote_id="y")])
    assert results[0] is None
    assert isinstance(results[1], errors.NotFound)
    assert len(mocked.calls) == 1


def test_a_rate_limit_on_the_whole_request_raises(provider, mocked):
    limited = {"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}
    mocked.post(API, json={"errors": [limited], "data": None}, status=400)
    with pytest.raises(errors.RateLimited):
        provider.write_batch([Write("delete", remote_id="x"), Write("delete", remote_id="y")])


def test_a_write_the_answer_is_silent_about_is_written_alone(provider, mocked):
    # A non-null payload failing nulls the whole `data`: m0 is redone by itself.
    mocked.post(API, json={"data": None, "errors": [{**NOT_FOUND, "path": ["m1"]}]}, status=200)
    mocked.post(API, json={"data": {"issueDelete": {"success": True}}})
    results = provider.write_batch([Write("delete", remote_id="x"), Write("delete", remote_id="y")])
    assert results[0] is None
    assert isinstance(results[1], errors.NotFound)
    assert body(mocked.calls[1])["variables"] == {"id": "x"}


def test_the_batch_size_keeps_a_mutation_far_below_linear_s_10000_points():
    size = LinearProvider.write_batch_size
    fields = " ".join(
        batch.aliased("update", n, LinearProvider.issue_selection) for n in range(size)
    )
    parsed = graphql.Parser("mutation {" + fields + "}").operation()[1]
    assert graphql.complexity(parsed, {}, 50) < 5000
