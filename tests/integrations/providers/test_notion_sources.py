"""Notion with several data sources: each queried behind its own watermark, its title naming
its link, a new page created in the data source asked for, properties named by the page's own
data source, and Move page between them.

Shapes: the recorded cassettes (tests/fixtures/notion/, SOURCE.md) and the documented Move page
endpoint (https://developers.notion.com/reference/move-page).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from integrations.providers import errors
from integrations.providers.notion.provider import NotionProvider
from tests.integrations.providers.support import body
from tests.integrations.providers.test_notion import (
    API,
    listing,
    page,
    run,
    schema_response,
)

HOME = "11111111-1111-4111-8111-111111111111"
WORK = "22222222-2222-4222-8222-222222222222"


def query_url(source: str) -> str:
    return f"{API}/data_sources/{source}/query"


def in_source(source: str, page_id: str, edited: str, **props: Any) -> dict[str, Any]:
    raw = page(page_id, edited, **props)
    raw["parent"] = {"type": "data_source_id", "data_source_id": source, "database_id": "db"}
    return raw


def source(source_id: str, title: str, *, notes: str = "Notes") -> dict[str, Any]:
    raw = schema_response()
    raw["id"] = source_id
    raw["title"] = [run(title)]
    # Each data source names its own properties: Work's notes live in "Details".
    raw["properties"][notes] = raw["properties"].pop("Notes") | {"name": notes}
    return raw


@pytest.fixture
def provider(connect, wired) -> NotionProvider:
    connection = connect(
        "notion", data_source_id=[HOME, WORK], title_property="Name", notes_property="Notes"
    )
    return NotionProvider(connection, http=wired(connection, "ntn_live"))


def test_a_full_pull_queries_each_data_source_and_names_its_pages_list(provider, mocked):
    mocked.get(f"{API}/data_sources/{HOME}", json=source(HOME, "Home"))
    mocked.post(query_url(HOME), json=listing([in_source(HOME, "p1", "2026-07-04T09:00:00.000Z")]))
    mocked.get(f"{API}/data_sources/{WORK}", json=source(WORK, "Work"))
    mocked.post(query_url(WORK), json=listing([in_source(WORK, "p2", "2026-07-04T09:05:00.000Z")]))

    first = provider.pull(None)
    second = provider.pull(first.next_cursor)

    assert [(i.remote_id, i.collection) for i in first.items + second.items] == [
        ("p1", HOME),
        ("p2", WORK),
    ]
    assert [i.read_only for i in first.items + second.items] == [
        {"list_name": "Home"},
        {"list_name": "Work"},
    ]
    assert (first.full, second.full, first.has_more, second.has_more) == (True, True, True, False)
    each = json.loads(second.next_cursor)["each"]
    assert json.loads(each[HOME]) == {"since": "2026-07-04T09:00:00.000Z", "phase": "live"}
    assert json.loads(each[WORK]) == {"since": "2026-07-04T09:05:00.000Z", "phase": "live"}


def test_an_incremental_pull_reads_each_sources_edits_then_its_trash(provider, mocked):
    since = {"since": "2026-07-04T09:00:00.000Z", "phase": "live"}
    cursor = json.dumps({"each": {HOME: json.dumps(since), WORK: json.dumps(since)}})
    mocked.get(f"{API}/data_sources/{HOME}", json=source(HOME, "Home"))
    mocked.get(f"{API}/data_sources/{WORK}", json=source(WORK, "Work"))
    mocked.post(query_url(HOME), json=listing([]))
    mocked.post(query_url(HOME), json=listing([]))  # Home's trash
    mocked.post(query_url(WORK), json=listing([]))
    trashed = in_source(WORK, "gone", "2026-07-04T09:07:00.000Z") | {"in_trash": True}
    mocked.post(query_url(WORK), json=listing([trashed]))  # Work's trash

    pages = [provider.pull(cursor)]
    while pages[-1].has_more:
        pages.append(provider.pull(pages[-1].next_cursor))

    queries = [c for c in mocked.calls if c.request.method == "POST"]
    assert [c.request.url.split("/")[-2] for c in queries] == [HOME, HOME, WORK, WORK]
    assert [body(c).get("in_trash", False) for c in queries] == [False, True, False, True]
    assert [d for p in pages for d in p.deleted_ids] == ["gone"]
    assert not any(p.full for p in pages)


def test_a_new_page_is_created_in_the_data_source_asked_for(provider, mocked):
    mocked.get(f"{API}/data_sources/{WORK}", json=source(WORK, "Work", notes="Details"))
    created = in_source(WORK, "p9", "2026-07-04T10:00:00.000Z", title="Ship it")
    mocked.post(f"{API}/pages", json=created)

    item = provider.create({"title": "Ship it"}, collection=WORK)

    sent = body(mocked.calls[1])
    assert sent["parent"] == {"type": "data_source_id", "data_source_id": WORK}
    assert (item.remote_id, item.collection) == ("p9", WORK)


def test_an_update_is_named_by_the_pages_own_data_source(provider, mocked):
    current = in_source(WORK, "p2", "2026-07-04T09:05:00.000Z")
    mocked.get(f"{API}/pages/p2", json=current)
    mocked.get(f"{API}/data_sources/{WORK}", json=source(WORK, "Work"))
    mocked.patch(f"{API}/pages/p2", json=current)

    provider.update("p2", {"title": "Renamed"})

    assert mocked.calls[1].request.url == f"{API}/data_sources/{WORK}"  # not Home's schema


def test_move_page_puts_it_in_the_other_data_source(provider, mocked):
    moved = in_source(WORK, "p1", "2026-07-04T09:10:00.000Z")
    mocked.post(f"{API}/pages/p1/move", json=moved)

    item = provider.move("p1", WORK)

    assert body(mocked.calls[0]) == {"parent": {"type": "data_source_id", "data_source_id": WORK}}
    assert mocked.calls[0].request.headers["Notion-Version"] == "2025-09-03"
    assert (item.remote_id, item.collection, item.version) == (
        "p1",
        WORK,
        "2026-07-04T09:10:00.000Z",
    )


def test_a_partial_answer_to_a_move_is_read_whole(provider, mocked):
    mocked.post(f"{API}/pages/p1/move", json={"object": "page", "id": "p1"})
    mocked.get(f"{API}/pages/p1", json=in_source(WORK, "p1", "2026-07-04T09:10:00.000Z"))

    assert provider.move("p1", WORK).collection == WORK


def test_a_move_of_a_page_edited_since_is_refused_before_any_write(provider, mocked):
    mocked.get(f"{API}/pages/p1", json=in_source(HOME, "p1", "2026-07-04T09:30:00.000Z"))
    with pytest.raises(errors.PreconditionFailed):
        provider.move("p1", WORK, version="2026-07-04T09:00:00.000Z")
    assert [c.request.method for c in mocked.calls] == ["GET"]


def test_one_data_source_keeps_its_own_cursor_and_no_extra_call(connect, wired, mocked):
    connection = connect("notion", data_source_id=HOME)
    provider = NotionProvider(connection, http=wired(connection, "ntn_live"))
    mocked.post(query_url(HOME), json=listing([in_source(HOME, "p1", "2026-07-04T09:00:00.000Z")]))

    got = provider.pull(None)

    assert len(mocked.calls) == 1
    assert json.loads(got.next_cursor) == {"since": "2026-07-04T09:00:00.000Z", "phase": "live"}
