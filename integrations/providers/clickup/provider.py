"""ClickUp: tasks of one list or several lists of one workspace. https://developer.clickup.com/docs"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import quote
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
    from_millis,
    pull_each,
    to_millis,
)
from integrations.providers.errors import Permanent, PreconditionFailed

# "Responses are limited to 100 tasks per page": https://developer.clickup.com/reference/gettasks
PAGE_SIZE = 100
# ClickUp priorities: 1 urgent, 2 high, 3 normal, 4 low (https://developer.clickup.com/docs/priorities).
TO_DAYFLOW_PRIORITY = {1: 4, 2: 3, 3: 2, 4: 1}
TO_CLICKUP_PRIORITY = {v: k for k, v in TO_DAYFLOW_PRIORITY.items()}
DONE_TYPES = ("closed", "done")


class ClickUpProvider(Provider):
    key = "clickup"
    name = "ClickUp"
    kind = Kind.TASKS
    docs_url = "https://developer.clickup.com/docs"
    authorization_url = "https://app.clickup.com/api"
    token_url = "https://api.clickup.com/api/v2/oauth/token"
    api_base = "https://api.clickup.com/api/v2"
    # "Authorization: {token}" with no Bearer: https://developer.clickup.com/docs/authentication
    raw_token_header = True
    rate_limit = (100, 60.0)  # Free/Unlimited/Business plans: 100 requests per minute per token
    # No batch endpoint and no documented concurrency limit, only that rate
    # (https://developer.clickup.com/docs/rate-limits): three in flight keep 100 a minute going
    # while a create takes up to ~1.8 s; the bucket holds the rate over all three.
    write_concurrency = 3
    item_types = (ItemType.TASK,)
    change_feed = "tasks filtered by date_updated_gt"
    supports_webhooks = True
    webhook_registration = "api"
    # 410 makes ClickUp suspend the webhook in case our removal call failed.
    # https://developer.clickup.com/docs/webhooks
    webhook_removed_status = 410
    # One list or several (a list), all in the workspace `team_id` names: each is a sync link.
    mapping_schema = {
        "team_id": str,
        "list_id": (str, list),
        "dayflow_id_field": str,
        "timezone": str,
    }
    collection_setting = "list_id"
    collection_words = "a ClickUp list"
    collection_required = True
    collection_kind = "list"
    list_name_is_container = True  # a task's list.name
    # The list's workspace: webhooks are registered per workspace (webhook.py).
    collection_ancestors = {"team_id": "workspace"}
    # ... one for every list: lists of two workspaces are refused (integrations/forms.py).
    collection_ancestors_shared = frozenset({"team_id"})
    supports_move = True  # Move Task (API v3) between the lists the connection syncs
    web_url_field = "url"  # https://app.clickup.com/t/<id>
    # Tasks carry tags by name (`tags[].name`), written on create and by the tag endpoints.
    lacks_fields = frozenset[str]()  # lists (moves between containers) and tags, both ways

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self._statuses: dict[str, dict[str, str]] = {}
        self._list_statuses: dict[str, list[dict[str, Any]]] = {}

    # --- pull -----------------------------------------------------------------------------
    def pull(self, cursor: str | None, collection: str = "") -> Page:
        """One page of the chosen lists' tasks, list after list (`pull_each`): each list keeps
        its own watermark, so a list added later is read whole."""
        lists = [collection] if collection else self.chosen_collections(self.field_mapping)
        if not lists:
            self.collection_id()  # raises: no list chosen
        return pull_each(self, cursor, lists, self._pull_list)

    def _pull_list(self, cursor: str | None, list_id: str) -> Page:
        """One page of a list's tasks, closed ones included, newest update first.

        Newest first: a task updated while we page moves to page 0 and shifts the rest down,
        so we may read a task twice but never skip one; the next watermark is the newest
        `date_updated` seen. Deleted tasks never show up in a filter: a full listing finds
        them by difference (and the taskDeleted webhook reports them).
        """
        state = {"page": 0, **self.cursor_state(cursor, {"full": True})}
        params: dict[str, Any] = {
            "page": state["page"],
            "include_closed": "true",
            "subtasks": "true",
            "order_by": "updated",
        }
        if state.get("since"):
            params["date_updated_gt"] = state["since"]
        response = self.api("GET", f"{self.api_base}/list/{list_id}/task", params=params)
        tasks = field(self.key, response, "tasks", list)
        items = [self.to_item(task, list_id) for task in tasks]
        newest = max(
            [int(i.version) for i in items] + [state.get("max") or state.get("since") or 0]
        )
        page = Page(items=items, full=bool(state.get("full")))
        # Stop at a short page; `last_page` is sent by newer API versions, so it is optional.
        if len(tasks) == PAGE_SIZE and not response.get("last_page"):
            page.has_more = True
            page.next_cursor = json.dumps({**state, "page": state["page"] + 1, "max": newest})
        else:
            page.next_cursor = json.dumps({"since": newest, "page": 0}) if newest else None
        return page

    # --- writes ---------------------------------------------------------------------------
    def create(
        self, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        list_id = self.collection_id(collection)
        existing = self.existing(dayflow_id, list_id)
        if existing:
            return existing
        body = self.to_create_payload(fields, list_id)
        id_field = self.field_mapping.get("dayflow_id_field")
        if dayflow_id and id_field:
            body["custom_fields"] = [{"id": id_field, "value": dayflow_id}]
        task = self.api("POST", f"{self.api_base}/list/{list_id}/task", json=body)
        return self.to_item(task, list_id)

    def update(self, remote_id: str, fields: dict[str, Any], version: str = "") -> RemoteItem:
        # With several lists, a status is named by the task's own list: read it first.
        several = len(self.chosen_collections(self.field_mapping)) > 1
        wanted = version or "tags" in fields or ("status" in fields and several)
        current = self.get(remote_id) if wanted else None
        if current is not None and version and current.version != version:
            raise PreconditionFailed(f"task {remote_id} changed", status=412, service=self.key)
        if current is not None and "tags" in fields:
            self._retag(remote_id, current.fields["tags"], fields["tags"] or [])
        list_id = (current.collection if current else "") or self.collection_id()
        body = self.to_payload(fields, list_id)
        return self.to_item(self.api("PUT", f"{self.api_base}/task/{remote_id}", json=body))

    @property
    def api_v3_base(self) -> str:
        """Moving a task to another list is API v3's alone
        (https://developer.clickup.com/reference/movetask): beside v2, wherever that is (the
        sandbox rebases `api_base`)."""
        return self.api_base.removesuffix("/v2") + "/v3"

    def move(self, remote_id: str, collection: str, version: str = "") -> RemoteItem:
        """Move Task: the task leaves its list for `collection` (same id), custom fields
        (DayFlow's id among them) brought along. https://developer.clickup.com/reference/movetask,
        https://developer.clickup.com/docs/move-a-task-to-a-new-list"""
        workspace = self.field_mapping.get("team_id")
        if not workspace:
            raise Permanent("no ClickUp workspace (team_id) chosen", service=self.key)
        raw = self.api("GET", f"{self.api_base}/task/{remote_id}")
        current = self.to_item(raw)
        if version and current.version != version:
            raise PreconditionFailed(f"task {remote_id} changed", status=412, service=self.key)
        body: dict[str, Any] = {"move_custom_fields": True}
        mapped = self._status_mapping(raw, current.collection, collection)
        if mapped:
            body["status_mappings"] = [mapped]
        url = (
            f"{self.api_v3_base}/workspaces/{quote(str(workspace), safe='')}/tasks/"
            f"{quote(remote_id, safe='')}/home_list/{quote(collection, safe='')}"
        )
        self.api("PUT", url, json=body)
        task = self.api("GET", f"{self.api_base}/task/{remote_id}")
        return self.to_item(task, collection)

    def _status_mapping(self, raw: dict[str, Any], source: str, target: str) -> dict[str, str]:
        """A status the new list lacks must be mapped to one of its own ("Status mapping",
        https://developer.clickup.com/docs/move-a-task-to-a-new-list): the one of the same
        name, else the first of the same kind (open, done, or in between). {} when the new
        list has the status, or when the lists do not say their statuses' ids."""
        name = str((raw.get("status") or {}).get("status", "")).lower()
        if not source or not name:
            return {}
        targets = self.list_statuses(target)
        if any(str(s.get("status", "")).lower() == name for s in targets):
            return {}
        current = next(
            (s for s in self.list_statuses(source) if str(s.get("status", "")).lower() == name),
            None,
        )
        if current is None or not current.get("id"):
            return {}
        kind = "done" if current.get("type") in DONE_TYPES else current.get("type")
        same = [
            s for s in targets if ("done" if s.get("type") in DONE_TYPES else s.get("type")) == kind
        ]
        chosen = (same or [s for s in targets if s.get("type") == "open"] or [None])[0]
        if chosen is None or not chosen.get("id"):
            return {}
        return {"source_status": str(current["id"]), "destination_status": str(chosen["id"])}

    def _retag(self, remote_id: str, have: list[str], want: list[str]) -> None:
        """Update Task takes no tags: one call per tag added or removed, none when equal.
        https://developer.clickup.com/reference/addtagtotask, /removetagfromtask"""
        for method, names in (("POST", set(want) - set(have)), ("DELETE", set(have) - set(want))):
            for name in sorted(names):
                self.api(method, f"{self.api_base}/task/{remote_id}/tag/{quote(name, safe='')}")

    def delete(self, remote_id: str, version: str = "") -> None:
        if version:
            self._check_version(remote_id, version)
        self.api("DELETE", f"{self.api_base}/task/{remote_id}")

    def get(self, remote_id: str) -> RemoteItem:
        return self.to_item(self.api("GET", f"{self.api_base}/task/{remote_id}"))

    def _check_version(self, remote_id: str, version: str) -> None:
        if self.get(remote_id).version != version:
            raise PreconditionFailed(f"task {remote_id} changed", status=412, service=self.key)

    def find_by_dayflow_id(self, dayflow_id: str, collection: str = "") -> RemoteItem | None:
        id_field = self.field_mapping.get("dayflow_id_field")
        if not id_field:
            return None
        list_id = self.collection_id(collection)
        match = [{"field_id": id_field, "operator": "=", "value": dayflow_id}]
        params = {"custom_fields": json.dumps(match), "include_closed": "true"}
        response = self.api("GET", f"{self.api_base}/list/{list_id}/task", params=params)
        tasks = field(self.key, response, "tasks", list)
        return self.to_item(tasks[0], list_id) if tasks else None

    # --- containers -----------------------------------------------------------------------
    def list_containers(self) -> list[Container]:
        """Workspaces ("teams" in API v2), their spaces, folders and lists."""
        containers: list[Container] = []
        for team in field(self.key, self.api("GET", f"{self.api_base}/team"), "teams", list):
            team_id = str(field(self.key, team, "id", (str, int)))
            containers.append(Container(team_id, team.get("name", ""), "workspace"))
            url = f"{self.api_base}/team/{team_id}/space"
            spaces = self.api("GET", url, params={"archived": "false"})
            for space in field(self.key, spaces, "spaces", list):
                containers.extend(self._space(space, team_id))
        return containers

    def _space(self, space: Any, team_id: str) -> list[Container]:
        space_id = str(field(self.key, space, "id", (str, int)))
        found = [Container(space_id, space.get("name", ""), "space", parent=team_id)]
        archived = {"archived": "false"}
        folders = self.api("GET", f"{self.api_base}/space/{space_id}/folder", params=archived)
        for folder in field(self.key, folders, "folders", list):
            folder_id = str(field(self.key, folder, "id", (str, int)))
            found.append(Container(folder_id, folder.get("name", ""), "folder", parent=space_id))
            found += [self._list(raw, folder_id) for raw in folder.get("lists") or []]
        loose = self.api("GET", f"{self.api_base}/space/{space_id}/list", params=archived)
        found += [self._list(raw, space_id) for raw in field(self.key, loose, "lists", list)]
        return found

    def _list(self, raw: Any, parent: str) -> Container:
        list_id = str(field(self.key, raw, "id", (str, int)))
        return Container(list_id, raw.get("name", ""), "list", parent, (ItemType.TASK,))

    # --- mapping --------------------------------------------------------------------------
    def to_item(self, task: Any, collection: str = "") -> RemoteItem:
        version = str(field(self.key, task, "date_updated", (str, int)))
        list_ref = task.get("list") if isinstance(task, dict) else None
        return RemoteItem(
            remote_id=str(field(self.key, task, "id", str)),
            item_type=ItemType.TASK,
            fields=self.to_fields(task),
            version=version,
            updated_at=from_millis(self.key, "date_updated", version),
            collection=collection or str((list_ref or {}).get("id", "")),
            dayflow_id=self._dayflow_id(task),
            web_url=self.web_url(task),
            read_only=_list_name(list_ref),
        )

    def to_fields(self, task: dict[str, Any]) -> dict[str, Any]:
        status = field(self.key, task, "status", dict)
        priority = task.get("priority")
        done_at = task.get("date_done") or task.get("date_closed")
        return {
            "title": field(self.key, task, "name", str),
            "notes": task.get("description") or "",
            "status": "done" if status.get("type") in DONE_TYPES else "open",
            "due": self._due(task),
            "priority": self._priority(priority),
            "completed_at": from_millis(self.key, "date_done", done_at) if done_at else None,
            "tags": self._tags(task),
            "url": task.get("url") or "",
        }

    def _due(self, task: dict[str, Any]) -> dt.date | dt.datetime | None:
        if not task.get("due_date"):
            return None
        moment = from_millis(self.key, "due_date", task["due_date"]).astimezone(self._zone())
        # A due date without a time still travels as milliseconds: we read its calendar date
        # in the user's zone (https://developer.clickup.com/docs/general-task-properties).
        return moment if task.get("due_date_time") else moment.date()

    def _tags(self, task: dict[str, Any]) -> list[str]:
        tags = task.get("tags") or []
        if not isinstance(tags, list):
            raise self.unexpected("tags", "expected a list")
        return normalized_tags([tag.get("name") for tag in tags if isinstance(tag, dict)])

    def _priority(self, priority: Any) -> int:
        if priority is None:
            return 0
        if not isinstance(priority, dict):
            raise self.unexpected("priority", "expected an object or null")
        try:
            return TO_DAYFLOW_PRIORITY[int(priority.get("id", 0))]
        except (KeyError, ValueError):
            raise self.unexpected("priority.id", f"unknown priority {priority!r}") from None

    def _dayflow_id(self, task: Any) -> str:
        id_field = self.field_mapping.get("dayflow_id_field")
        for custom in task.get("custom_fields") or []:
            if isinstance(custom, dict) and custom.get("id") == id_field:
                return str(custom.get("value") or "")
        return ""

    def to_payload(self, fields: dict[str, Any], list_id: str) -> dict[str, Any]:
        """Normalized fields (any subset) as a create / update body."""
        body: dict[str, Any] = {}
        if "title" in fields:
            body["name"] = fields["title"]
        if "notes" in fields:
            body["description"] = fields["notes"] or ""
        if "status" in fields:
            body["status"] = self.status_names(list_id)[fields["status"]]
        if "priority" in fields:
            body["priority"] = TO_CLICKUP_PRIORITY.get(fields["priority"])
        if "due" in fields:
            body.update(self._due_payload(fields["due"]))
        return body

    def to_create_payload(self, fields: dict[str, Any], list_id: str) -> dict[str, Any]:
        """As `to_payload`, with the tags Create Task takes by name."""
        body = self.to_payload(fields, list_id)
        if fields.get("tags"):
            body["tags"] = list(fields["tags"])
        return body

    def _due_payload(self, due: dt.date | dt.datetime | None) -> dict[str, Any]:
        if due is None:
            return {"due_date": None, "due_date_time": False}
        if isinstance(due, dt.datetime):
            return {"due_date": to_millis(due), "due_date_time": True}
        # Noon in the user's zone reads back as the same date even if the zone is off by hours.
        noon = dt.datetime.combine(due, dt.time(12), tzinfo=self._zone())
        return {"due_date": to_millis(noon), "due_date_time": False}

    def status_names(self, list_id: str) -> dict[str, str]:
        """The list's own status names for open and done (every list defines its own:
        https://developer.clickup.com/reference/getlist, `statuses[].type`)."""
        if list_id not in self._statuses:
            statuses = self.list_statuses(list_id)
            open_ = next((s["status"] for s in statuses if s.get("type") == "open"), None)
            done = next((s["status"] for s in statuses if s.get("type") in DONE_TYPES), None)
            if not open_ or not done:
                raise self.unexpected("statuses", "the list has no open or closed status")
            self._statuses[list_id] = {"open": open_, "done": done}
        return self._statuses[list_id]

    def list_statuses(self, list_id: str) -> list[dict[str, Any]]:
        """The list's statuses, in their order (Get List), read once per list and run."""
        if list_id not in self._list_statuses:
            raw = self.api("GET", f"{self.api_base}/list/{list_id}")
            found = field(self.key, raw, "statuses", list)
            statuses = [s for s in found if isinstance(s, dict)]
            self._list_statuses[list_id] = sorted(statuses, key=_order)
        return self._list_statuses[list_id]

    def _zone(self) -> dt.tzinfo:
        try:
            return ZoneInfo(self.field_mapping.get("timezone") or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return dt.UTC


def _list_name(list_ref: Any) -> dict[str, Any]:
    """The task's list, named in its own payload (`list: {id, name}`)."""
    name = list_ref.get("name") if isinstance(list_ref, dict) else None
    return {"list_name": name} if isinstance(name, str) else {}


def _order(status: dict[str, Any]) -> int:
    try:
        return int(status.get("orderindex", 0))
    except (TypeError, ValueError):
        return 0
