"""Todoist (unified API v1): tasks, incremental through the Sync endpoint.
https://developer.todoist.com/api/v1/"""

from __future__ import annotations

import datetime as dt
import json
import uuid
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
    Write,
    WriteResult,
    add_marker,
    field,
    parse_date,
    parse_datetime,
    split_marker,
)
from integrations.providers.errors import (
    NotFound,
    Permanent,
    PreconditionFailed,
    RateLimited,
)
from integrations.providers.todoist.batch import BatchWriter

# Todoist priorities run 1 (normal, "p4") to 4 (urgent, "p1"); DayFlow's low (1) has no
# Todoist level of its own and is written as normal.
# https://developer.todoist.com/api/v1/#tag/Tasks
TO_DAYFLOW_PRIORITY = {1: 0, 2: 2, 3: 3, 4: 4}
TO_TODOIST_PRIORITY = {0: 1, 1: 1, 2: 2, 3: 3, 4: 4}
TASK_URL = "https://app.todoist.com/app/task/{id}"  # as the official SDKs build it
ID_NAMESPACE = uuid.UUID("6f1c7f0e-3d52-4c4e-9a59-5d8f0b7a2c11")
# The largest page of a v1 list (tasks, projects): `limit` runs 1-200 (default 50).
# https://developer.todoist.com/api/v1/#tag/Tasks/operation/get_tasks_api_v1_tasks_get
LIST_LIMIT = 200
# Todoist takes up to 100 commands in one Sync call.
# https://developer.todoist.com/api/v1/#tag/Sync/Overview/Batching-commands
COMMANDS_PER_CALL = 100


