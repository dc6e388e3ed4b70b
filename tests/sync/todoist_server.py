"""Todoist faked at the HTTP seam in the documented shapes of API v1's Sync endpoint and tasks
resource (tests/fixtures/todoist/, https://developer.todoist.com/api/v1/#tag/Sync). Used by the
end-to-end tests and benchmarks/sync_engine.py."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

from tests.integrations.providers.support import load

API = "https://api.todoist.com/api/v1"
PROJECT = "6Jf8VQXxpwv56VQ7"
ITEM = load("todoist", "item.json")
EPOCH = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
NOT_FOUND = load("todoist", "command_error.json")["sync_status"]["UUID"]


class TodoistServer:
    """Todoist's documented behaviour: sync tokens (a full sync leaves completed tasks out),
    commands applied once per uuid, temp ids mapped, `updated_at` moving on every write."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.changed: dict[str, int] = {}
        self.seq = 0
        self.seen: set[str] = set()
        self.commands_sent = 0
        self.write_calls = 0  # Sync calls that carried commands

    def install(self, mocked: responses.RequestsMock) -> None:
        mocked.assert_all_requests_are_fired = False
        mocked.add_callback("POST", f"{API}/sync", callback=self.sync)
        mocked.add_callback("GET", re.compile(rf"{API}/tasks/\w+"), callback=self.get)
        mocked.add_callback("GET", re.compile(rf"{API}/tasks(\?.*)?$"), callback=self.list)

    # --- what the user does in Todoist --------------------------------------------------------
    def add(self, content: str, **changes: Any) -> str:
        new_id = f"t{len(self.items) + 1}"
        raw = copy.deepcopy(ITEM)
        raw.update({"description": "", "due": None, "priority": 1, **changes})
        raw.update(id=new_id, content=content)
        self.items[new_id] = raw
        self._touch(new_id)
        return new_id

    def edit(self, item_id: str, **changes: Any) -> None:
        self.items[item_id].update(changes)
        self._touch(item_id)

    def remove(self, item_id: str) -> None:
        self.edit(item_id, is_deleted=True)

    def alive(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.items.items() if not v["is_deleted"]}

    def _touch(self, item_id: str) -> None:
        self.seq += 1
        self.changed[item_id] = self.seq
        stamp = EPOCH + dt.timedelta(seconds=self.seq, microseconds=1)
        self.items[item_id]["updated_at"] = stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    # --- the HTTP side ----------------------------------------------------------------------
    def sync(self, request) -> tuple[int, dict, str]:
        """Commands first (each uuid applied once), then, with a sync token, the items
        changed since it: Todoist reads and writes in one call."""
        form = {k: v[0] for k, v in parse_qs(request.body).items()}
        body: dict[str, Any] = {}
        if "commands" in form:
            self.write_calls += 1
            body |= self._commands(json.loads(form["commands"]))
        token = form.get("sync_token")
        if token == "*":
            items = [i for i in self.items.values() if not i["is_deleted"] and not i["checked"]]
            body |= {"full_sync": True, "items": items}
        elif token is not None:
            since = int(token.removeprefix("tok"))
            items = [self.items[i] for i, seq in self.changed.items() if seq > since]
            body |= {"full_sync": False, "items": items}
        body["sync_token"] = f"tok{self.seq}"
        return 200, {}, json.dumps(body)

    def _commands(self, commands: list[dict[str, Any]]) -> dict[str, Any]:
        statuses: dict[str, Any] = {}
        mapping: dict[str, str] = {}
        for command in commands:
            statuses[command["uuid"]] = "ok"
            if command["uuid"] not in self.seen:
                self.seen.add(command["uuid"])
                self.commands_sent += 1
                statuses[command["uuid"]] = self._apply(command, mapping)
        return {"sync_status": statuses, "temp_id_mapping": mapping}

    def _apply(self, command: dict[str, Any], mapping: dict[str, str]) -> Any:
        args, kind = dict(command["args"]), command["type"]
        if kind == "item_add":
            args.pop("project_id", None)
            content = args.pop("content")
            mapping[command["temp_id"]] = self.add(content, **args)
            return "ok"
        target = mapping.get(args["id"], args.pop("id"))
        if target not in self.items or self.items[target]["is_deleted"]:
            return NOT_FOUND
        changes = {
            "item_update": args,
            "item_close": {"checked": True, "completed_at": "2026-03-01T12:00:00.000000Z"},
            "item_uncomplete": {"checked": False, "completed_at": None},
            "item_delete": {"is_deleted": True},
        }[kind]
        self.edit(target, **changes)
        return "ok"

    def get(self, request) -> tuple[int, dict, str]:
        found = self.items.get(request.url.split("?")[0].rsplit("/", 1)[1])
        if found is None or found["is_deleted"]:
            return 404, {}, "{}"
        return 200, {}, json.dumps(found)

    def list(self, request) -> tuple[int, dict, str]:
        active = [i for i in self.alive().values() if not i["checked"]]
        ids = parse_qs(urlsplit(request.url).query).get("ids")
        if ids:
            wanted = set(ids[0].split(","))
            active = [i for i in active if i["id"] in wanted]
        return 200, {}, json.dumps({"results": active, "next_cursor": None})
