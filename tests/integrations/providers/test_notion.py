"""Notion: data source queries, page writes and the property mapping, at the HTTP seam.

Response shapes come from the recorded cassettes in tests/fixtures/notion/ (see SOURCE.md there)
and the documented page property values (https://developers.notion.com/reference/page-property-values).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from integrations.providers import errors
from integrations.providers.notion.provider import NotionProvider
from tests.integrations.providers.support import (
    ERROR_CASES,
    FIXTURES,
    arrange_error_case,
    assert_error_case,
    body,
)

API = "https://api.notion.com/v1"
SOURCE = "393abc1e-edcd-81a2-8d0b-000bae7f15dc"  # the recorded data source
QUERY = f"{API}/data_sources/{SOURCE}/query"
MAPPING = {
    "data_source_id": SOURCE,
    "title_property": "Name",
    "status_property": "Status",
    "due_property": "Due",
    "notes_property": "Notes",
    "priority_property": "Priority",
    "completed_property": "Completed",
    "dayflow_id_property": "DayFlow ID",
}
SCHEMA = {
    "Name": "title",
    "Status": "status",
    "Due": "date",
    "Notes": "rich_text",
    "Priority": "select",
    "Completed": "date",
    "DayFlow ID": "rich_text",
}


def recorded(cassette: str, method: str, path_end: str) -> dict[str, Any]:
    """A response body recorded in one of the copied cassettes."""
    data = yaml.safe_load((FIXTURES / "notion" / cassette).read_text())
    for interaction in data["interactions"]:
        request = interaction["request"]
        if request["method"] == method and request["uri"].endswith(path_end):
            return json.loads(interaction["response"]["body"]["string"])
    raise LookupError(path_end)


RECORDED_PAGE = recorded("test_pages_retrieve.yaml", "POST", "/v1/pages")
RECORDED_LIST = recorded("test_data_sources_query.yaml", "POST", "/query")
RECORDED_SEARCH = recorded("test_search.yaml", "POST", "/v1/search")
RECORDED_SOURCE = recorded("test_data_sources_query.yaml", "POST", "/v1/data_sources")


def run(text: str) -> dict[str, Any]:
    return {
        "type": "text",
        "text": {"content": text, "link": None},
        "annotations": {"bold": False, "italic": False, "code": False, "color": "default"},
        "plain_text": text,
        "href": None,
    }


def page(page_id: str, edited: str, **props: Any) -> dict[str, Any]:
    """The recorded page, moved into our data source, with documented property values."""
    raw = copy.deepcopy(RECORDED_PAGE)
    raw.update(id=page_id, last_edited_time=edited, url=f"https://app.notion.com/p/{page_id}")
    raw["parent"] = {"type": "data_source_id", "data_source_id": SOURCE, "database_id": "db-1"}
    raw["properties"] = {
        "Name": {"id": "title", "type": "title", "title": [run(props.pop("title", "Task"))]}
    }
    for name, value in props.items():
        raw["properties"][name] = value
    return raw


def listing(results: list[dict[str, Any]], next_cursor: str | None = None, **extra: Any) -> dict:
    response = copy.deepcopy(RECORDED_LIST)
    response.update(results=results, next_cursor=next_cursor, has_more=next_cursor is not None)
    response.update(extra)
    return response


def schema_response() -> dict[str, Any]:
    raw = copy.deepcopy(RECORDED_SOURCE)
    raw["properties"] = {
        name: {"id": name, "name": name, "type": kind, kind: {}} for name, kind in SCHEMA.items()
    }
    raw["properties"]["Status"]["status"] = STATUS_CONFIG
    return raw


# A status property of a German workspace: Notion localizes the default option names.
STATUS_CONFIG = {
    "options": [
        {"id": "o1", "name": "Offen", "color": "default"},
        {"id": "o2", "name": "In Arbeit", "color": "blue"},
        {"id": "o3", "name": "Erledigt", "color": "green"},
        {"id": "o4", "name": "Archiviert", "color": "gray"},
    ],
    "groups": [
        {"id": "g1", "name": "To-do", "color": "gray", "option_ids": ["o1"]},
        {"id": "g2", "name": "In progress", "color": "blue", "option_ids": ["o2"]},
        {"id": "g3", "name": "Complete", "color": "green", "option_ids": ["o3", "o4"]},
    ],
}


def status(name: str) -> dict[str, Any]:
    return {"id": "Status", "type": "status", "status": {"id": "x", "name": name, "color": "green"}}


@pytest.fixture
def provider(connect, wired) -> NotionProvider:
    connection = connect("notion", **MAPPING)
    return NotionProvider(connection, http=wired(connection, "ntn_live"))


# --- pull ---------------------------------------------------------------------------------
def test_full_pull_reads_every_page_sorted_ascending(provider, mocked):
    # given two pages of query results
    mocked.post(QUERY, json=listing([page("p1", "2026-07-04T09:00:00.000Z")], next_cursor="cur-2"))
    mocked.post(QUERY, json=listing([page("p2", "2026-07-04T09:05:00.000Z")]))
    # when the engine pulls with no cursor, then follows next_cursor while has_more
    first = provider.pull(None)
    second = provider.pull(first.next_cursor)
    # then
    assert [i.remote_id for i in first.items + second.items] == ["p1", "p2"]
    assert first.full
    assert second.full
    assert first.has_more
    assert not second.has_more
    assert body(mocked.calls[0]) == {
        "page_size": 100,
        "sorts": [{"timestamp": "last_edited_time", "direction": "ascending"}],
        "result_type": "page",
    }
    assert body(mocked.calls[1])["start_cursor"] == "cur-2"
    headers = mocked.calls[0].request.headers
    assert headers["Authorization"] == "Bearer ntn_live"
    assert headers["Notion-Version"] == "2025-09-03"
    assert json.loads(second.next_cursor) == {"since": "2026-07-04T09:05:00.000Z", "phase": "live"}


def test_incremental_pull_filters_on_the_watermark_then_reads_the_trash(provider, mocked):
    # given a watermark, one edited page and one page moved to the trash
    cursor = json.dumps({"since": "2026-07-04T09:05:00.000Z", "phase": "live"})
    mocked.post(QUERY, json=listing([page("p2", "2026-07-04T09:07:00.000Z", title="Edited")]))
    trashed = page("p1", "2026-07-04T09:08:00.000Z") | {"in_trash": True}
    mocked.post(QUERY, json=listing([trashed]))
    # when
    live = provider.pull(cursor)
    trash = provider.pull(live.next_cursor)
    # then
    watermark = {
        "timestamp": "last_edited_time",
        "last_edited_time": {"on_or_after": "2026-07-04T09:05:00.000Z"},
    }
    assert body(mocked.calls[0])["filter"] == watermark
    assert "in_trash" not in body(mocked.calls[0])
    assert body(mocked.calls[1])["filter"] == watermark
    assert body(mocked.calls[1])["in_trash"] is True
    assert [i.fields["title"] for i in live.items] == ["Edited"]
    assert live.has_more
    assert not live.full
    assert trash.deleted_ids == ["p1"]
    assert not trash.has_more
    assert json.loads(trash.next_cursor)["since"] == "2026-07-04T09:08:00.000Z"


def test_the_10000_result_cap_restarts_the_query_from_the_newest_edit(provider, mocked):
    capped = listing(
        [page("p9", "2026-07-05T10:00:00.000Z")],
        request_status={"type": "incomplete", "incomplete_reason": "query_result_limit_reached"},
    )
    mocked.post(QUERY, json=capped)
    mocked.post(QUERY, json=listing([]))
    first = provider.pull(None)
    provider.pull(first.next_cursor)
    assert first.has_more
    assert body(mocked.calls[1])["filter"]["last_edited_time"] == {
        "on_or_after": "2026-07-05T10:00:00.000Z"
    }
    assert "start_cursor" not in body(mocked.calls[1])


def test_an_unexpected_page_shape_names_the_service_and_field(provider, mocked):
    broken = page("p1", "2026-07-04T09:00:00.000Z")
    broken["properties"]["Due"] = {"type": "date", "date": {"start": "next tuesday"}}
    mocked.post(QUERY, json=listing([broken]))
    with pytest.raises(errors.UnexpectedPayload) as caught:
        provider.pull(None)
    assert caught.value.service == "notion"
    assert caught.value.field == "properties.Due.date.start"


def test_a_listing_without_results_is_unexpected(provider, mocked):
    mocked.post(QUERY, json={"object": "list"})
    with pytest.raises(errors.UnexpectedPayload, match="results"):
        provider.pull(None)


# --- mapping ------------------------------------------------------------------------------
def echo_page(request) -> tuple[int, dict, str]:
    """What Notion returns for a written page: the values back, in their read shape."""
    sent = json.loads(request.body)
    raw = page("new-page", "2026-07-06T08:00:00.000Z")
    for name, value in sent["properties"].items():
        kind = SCHEMA[name]
        if kind in ("title", "rich_text"):
            value = {kind: [run(part["text"]["content"]) for part in value[kind]]}
        if kind == "date" and value["date"]:
            value = {"date": as_notion_renders(value["date"])}
        raw["properties"][name] = {"id": name, "type": kind, **value}
    return 200, {}, json.dumps(raw)


def as_notion_renders(date: dict[str, Any]) -> dict[str, Any]:
    """Notion returns a date written with a time_zone as its offset, time_zone null
    (https://developers.notion.com/changelog/time-zone-support)."""
    start, zone = date["start"], date.get("time_zone")
    if zone:
        local = dt.datetime.fromisoformat(start)
        assert local.tzinfo is None, "with a time_zone, Notion refuses an offset in start"
        start = local.replace(tzinfo=ZoneInfo(zone)).isoformat(timespec="milliseconds")
    return {"start": start, "end": None, "time_zone": None}


ROUND_TRIPS = [
    {
        "title": "Write the report ✍️",
        "notes": "line one\nline two " + "x" * 4500,  # longer than one 2,000-character run
        "status": "done",
        "due": dt.datetime(2026, 7, 10, 14, 30, tzinfo=ZoneInfo("Europe/Berlin")),
        "priority": 3,
        "completed_at": dt.datetime(2026, 7, 6, 7, 59, tzinfo=dt.UTC),
    },
    {
        "title": "Plain",
        "notes": "",
        "status": "open",
        "due": dt.date(2026, 12, 31),
        "priority": 0,
        "completed_at": None,
    },
    {
        "title": "Urgent",
        "notes": "n",
        "status": "open",
        "due": None,
        "priority": 4,
        "completed_at": None,
    },
]


@pytest.mark.parametrize("fields", ROUND_TRIPS)
def test_every_normalized_field_round_trips(provider, mocked, fields):
    # given Notion's schema and a server that echoes what it stores
    mocked.get(f"{API}/data_sources/{SOURCE}", json=schema_response())
    mocked.add_callback("POST", f"{API}/pages", callback=echo_page)
    # when
    item = provider.create(fields)
    # then every field comes back equal; the url is Notion's
    assert {k: v for k, v in item.fields.items() if k != "url"} == fields
    assert item.fields["url"] == "https://app.notion.com/p/new-page"


def test_checkbox_status_and_number_priority_are_mapped(connect, make_client):
    provider = NotionProvider(
        connect("notion", data_source_id=SOURCE, status_property="Done?", priority_property="P"),
        http=make_client("notion"),
    )
    raw = page(
        "p1",
        "2026-07-04T09:00:00.000Z",
        **{"Done?": {"type": "checkbox", "checkbox": True}, "P": {"type": "number", "number": 2}},
    )
    item = provider.to_item(raw)
    assert item.fields["status"] == "done"
    assert item.fields["priority"] == 2
    assert provider._status_value("checkbox", "open", SOURCE, "Done?") == {"checkbox": False}


def test_a_datetime_with_a_time_zone_is_read_in_that_zone(provider):
    raw = page(
        "p1",
        "2026-07-04T09:00:00.000Z",
        Due={
            "type": "date",
            "date": {
                "start": "2026-07-10T12:30:00.000+00:00",
                "end": None,
                "time_zone": "America/New_York",
            },
        },
    )
    due = provider.to_item(raw).fields["due"]
    assert due == dt.datetime(2026, 7, 10, 12, 30, tzinfo=dt.UTC)
    assert str(due.tzinfo) == "America/New_York"


BERLIN_AFTERNOON = dt.datetime(2026, 7, 10, 14, 30, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.mark.parametrize(
    ("due", "sent"),
    [
        (BERLIN_AFTERNOON, {"start": "2026-07-10T14:30:00", "time_zone": "Europe/Berlin"}),
        (
            dt.datetime(2026, 1, 5, 9, 0, tzinfo=ZoneInfo("America/New_York")),
            {"start": "2026-01-05T09:00:00", "time_zone": "America/New_York"},
        ),
        (dt.datetime(2026, 7, 10, 12, 30, tzinfo=dt.UTC), {"start": "2026-07-10T12:30:00Z"}),
        (  # a bare offset names no zone: kept in UTC
            dt.datetime(2026, 7, 10, 7, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            {"start": "2026-07-10T12:30:00Z"},
        ),
        (  # the repeated hour of the DST change: a wall time alone would be ambiguous
            dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin")),
            {"start": "2026-10-25T01:30:00Z"},
        ),
        (dt.date(2026, 7, 10), {"start": "2026-07-10"}),
    ],
)
def test_a_due_date_keeps_its_time_zone_when_written_and_read_back(provider, mocked, due, sent):
    # given Notion's schema and a server that renders dates the way Notion does
    mocked.get(f"{API}/data_sources/{SOURCE}", json=schema_response())
    mocked.add_callback("POST", f"{API}/pages", callback=echo_page)
    # when
    item = provider.create({"title": "Meet", "due": due})
    # then the IANA zone and the wall time were sent, and the same moment came back
    assert body(mocked.calls[-1])["properties"]["Due"] == {"date": sent}
    got = item.fields["due"]
    if isinstance(due, dt.datetime):  # PEP 495: a fold never compares equal across zones
        assert got.timestamp() == due.timestamp()
    else:
        assert got == due
    if "time_zone" in sent:  # the wall time survives, not only the moment
        assert got.utcoffset() == due.utcoffset()
        assert (got.hour, got.minute) == (due.hour, due.minute)


def test_a_date_in_the_shape_we_write_is_read_in_its_zone(provider):
    raw = page(
        "p1",
        "2026-07-04T09:00:00.000Z",
        Due={
            "type": "date",
            "date": {"start": "2026-07-10T14:30:00", "end": None, "time_zone": "Europe/Berlin"},
        },
    )
    due = provider.to_item(raw).fields["due"]
    assert due == BERLIN_AFTERNOON
    assert str(due.tzinfo) == "Europe/Berlin"


# --- writes -------------------------------------------------------------------------------
def test_create_writes_the_properties_and_dayflow_id(provider, mocked):
    # given no page carries our id yet
    mocked.post(QUERY, json=listing([]))
    mocked.get(f"{API}/data_sources/{SOURCE}", json=schema_response())
    mocked.add_callback("POST", f"{API}/pages", callback=echo_page)
    # when
    item = provider.create({"title": "New", "status": "open", "priority": 1}, dayflow_id="task-42")
    # then the lookup and the write were the documented requests
    assert body(mocked.calls[0])["filter"] == {
        "property": "DayFlow ID",
        "rich_text": {"equals": "task-42"},
    }
    sent = body(mocked.calls[2])
    assert sent["parent"] == {"type": "data_source_id", "data_source_id": SOURCE}
    assert sent["properties"]["Name"] == {"title": [{"type": "text", "text": {"content": "New"}}]}
    assert sent["properties"]["Status"] == {"status": {"name": "Offen"}}  # first To-do option
    assert sent["properties"]["Priority"] == {"select": {"name": "Low"}}
    assert sent["properties"]["DayFlow ID"] == {
        "rich_text": [{"type": "text", "text": {"content": "task-42"}}]
    }
    assert item.dayflow_id == "task-42"
    assert item.remote_id == "new-page"


def test_a_retried_create_finds_the_page_it_already_made(provider, mocked):
    made = page(
        "made-1",
        "2026-07-06T08:00:00.000Z",
        **{"DayFlow ID": {"type": "rich_text", "rich_text": [run("task-42")]}},
    )
    mocked.post(QUERY, json=listing([made]))
    item = provider.create({"title": "New"}, dayflow_id="task-42")
    assert item.remote_id == "made-1"
    assert len(mocked.calls) == 1  # no second page


def test_update_checks_the_version_then_patches_only_given_fields(provider, mocked):
    current = page("p1", "2026-07-04T09:00:00.000Z")
    mocked.get(f"{API}/pages/p1", json=current)
    mocked.get(f"{API}/data_sources/{SOURCE}", json=schema_response())
    mocked.patch(f"{API}/pages/p1", json=page("p1", "2026-07-04T09:10:00.000Z", title="Renamed"))
    item = provider.update("p1", {"title": "Renamed"}, version="2026-07-04T09:00:00.000Z")
    assert body(mocked.calls[2]) == {
        "properties": {"Name": {"title": [{"type": "text", "text": {"content": "Renamed"}}]}}
    }
    assert item.version == "2026-07-04T09:10:00.000Z"


def test_update_of_a_page_edited_since_is_a_precondition_failure(provider, mocked):
    mocked.get(f"{API}/pages/p1", json=page("p1", "2026-07-04T09:30:00.000Z"))
    with pytest.raises(errors.PreconditionFailed):
        provider.update("p1", {"title": "x"}, version="2026-07-04T09:00:00.000Z")


def test_delete_moves_the_page_to_the_trash(provider, mocked):
    mocked.patch(
        f"{API}/pages/p1", json=page("p1", "2026-07-04T09:30:00.000Z") | {"in_trash": True}
    )
    provider.delete("p1")
    assert body(mocked.calls[0]) == {"in_trash": True}


def test_restore_takes_the_page_out_of_the_trash_under_its_id(provider, mocked):
    mocked.get(f"{API}/data_sources/{SOURCE}", json=schema_response())
    mocked.patch(f"{API}/pages/p1", json=page("p1", "2026-07-04T09:40:00.000Z", title="Back"))
    item = provider.restore("p1", {"title": "Back"}, dayflow_id="task-42")
    assert body(mocked.calls[1]) == {
        "in_trash": False,
        "properties": {"Name": {"title": [{"type": "text", "text": {"content": "Back"}}]}},
    }
    assert (item.remote_id, item.fields["title"]) == ("p1", "Back")


def test_a_missing_page_is_not_found(provider, mocked):
    error = recorded("test_api_response_error.yaml", "GET", "/v1/invalid") | {
        "status": 404,
        "code": "object_not_found",
    }
    mocked.patch(f"{API}/pages/gone", status=404, json=error)
    with pytest.raises(errors.NotFound):
        provider.delete("gone")


# --- containers ---------------------------------------------------------------------------
def test_list_containers_searches_data_sources_page_by_page(provider, mocked):
    source = schema_response()
    first = RECORDED_SEARCH | {"results": [source], "next_cursor": "s2", "has_more": True}
    mocked.post(f"{API}/search", json=first)
    mocked.post(f"{API}/search", json=RECORDED_SEARCH | {"results": [source | {"id": "ds-2"}]})
    containers = provider.list_containers()
    assert [c.id for c in containers] == [SOURCE, "ds-2"]
    assert containers[0].name.startswith("Test Data Source")
    assert containers[0].parent == "daf41515-aa5f-4d14-97a8-9193425ec491"
    assert body(mocked.calls[0]) == {
        "filter": {"property": "object", "value": "data_source"},
        "page_size": 100,  # search's largest page
    }
    assert body(mocked.calls[1])["start_cursor"] == "s2"
    assert body(mocked.calls[1])["page_size"] == 100


# --- errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ERROR_CASES)
def test_error_cases_on_a_pull(connect, make_client, mocked, clock, case):
    refreshed: list[str] = []
    provider = NotionProvider(
        connect("notion", **MAPPING), http=make_client("notion", refresh=refreshed.append)
    )
    ok = listing([page("p1", "2026-07-04T09:00:00.000Z")])
    if case in ("refresh", "revoked"):
        unauthorized = recorded("test_api_response_error.yaml", "GET", "/v1/users")
        mocked.post(QUERY, status=401, json=unauthorized)
        mocked.post(
            QUERY, **({"status": 401, "json": unauthorized} if case == "revoked" else {"json": ok})
        )
    else:
        arrange_error_case(case, mocked, "POST", QUERY, ok)
    assert_error_case(case, lambda: provider.pull(None), clock, refreshed)


def test_get_refetches_a_page_and_a_trashed_one_is_not_found(provider, mocked):
    mocked.get(f"{API}/pages/p1", json=page("p1", "2026-07-04T09:00:00.000Z", title="Fresh"))
    mocked.get(f"{API}/pages/p2", json=page("p2", "2026-07-04T09:00:00.000Z") | {"in_trash": True})
    assert provider.get("p1").fields["title"] == "Fresh"
    with pytest.raises(errors.NotFound):
        provider.get("p2")


def test_a_create_that_timed_out_is_not_resent_and_its_retry_finds_the_page(provider, mocked):
    import requests

    # given the first POST times out after Notion made the page
    mocked.post(QUERY, json=listing([]))
    mocked.get(f"{API}/data_sources/{SOURCE}", json=schema_response())
    mocked.post(f"{API}/pages", body=requests.ReadTimeout())
    with pytest.raises(errors.Transient):
        provider.create({"title": "Once"}, dayflow_id="task-77")
    # when the engine retries the job, the lookup by our id finds the page
    made = page(
        "made",
        "2026-07-06T08:00:00.000Z",
        **{"DayFlow ID": {"type": "rich_text", "rich_text": [run("task-77")]}},
    )
    mocked.post(QUERY, json=listing([made]))
    again = provider.create({"title": "Once"}, dayflow_id="task-77")
    # then exactly one POST /pages was sent
    assert again.remote_id == "made"
    assert [c.request.method for c in mocked.calls if c.request.url.endswith("/pages")] == ["POST"]


@pytest.mark.parametrize(
    ("option", "expected"),
    [("Offen", "open"), ("In Arbeit", "open"), ("Erledigt", "done"), ("Archiviert", "done")],
)
def test_a_status_is_done_when_its_option_is_in_the_complete_group(
    provider, mocked, option, expected
):
    mocked.get(f"{API}/data_sources/{SOURCE}", json=schema_response())
    raw = page("p1", "2026-07-04T09:00:00.000Z", Status=status(option))
    assert provider.to_item(raw, SOURCE).fields["status"] == expected


def test_the_users_done_status_overrides_the_groups(connect, make_client, mocked):
    mapping = MAPPING | {"done_status": "Archiviert", "open_status": "In Arbeit"}
    provider = NotionProvider(connect("notion", **mapping), http=make_client("notion"))
    raw = page("p1", "2026-07-04T09:00:00.000Z", Status=status("Erledigt"))
    assert provider.to_item(raw, SOURCE).fields["status"] == "open"
    assert provider._status_value("status", "open", SOURCE, "Status") == {
        "status": {"name": "In Arbeit"}
    }
    assert len(mocked.calls) == 0  # no schema needed


def test_a_pull_logs_each_call_without_the_token(provider, mocked, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    mocked.post(QUERY, json=listing([page("p1", "2026-07-04T09:00:00.000Z")]))
    provider.pull(None)
    assert any(r.name == "integrations.http" and r.status == 200 for r in caplog.records)
    assert "ntn_live" not in caplog.text


# --- tags: the multi-select property the mapping names ------------------------------------
@pytest.fixture
def tagging(connect, wired) -> NotionProvider:
    connection = connect("notion", **MAPPING, tags_property="Tags")
    return NotionProvider(connection, http=wired(connection, "ntn_live"))


def multi_select(*names: str) -> dict[str, Any]:
    options = [{"id": f"o-{n}", "name": n, "color": "blue"} for n in names]
    return {"id": "tg", "type": "multi_select", "multi_select": options}


def test_without_a_tags_property_notion_carries_no_tags(provider):
    assert "task.tags" in provider.lacking()
    assert "tags" not in provider.to_item(page("p", "2026-07-04T09:00:00.000Z")).fields


def test_with_a_tags_property_notion_carries_tags(tagging):
    assert "task.tags" not in tagging.lacking()


def test_the_tags_property_is_read_as_sorted_names(tagging):
    raw = page("p", "2026-07-04T09:00:00.000Z", Tags=multi_select("work", "Home", "work"))
    assert tagging.to_item(raw).fields["tags"] == ["Home", "work"]


def test_a_page_without_the_tags_property_has_no_tags(tagging):
    assert tagging.to_item(page("p", "2026-07-04T09:00:00.000Z")).fields["tags"] == []


def test_a_tags_property_that_is_not_a_multi_select_is_an_unexpected_payload(tagging):
    raw = page("p", "2026-07-04T09:00:00.000Z", Tags={"type": "select", "select": None})
    with pytest.raises(errors.UnexpectedPayload, match="Tags"):
        tagging.to_item(raw)


def test_tags_are_written_as_multi_select_options_by_name(tagging, mocked):
    mocked.get(f"{API}/data_sources/{SOURCE}", json=schema_response())
    assert tagging.to_properties({"tags": ["home", "work"]}, SOURCE) == {
        "Tags": {"multi_select": [{"name": "home"}, {"name": "work"}]}
    }
    assert tagging.to_properties({"tags": []}, SOURCE) == {"Tags": {"multi_select": []}}