class TodoistProvider(Provider):
    key = "todoist"
    name = "Todoist"
    kind = Kind.TASKS
    docs_url = "https://developer.todoist.com/api/v1/"
    authorization_url = "https://todoist.com/oauth/authorize"
    token_url = "https://todoist.com/oauth/access_token"
    revoke_url = "https://api.todoist.com/api/v1/revoke"
    scopes = ("data:read_write", "data:delete")
    scope_separator = ","
    api_base = "https://api.todoist.com/api/v1"
    rate_limit = (450, 900.0)
    item_types = (ItemType.TASK,)
    change_feed = "Sync API sync_token"
    supports_webhooks = True
    webhook_registration = "console"
    # One webhook in Todoist's App Management Console, signed with the app's client secret.
    # https://developer.todoist.com/api/v1/#tag/Webhooks
    webhook_signed_with_client_secret = True
    # One project or several (a list): each is a sync link of its own (sync/links.py).
    mapping_schema = {"project_id": (str, list), "write_id_marker": bool, "timezone": str}
    collection_setting = "project_id"
    collection_words = "a Todoist project"
    collection_required = True
    collection_kind = "project"
    setting_checkboxes = {
        "write_id_marker": "Mark each task with its DayFlow id (a line in its description)"
    }
    # API v1 tasks carry no address; the app opens a task by its id (the official SDK's
    # `Task.url`: https://github.com/Doist/todoist-api-python).
    web_url_template = "https://app.todoist.com/app/task/{id}"
    # Tasks carry labels by name (`labels`), read and written as such.
    # https://developer.todoist.com/api/v1/#tag/Sync/Items
    lacks_fields = frozenset[str]()  # lists (moves between containers) and tags, both ways
    supports_move = True  # between the projects the connection syncs
    list_name_is_container = True
    write_batch_size = COMMANDS_PER_CALL
    # The newest sync token this run saw (its pull's, then each batched write's): a write
    # call that sends it gets the items it changed back in the same answer.
    _read_token: str | None = None

    # --- pull -----------------------------------------------------------------------------
    def pull(self, cursor: str | None, collection: str = "") -> Page:
        """One Sync call: everything changed since the sync token ("*": everything).

        A full sync leaves completed tasks out, so absence is no proof of deletion: the page
        is never marked `full`; deletions come as `is_deleted` in incremental syncs.
        https://developer.todoist.com/api/v1/#tag/Sync
        """
        projects = {collection} if collection else set(self.chosen_collections(self.field_mapping))
        if not projects:
            self.collection_id()  # raises: no project chosen
        # Projects ride along (all on a full sync, the changed ones after): the list name of
        # the tasks without a call of its own.
        resources = json.dumps(["items", "projects"])
        data = {"sync_token": cursor or "*", "resource_types": resources}
        response = self.api("POST", f"{self.api_base}/sync", data=data, idempotent=True)
        page = Page(next_cursor=field(self.key, response, "sync_token", str))
        self._read_token = page.next_cursor
        self._note_project_names(response.get("projects"))
        for raw in field(self.key, response, "items", list):
            gone = raw.get("is_deleted") or field(self.key, raw, "project_id", str) not in projects
            if gone:  # deleted, or moved out of our projects: its id is all we need
                page.deleted_ids.append(field(self.key, raw, "id", str))
            else:
                page.items.append(self.to_item(raw))
        return page

    # --- writes (Sync commands) -----------------------------------------------------------
    def commands(self, *commands: dict[str, Any]) -> dict[str, Any]:
        """Send commands in one Sync call; each carries a uuid, so a resent batch (our own
        retry of the same request) is applied once. Returns temp_id_mapping.
        https://developer.todoist.com/api/v1/#tag/Sync/Overview/Write-resources"""
        data = {"commands": json.dumps(list(commands))}
        # Resending is safe: Todoist applies each command uuid once.
        response = self.api("POST", f"{self.api_base}/sync", data=data, idempotent=True)
        statuses = field(self.key, response, "sync_status", dict)
        for command in commands:
            status = statuses.get(command["uuid"])
            if status != "ok":
                raise self._command_error(command["type"], status)
        return response.get("temp_id_mapping") or {}

    def _command_error(self, kind: str, status: Any) -> Exception:
        if not isinstance(status, dict):
            return self.unexpected("sync_status", f"{kind}: {status!r}")
        code = status.get("http_code")
        message = f"{kind}: {status.get('error', 'failed')}"
        if code == 404:
            return NotFound(message, status=404, service=self.key)
        if code == 429:
            wait = (status.get("error_extra") or {}).get("retry_after", 60)
            return RateLimited(message, retry_after=float(wait), service=self.key)
        return Permanent(message, status=code, service=self.key)

    def create(
        self, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        """item_add with uuids derived from DayFlow's id; the project is searched for our
        marker only when Todoist says the add was applied before (a retry after a crash), so
        creating many tasks costs one call each, not a scan of the project each."""
        project = self.collection_id(collection)
        args = {"project_id": project, **self.to_args(fields)}
        if dayflow_id and self._marks():
            args["description"] = add_marker(fields.get("notes") or "", dayflow_id)
        done = fields.get("status") == "done"
        created = self._add(args, done, dayflow_id)
        if created is None and self._marks():
            existing = self.find_by_dayflow_id(dayflow_id, project)
            if existing:
                return existing
            # Added before, yet not among the active tasks: deleted (or done) since, so this
            # is a new item, sent with fresh uuids.
            created = self._add(args, done, "")
        if created is None:
            raise self.unexpected(
                "temp_id_mapping", "added earlier today and cannot be looked up without the marker"
            )
        return self.get(created)

    def _add(self, args: dict[str, Any], done: bool, dayflow_id: str) -> str | None:
        """item_add (and item_close) in one batch; the new id, or None if the add was applied
        before (Todoist maps temp ids only for commands it runs now)."""
        temp_id = self._command_uuid(dayflow_id, "temp")
        add = self._command("item_add", args, dayflow_id, temp_id=temp_id)
        close = self._command("item_close", {"id": temp_id}, dayflow_id)
        return self.commands(add, *([close] if done else [])).get(temp_id)

    def update(self, remote_id: str, fields: dict[str, Any], version: str = "") -> RemoteItem:
        current = self.get(remote_id)
        if version and current.version != version:
            raise PreconditionFailed(f"task {remote_id} changed", status=412, service=self.key)
        batch = self.update_commands(remote_id, fields, current)
        if batch:
            self.commands(*batch)
        return self.get(remote_id)

    def update_commands(
        self, remote_id: str, fields: dict[str, Any], current: RemoteItem
    ) -> list[dict[str, Any]]:
        """The commands that bring `current` to `fields` (none when nothing changes)."""
        # Resending an unchanged due would replace a recurring one with a single date.
        unchanged = {"status"} | ({"due"} if fields.get("due") == current.fields["due"] else set())
        args = self.to_args({k: v for k, v in fields.items() if k not in unchanged})
        if current.dayflow_id and "notes" in fields:
            args["description"] = add_marker(fields["notes"] or "", current.dayflow_id)
        batch = [self._command("item_update", {"id": remote_id, **args})] if args else []
        wanted = fields.get("status", current.fields["status"])
        if wanted != current.fields["status"]:
            kind = "item_close" if wanted == "done" else "item_uncomplete"
            batch.append(self._command(kind, {"id": remote_id}))
        return batch

    def write_batch(self, writes: list[Write]) -> list[WriteResult]:
        """Up to `write_batch_size` writes in as few Sync calls as their commands need
        (integrations/providers/todoist/batch.py)."""
        return BatchWriter(self, COMMANDS_PER_CALL).write(writes)

    def move(self, remote_id: str, collection: str, version: str = "") -> RemoteItem:
        """item_move to another project (the task keeps its id).
        https://developer.todoist.com/api/v1/#tag/Sync/Items/operation/item_move"""
        if version and self.get(remote_id).version != version:
            raise PreconditionFailed(f"task {remote_id} changed", status=412, service=self.key)
        self.commands(self._command("item_move", {"id": remote_id, "project_id": collection}))
        return self.get(remote_id)

    def delete(self, remote_id: str, version: str = "") -> None:
        if version and self.get(remote_id).version != version:
            raise PreconditionFailed(f"task {remote_id} changed", status=412, service=self.key)
        self.commands(self._command("item_delete", {"id": remote_id}))

    def get(self, remote_id: str) -> RemoteItem:
        return self.to_item(self.api("GET", f"{self.api_base}/tasks/{remote_id}"))

    def _command(
        self, kind: str, args: dict[str, Any], dayflow_id: str = "", **extra: str
    ) -> dict[str, Any]:
        return {"type": kind, "uuid": self._command_uuid(dayflow_id, kind), "args": args, **extra}

    def _command_uuid(self, dayflow_id: str, kind: str) -> str:
        # With DayFlow's id the uuid is derived, so a create retried after a crash sends the
        # same command again and Todoist applies it once; otherwise a fresh one per call. The
        # day is part of it, so re-creating an item deleted in Todoist later is not mistaken
        # for a replay.
        if not dayflow_id:
            return str(uuid.uuid4())
        day = dt.datetime.now(dt.UTC).date().isoformat()
        name = f"{self.connection.pk}:{dayflow_id}:{kind}:{day}"
        return str(uuid.uuid5(ID_NAMESPACE, name))

    def find_by_dayflow_id(self, dayflow_id: str, collection: str = "") -> RemoteItem | None:
        """Only with the description marker on: scan the project's active tasks for it."""
        return self.find_all_by_dayflow_id({dayflow_id}, collection).get(dayflow_id)

    def find_all_by_dayflow_id(
        self, dayflow_ids: set[str], collection: str = ""
    ) -> dict[str, RemoteItem]:
        """Several at once, in one scan of the project (only with the marker on)."""
        if not self._marks():
            return {}
        found: dict[str, RemoteItem] = {}
        projects = [collection] if collection else self.chosen_collections(self.field_mapping)
        params: dict[str, Any] = {"limit": LIST_LIMIT}
        if len(projects) == 1:
            params["project_id"] = projects[0]  # else every active task, ours kept below
        for raw in self._paginate(f"{self.api_base}/tasks", params):
            item = self.to_item(raw)
            if item.dayflow_id in dayflow_ids and item.collection in projects:
                found.setdefault(item.dayflow_id, item)
        return found

    def _marks(self) -> bool:
        return bool(self.field_mapping.get("write_id_marker"))

    # --- containers -----------------------------------------------------------------------
    def list_containers(self) -> list[Container]:
        url, params = f"{self.api_base}/projects", {"limit": LIST_LIMIT}
        return [self._project(raw) for raw in self._paginate(url, params)]

    def _note_project_names(self, projects: Any) -> None:
        for raw in projects if isinstance(projects, list) else []:
            if isinstance(raw, dict) and isinstance(raw.get("name"), str) and raw.get("id"):
                self._project_names[str(raw["id"])] = raw["name"]

    def _read_only(self, project_id: str) -> dict[str, Any]:
        """The project's name where this run's Sync responses gave it (every project on a full
        sync, the changed ones after); otherwise nothing, so the task keeps the name it has:
        no call of its own for a name that rarely changes."""
        name = self._project_names.get(project_id)
        return {} if name is None else {"list_name": name}

    @property
    def _project_names(self) -> dict[str, str]:
        if not hasattr(self, "_names"):
            self._names: dict[str, str] = {}
        return self._names

    def _project(self, raw: Any) -> Container:
        parent = raw.get("parent_id") or ""
        return Container(
            field(self.key, raw, "id", str),
            raw.get("name", ""),
            "project",
            parent,
            (ItemType.TASK,),
        )

    def _paginate(self, url: str, params: dict[str, Any]) -> list[Any]:
        """Every result of a cursor-paginated v1 list ({results, next_cursor})."""
        results: list[Any] = []
        while True:
            response = self.api("GET", url, params=params)
            results += field(self.key, response, "results", list)
            cursor = response.get("next_cursor")
            if not cursor:
                return results
            params = {**params, "cursor": cursor}

    # --- mapping --------------------------------------------------------------------------
    def to_item(self, raw: Any) -> RemoteItem:
        updated = field(self.key, raw, "updated_at", str)
        notes, dayflow_id = split_marker(field(self.key, raw, "description", str))
        project = str(field(self.key, raw, "project_id", str))
        return RemoteItem(
            remote_id=field(self.key, raw, "id", str),
            item_type=ItemType.TASK,
            fields=self.to_fields(raw, notes),
            version=updated,
            updated_at=parse_datetime(self.key, "updated_at", updated),
            collection=project,
            dayflow_id=dayflow_id,
            web_url=self.web_url(raw, str(raw["id"])),
            read_only=self._read_only(project),
        )

    def to_fields(self, raw: dict[str, Any], notes: str) -> dict[str, Any]:
        priority = field(self.key, raw, "priority", int)
        if priority not in TO_DAYFLOW_PRIORITY:
            raise self.unexpected("priority", f"{priority} is not 1-4")
        done_at = raw.get("completed_at")
        return {
            "title": field(self.key, raw, "content", str),
            "notes": notes,
            "status": "done" if field(self.key, raw, "checked", bool) else "open",
            "due": self._due(raw.get("due")),
            "priority": TO_DAYFLOW_PRIORITY[priority],
            "completed_at": parse_datetime(self.key, "completed_at", done_at) if done_at else None,
            "tags": normalized_tags(field(self.key, raw, "labels", list)),
            "url": TASK_URL.format(id=raw["id"]),
        }

    def _due(self, due: Any) -> dt.date | dt.datetime | None:
        """Todoist's three kinds of due: a date, a floating date-time (the user's local time)
        and a fixed one (UTC "Z" plus the zone it was set in).
        https://developer.todoist.com/api/v1/#tag/Due-dates"""
        if due is None:
            return None
        value = field(self.key, due, "date", str)
        if "T" not in value:
            return parse_date(self.key, "due.date", value)
        if value.endswith("Z") or "+" in value[10:] or "-" in value[10:]:
            moment = parse_datetime(self.key, "due.date", value)
            return moment.astimezone(self._zone(due.get("timezone")))
        try:
            floating = dt.datetime.fromisoformat(value)
        except ValueError:
            raise self.unexpected("due.date", f"not an ISO datetime: {value!r}") from None
        return floating.replace(tzinfo=self._zone(self.field_mapping.get("timezone")))

    def to_args(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Normalized fields (any subset but status) as item_add / item_update args."""
        args: dict[str, Any] = {}
        if "title" in fields:
            args["content"] = fields["title"]
        if "notes" in fields:
            args["description"] = fields["notes"] or ""
        if "priority" in fields:
            args["priority"] = TO_TODOIST_PRIORITY[fields["priority"] or 0]
        if "due" in fields:
            args["due"] = _due_arg(fields["due"])
        if "tags" in fields:
            args["labels"] = list(fields["tags"] or [])
        return args

    def _zone(self, name: Any) -> dt.tzinfo:
        try:
            return ZoneInfo(name) if isinstance(name, str) and name else dt.UTC
        except (ZoneInfoNotFoundError, ValueError):
            return dt.UTC


def _due_arg(due: dt.date | dt.datetime | None) -> dict[str, Any] | None:
    if due is None:
        return None
    if not isinstance(due, dt.datetime):
        return {"date": due.isoformat()}
    zone = getattr(due.tzinfo, "key", "UTC")
    utc = due.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    return {"date": f"{utc}Z", "timezone": zone}
