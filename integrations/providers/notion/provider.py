"""Notion: pages of one or several databases (data sources) as tasks.
https://developers.notion.com/reference"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dayflow.tags import normalized_tags
from integrations.providers.base import (
    Container,
    ItemType,
    Kind,
    Page,
    Provider,
    RemoteItem,
    field,
    iso,
    parse_date,
    parse_datetime,
    pull_each,
)
from integrations.providers.errors import NotFound, PreconditionFailed

# Query and search pages hold at most 100 results ("page_size … Maximum: 100"); a larger one is
# refused. https://developers.notion.com/reference/query-a-data-source,
# https://developers.notion.com/reference/post-search
PAGE_SIZE = 100
# One rich text object holds at most 2,000 characters:
# https://developers.notion.com/reference/request-limits
TEXT_CHUNK = 2000
PRIORITY_NAMES = {4: "Urgent", 3: "High", 2: "Medium", 1: "Low"}
PRIORITY_BY_NAME = {name.lower(): level for level, name in PRIORITY_NAMES.items()}
ASCENDING = [{"timestamp": "last_edited_time", "direction": "ascending"}]


class NotionProvider(Provider):
    key = "notion"
    name = "Notion"
    kind = Kind.TASKS
    docs_url = "https://developers.notion.com/reference/intro"
    authorization_url = "https://api.notion.com/v1/oauth/authorize"
    token_url = "https://api.notion.com/v1/oauth/token"
    revoke_url = "https://api.notion.com/v1/oauth/revoke"
    extra_authorize_params = {"owner": "user"}
    api_base = "https://api.notion.com/v1"
    rate_limit = (3, 1.0)  # "an average of three requests per second"
    # No batch endpoint and no documented concurrency limit, only the rate ("an average of
    # three requests per second" per integration, https://developers.notion.com/reference/
    # request-limits; ../shared/providers/facts.md). Three in flight keep 3 a second going while
    # a write takes up to a second; the bucket holds the rate over all three.
    write_concurrency = 3
    # Pinned: 2025-09-03 moved database queries to data sources.
    # https://developers.notion.com/reference/versioning
    default_headers = {"Notion-Version": "2025-09-03"}
    item_types = (ItemType.TASK,)
    change_feed = "data source query filtered on last_edited_time"
    supports_webhooks = True
    webhook_registration = "console"
    # Notion posts a verification token once, before any signed event.
    webhook_handshake = True
    webhook_secret_from_handshake = True
    mapping_schema = {
        "database_id": str,
        # One data source or several (a list): each is a sync link of its own.
        "data_source_id": (str, list),
        "title_property": str,
        "status_property": str,
        "due_property": str,
        "notes_property": str,
        "priority_property": str,
        "completed_property": str,
        "tags_property": str,
        "dayflow_id_property": str,
        "done_status": str,
        "open_status": str,
    }
    # Tags live in the multi-select property the mapping names (`tags_property`); without
    # one the database carries none (`lacking`).
    lacks_fields = frozenset[str]()  # lists (moves between containers) and tags, both ways
    collection_setting = "data_source_id"
    collection_words = "a Notion database"
    collection_required = True
    collection_kind = "data_source"
    # A data source's parent is its database, which the search does not list.
    # With several data sources, the first one's (each page names its own: `parent`).
    collection_ancestors = {"database_id": "database"}
    # A page names its data source (`parent.data_source_id`); the links take the data
    # source's title as their name (`read_only["list_name"]`, read once per source and run).
    list_name_is_container = True
    supports_move = True  # Move page, into another data source the connection syncs
    web_url_field = "url"  # the page's address in Notion's app

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self._sources: dict[str, dict[str, Any]] = {}

    # --- pull -----------------------------------------------------------------------------
    def pull(self, cursor: str | None, collection: str = "") -> Page:
        """One query page of the chosen data sources, one after the other (`pull_each`), each
        behind its own watermark."""
        sources = [collection] if collection else self.chosen_collections(self.field_mapping)
        if not sources:
            self.collection_id()  # raises: no data source chosen
        return pull_each(self, cursor, sources, self._pull_source)

    def _pull_source(self, cursor: str | None, source: str) -> Page:
        """One query page. The cursor carries the watermark, the phase and Notion's own cursor.

        An incremental pull reads live pages edited since the watermark, then trashed ones
        (deletions). `last_edited_time` is rounded to the minute, so the filter is
        `on_or_after` and an edit in the same minute as the watermark is read again
        (https://developers.notion.com/reference/page, last_edited_time).
        """
        state = self.cursor_state(cursor, {"full": True, "phase": "live"})
        if len(self.chosen_collections(self.field_mapping)) > 1:
            self._source(source)  # its title names its link: read once per run
        response = self.api(
            "POST",
            f"{self.api_base}/data_sources/{source}/query",
            json=self._query(state),
            idempotent=True,  # a query only reads
        )
        results = field(self.key, response, "results", list)
        page = Page(full=bool(state.get("full")))
        newest = state.get("max") or state.get("since")
        for raw in results:
            newest = max(newest or "", field(self.key, raw, "last_edited_time", str))
            if state["phase"] == "trash" or _trashed(raw):
                page.deleted_ids.append(field(self.key, raw, "id", str))  # no need to map it
            else:
                page.items.append(self.to_item(raw, collection=source))
        self._advance(state, response, newest, page)
        return page

    def _query(self, state: dict[str, Any]) -> dict[str, Any]:
        # Wiki databases can hold data sources too; we sync pages only.
        body: dict[str, Any] = {"page_size": PAGE_SIZE, "sorts": ASCENDING, "result_type": "page"}
        if state.get("since"):
            body["filter"] = {
                "timestamp": "last_edited_time",
                "last_edited_time": {"on_or_after": state["since"]},
            }
        if state["phase"] == "trash":
            body["in_trash"] = True  # "only trashed pages"
        if state.get("start"):
            body["start_cursor"] = state["start"]
        return body

    def _advance(
        self, state: dict[str, Any], response: Any, newest: str | None, page: Page
    ) -> None:
        has_more = field(self.key, response, "has_more", bool)
        status = response.get("request_status") or {}
        if has_more:
            nxt = {**state, "start": field(self.key, response, "next_cursor", str), "max": newest}
        elif status.get("type") == "incomplete" and newest and newest != state.get("since"):
            # A query stops at 10,000 results (has_more turns false, request_status says
            # incomplete: https://developers.notion.com/reference/query-a-data-source); sorted
            # ascending, we start a new query from the newest edit seen.
            nxt = {**state, "since": newest, "start": None, "max": newest}
        elif state["phase"] == "live" and state.get("since"):
            nxt = {**state, "phase": "trash", "start": None, "max": newest}
        else:
            page.next_cursor = json.dumps({"since": newest, "phase": "live"}) if newest else None
            return
        page.has_more = True
        page.next_cursor = json.dumps(nxt)

    # --- writes ---------------------------------------------------------------------------
    def create(
        self, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        source = self.collection_id(collection)
        existing = self.existing(dayflow_id, source)
        if existing:
            return existing
        properties = self.to_properties(fields, source)
        id_property = self.field_mapping.get("dayflow_id_property")
        if dayflow_id and id_property:
            properties[id_property] = {"rich_text": _rich_text(dayflow_id)}
        body = {
            "parent": {"type": "data_source_id", "data_source_id": source},
            "properties": properties,
        }
        return self.to_item(self.api("POST", f"{self.api_base}/pages", json=body), source)

    def update(self, remote_id: str, fields: dict[str, Any], version: str = "") -> RemoteItem:
        current = self._current(remote_id, version)
        if current is None and len(self.chosen_collections(self.field_mapping)) > 1:
            # Properties are named by the page's own data source: read which one it is in.
            current = self.api("GET", f"{self.api_base}/pages/{remote_id}")
        source = _data_source_of(current) or self.collection_id()
        body = {"properties": self.to_properties(fields, source)}
        url = f"{self.api_base}/pages/{remote_id}"
        return self.to_item(self.api("PATCH", url, json=body, idempotent=True), source)

    def move(self, remote_id: str, collection: str, version: str = "") -> RemoteItem:
        """Move page into another data source (same id; its properties are matched by name
        in the new one). https://developers.notion.com/reference/move-page"""
        self._current(remote_id, version)
        url = f"{self.api_base}/pages/{remote_id}/move"
        parent = {"type": "data_source_id", "data_source_id": collection}
        raw = self.api("POST", url, json={"parent": parent})
        if not isinstance(raw, dict) or "properties" not in raw:
            # The answer may be a partial page: read it whole.
            raw = self.api("GET", f"{self.api_base}/pages/{remote_id}")
        return self.to_item(raw, collection)

    def delete(self, remote_id: str, version: str = "") -> None:
        """Notion cannot delete a page through the API; it moves it to the trash."""
        self._current(remote_id, version)
        url = f"{self.api_base}/pages/{remote_id}"
        self.api("PATCH", url, json={"in_trash": True}, idempotent=True)

    def restore(
        self, remote_id: str, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        """A trashed page comes back under its own id: out of the trash and our fields in one
        PATCH (https://developers.notion.com/reference/patch-page, `in_trash`). Only a page
        deleted for good (the trash emptied) becomes a new page."""
        source = self.collection_id(collection)
        body = {"in_trash": False, "properties": self.to_properties(fields, source)}
        url = f"{self.api_base}/pages/{remote_id}"
        try:
            raw = self.api("PATCH", url, json=body, idempotent=True)
        except NotFound:
            return self.create(fields, dayflow_id=dayflow_id, collection=collection)
        return self.to_item(raw, source)

    def _current(self, remote_id: str, version: str) -> dict[str, Any] | None:
        """With a version, the page as it is now, or PreconditionFailed if it moved on."""
        if not version:
            return None
        current = self.api("GET", f"{self.api_base}/pages/{remote_id}")
        if _trashed(current):
            raise NotFound(f"page {remote_id} is in the trash", status=404, service=self.key)
        if field(self.key, current, "last_edited_time", str) != version:
            raise PreconditionFailed(f"page {remote_id} changed", status=412, service=self.key)
        return current

    def get(self, remote_id: str) -> RemoteItem:
        raw = self.api("GET", f"{self.api_base}/pages/{remote_id}")
        if _trashed(raw):
            raise NotFound(f"page {remote_id} is in the trash", status=404, service=self.key)
        return self.to_item(raw)

    def find_by_dayflow_id(self, dayflow_id: str, collection: str = "") -> RemoteItem | None:
        prop = self.field_mapping.get("dayflow_id_property")
        if not prop:
            return None
        source = self.collection_id(collection)
        body = {"filter": {"property": prop, "rich_text": {"equals": dayflow_id}}, "page_size": 1}
        url = f"{self.api_base}/data_sources/{source}/query"
        response = self.api("POST", url, json=body, idempotent=True)
        results = field(self.key, response, "results", list)
        return self.to_item(results[0], source) if results else None

    # --- containers -----------------------------------------------------------------------
    def list_containers(self) -> list[Container]:
        """The data sources shared with the integration (search filtered on data_source)."""
        containers, start = [], None
        while True:
            body: dict[str, Any] = {
                "filter": {"property": "object", "value": "data_source"},
                "page_size": PAGE_SIZE,
            }
            if start:
                body["start_cursor"] = start
            response = self.api("POST", f"{self.api_base}/search", json=body, idempotent=True)
            for raw in field(self.key, response, "results", list):
                containers.append(self._container(raw))
            if not field(self.key, response, "has_more", bool):
                return containers
            start = field(self.key, response, "next_cursor", str)

    def _container(self, raw: Any) -> Container:
        parent = raw.get("parent") or {}
        return Container(
            id=field(self.key, raw, "id", str),
            name=plain_text(field(self.key, raw, "title", list)),
            kind="data_source",
            parent=parent.get("database_id", ""),
            item_types=(ItemType.TASK,),
        )

    # --- mapping --------------------------------------------------------------------------
    def to_item(self, raw: Any, collection: str = "") -> RemoteItem:
        """A page as a RemoteItem; an UnexpectedPayload names the field that did not parse."""
        properties = field(self.key, raw, "properties", dict)
        edited = field(self.key, raw, "last_edited_time", str)
        mapping = self.field_mapping
        id_prop = mapping.get("dayflow_id_property")
        return RemoteItem(
            remote_id=field(self.key, raw, "id", str),
            item_type=ItemType.TASK,
            fields=self.to_fields(properties, raw, collection or _data_source_of(raw)),
            version=edited,
            updated_at=parse_datetime(self.key, "last_edited_time", edited),
            collection=collection or _data_source_of(raw),
            dayflow_id=self._text(properties, id_prop) if id_prop else "",
            web_url=self.web_url(raw),
            read_only=self._list_name(collection or _data_source_of(raw)),
        )

    def _list_name(self, source: str) -> dict[str, Any]:
        """The data source's title where this run read it (no call of its own)."""
        name = (self._sources.get(source) or {}).get("name")
        return {"list_name": name} if name else {}

    @classmethod
    def lacks_for(cls, mapping: object) -> frozenset[str]:
        tagged = isinstance(mapping, dict) and bool(mapping.get("tags_property"))
        return cls.lacks_fields if tagged else cls.lacks_fields | {"task.tags"}

    def to_fields(
        self, properties: dict[str, Any], raw: dict[str, Any], source: str
    ) -> dict[str, Any]:
        mapping = self.field_mapping
        title_prop = mapping.get("title_property") or _title_property(properties)
        tags = (
            {"tags": self._tags(properties, mapping["tags_property"])}
            if "tags_property" in mapping
            else {}
        )
        return {
            **tags,
            "title": self._text(properties, title_prop),
            "notes": self._text(properties, mapping.get("notes_property")),
            "status": self._status(properties, mapping.get("status_property"), source),
            "due": self._date(properties, mapping.get("due_property")),
            "priority": self._priority(properties, mapping.get("priority_property")),
            "completed_at": self._date(properties, mapping.get("completed_property")),
            "url": raw.get("url") or "",
        }

    def _prop(self, properties: dict[str, Any], name: str | None) -> dict[str, Any] | None:
        if not name or name not in properties:
            return None
        value = properties[name]
        if not isinstance(value, dict) or not isinstance(value.get("type"), str):
            raise self.unexpected(f"properties.{name}", "expected a typed property value")
        return value

    def _text(self, properties: dict[str, Any], name: str | None) -> str:
        prop = self._prop(properties, name)
        if prop is None:
            return ""
        kind = prop["type"]
        if kind not in ("title", "rich_text"):
            raise self.unexpected(f"properties.{name}", f"{kind} is not text")
        return plain_text(field(self.key, prop, kind, list))

    def _tags(self, properties: dict[str, Any], name: str) -> list[str]:
        prop = self._prop(properties, name)
        if prop is None:
            return []
        if prop["type"] != "multi_select":
            raise self.unexpected(f"properties.{name}", f"{prop['type']} is not a multi-select")
        options = field(self.key, prop, "multi_select", list)
        return normalized_tags([o.get("name") for o in options if isinstance(o, dict)])

    def _status(self, properties: dict[str, Any], name: str | None, source: str) -> str:
        prop = self._prop(properties, name)
        if prop is None or name is None:
            return "open"
        kind = prop["type"]
        if kind == "checkbox":
            return "done" if prop["checkbox"] else "open"
        if kind in ("status", "select"):
            option = prop.get(kind) or {}
            done_names = self.status_options(source, name, kind)[0]
            return "done" if option.get("name") in done_names else "open"
        raise self.unexpected(f"properties.{name}", f"{kind} cannot hold a status")

    def status_options(self, source: str, prop: str, kind: str) -> tuple[set[str], str, str]:
        """(option names meaning done, the name to write for done, the one for open).

        The user's done_status / open_status win; otherwise a status property's own groups
        decide, since Notion localizes the default option names. Its groups always come as
        To-do, In progress, Complete (https://developers.notion.com/reference/property-object#status).
        """
        mapping = self.field_mapping
        if mapping.get("done_status"):
            done = mapping["done_status"]
            return {done}, done, mapping.get("open_status", "Not started")
        groups = self._status_groups(source, prop) if kind == "status" else []
        if len(groups) >= 2 and groups[0] and groups[-1]:
            return set(groups[-1]), groups[-1][0], mapping.get("open_status") or groups[0][0]
        return {"Done"}, "Done", mapping.get("open_status", "Not started")

    def _status_groups(self, source: str, prop: str) -> list[list[str]]:
        config = (self.schema(source).get(prop) or {}).get("status") or {}
        names = {o.get("id"): o.get("name") for o in config.get("options") or []}
        return [
            [names[i] for i in group.get("option_ids") or [] if names.get(i)]
            for group in config.get("groups") or []
        ]

    def _date(self, properties: dict[str, Any], name: str | None) -> dt.date | dt.datetime | None:
        prop = self._prop(properties, name)
        if prop is None or prop.get("date") is None:
            return None
        value = field(self.key, prop, "date", dict)
        start = field(self.key, value, "start", str)
        if "T" not in start:
            return parse_date(self.key, f"properties.{name}.date.start", start)
        where = f"properties.{name}.date.start"
        zone = _zone(value.get("time_zone"))
        if zone and _naive(start):  # the shape we write; accepted on read for symmetry
            return dt.datetime.fromisoformat(start).replace(tzinfo=zone)
        parsed = parse_datetime(self.key, where, start)
        return parsed.astimezone(zone) if zone else parsed

    def _priority(self, properties: dict[str, Any], name: str | None) -> int:
        prop = self._prop(properties, name)
        if prop is None:
            return 0
        if prop["type"] == "number":
            number = prop.get("number")
            return max(0, min(4, int(number))) if isinstance(number, int | float) else 0
        if prop["type"] == "select":
            option = prop.get("select") or {}
            return PRIORITY_BY_NAME.get(str(option.get("name", "")).lower(), 0)
        raise self.unexpected(f"properties.{name}", f"{prop['type']} cannot hold a priority")

    def to_properties(self, fields: dict[str, Any], source: str) -> dict[str, Any]:
        """Normalized fields (any subset) as Notion property values, by the user's mapping."""
        mapping = self.field_mapping
        schema = {name: str(prop.get("type", "")) for name, prop in self.schema(source).items()}
        title_prop = mapping.get("title_property") or _first_of_type(schema, "title")
        writers = {
            "title": (title_prop, lambda v: {"title": _rich_text(v)}),
            "notes": (mapping.get("notes_property"), lambda v: {"rich_text": _rich_text(v)}),
            "due": (mapping.get("due_property"), _date_value),
            "completed_at": (mapping.get("completed_property"), _date_value),
            "status": (mapping.get("status_property"), None),
            "priority": (mapping.get("priority_property"), None),
            # An option the property lacks is added to it by Notion on write.
            # https://developers.notion.com/reference/page-property-values#multi-select
            "tags": (mapping.get("tags_property"), self._multi_select),
        }
        properties: dict[str, Any] = {}
        for name, (prop, write) in writers.items():
            if name not in fields or not prop:
                continue
            kind = schema.get(prop, "")
            if name == "status":
                properties[prop] = self._status_value(kind, fields[name], source, prop)
            elif name == "priority":
                properties[prop] = _priority_value(kind, fields[name])
            else:
                properties[prop] = write(
                    fields[name] or ("" if name in ("title", "notes") else None)
                )
        return properties

    def _multi_select(self, names: list[str] | None) -> dict[str, Any]:
        """Tags as a multi-select's options by name. Notion refuses a select option with a
        comma (the whole page write, a 400), so a tag with one is left out, with a note."""
        kept = [name for name in names or [] if "," not in name]
        left_out = [name for name in names or [] if "," in name]
        if left_out:
            self.note(f"Notion takes no comma in a tag: {', '.join(map(repr, left_out))} left out.")
        return {"multi_select": [{"name": name} for name in kept]}

    def _status_value(self, kind: str, status: str, source: str, prop: str) -> dict[str, Any]:
        if kind == "checkbox":
            return {"checkbox": status == "done"}
        _, done, open_ = self.status_options(source, prop, kind or "status")
        return {kind or "status": {"name": done if status == "done" else open_}}

    def schema(self, source: str) -> dict[str, dict[str, Any]]:
        """The data source's properties by name, fetched once per source and provider instance."""
        return self._source(source)["properties"]

    def source_name(self, source: str) -> str:
        """The data source's title, as the sync link's name."""
        return self._source(source)["name"]

    def _source(self, source: str) -> dict[str, Any]:
        if source not in self._sources:
            raw = self.api("GET", f"{self.api_base}/data_sources/{source}")
            properties = field(self.key, raw, "properties", dict)
            title = raw.get("title")
            self._sources[source] = {
                "properties": {n: p for n, p in properties.items() if isinstance(p, dict)},
                "name": plain_text(title) if isinstance(title, list) else "",
            }
        return self._sources[source]


def plain_text(rich_text: list[Any]) -> str:
    """Rich text as the text a reader sees: every run's plain_text, mentions included."""
    return "".join(str(run.get("plain_text", "")) for run in rich_text if isinstance(run, dict))


def _rich_text(text: str) -> list[dict[str, Any]]:
    chunks = [text[i : i + TEXT_CHUNK] for i in range(0, len(text), TEXT_CHUNK)]
    return [{"type": "text", "text": {"content": chunk}} for chunk in chunks]


def _date_value(value: dt.date | dt.datetime | None) -> dict[str, Any]:
    if value is None:
        return {"date": None}
    if not isinstance(value, dt.datetime):
        return {"date": {"start": value.isoformat()}}
    zone = getattr(value.tzinfo, "key", None)
    if not zone or _ambiguous(value):
        return {"date": {"start": iso(value)}}
    # With `time_zone` (IANA), `start` must be the wall time without an offset; the app then
    # shows the date in that zone. Reads return it as an offset and `time_zone` null.
    # https://developers.notion.com/changelog/time-zone-support
    return {"date": {"start": value.replace(tzinfo=None).isoformat(), "time_zone": zone}}


def _ambiguous(value: dt.datetime) -> bool:
    """A wall time the zone repeats (DST fall-back) or skips: without an offset it names no
    single moment, so it is written in UTC instead (PEP 495 `fold`)."""
    return value.replace(fold=1 - value.fold).utcoffset() != value.utcoffset()


def _priority_value(kind: str, priority: int) -> dict[str, Any]:
    if kind == "number":
        return {"number": priority or None}
    return {"select": {"name": PRIORITY_NAMES[priority]} if priority else None}


def _zone(name: Any) -> ZoneInfo | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _naive(start: str) -> bool:
    try:
        return dt.datetime.fromisoformat(start.replace("Z", "+00:00")).tzinfo is None
    except ValueError:
        return False


def _title_property(properties: dict[str, Any]) -> str:
    return next(
        (n for n, p in properties.items() if isinstance(p, dict) and p.get("type") == "title"), ""
    )


def _first_of_type(schema: dict[str, str], kind: str) -> str:
    return next((name for name, found in schema.items() if found == kind), "")


def _trashed(raw: dict[str, Any]) -> bool:
    # "archived" is the deprecated alias of "in_trash" (https://developers.notion.com/reference/archive-a-page).
    return bool(raw.get("in_trash") or raw.get("archived") or raw.get("is_archived"))


def _data_source_of(raw: dict[str, Any] | None) -> str:
    parent = (raw or {}).get("parent") or {}
    return str(parent.get("data_source_id", ""))
