"""Todoist's batched writes (`TodoistProvider.write_batch`): many writes in few Sync calls.

Each write becomes its commands (an add and maybe a close; an update and maybe a close or a
reopen; a delete), sent in calls of at most 100 commands, a write's commands never split. With
a sync token from this run (the pull's, then each write call's), the same call reads back the
items it changed, so a batch of creates costs one call; items the call does not return are
read by id in one list call. Updates and deletes with a version read the current items first,
all in one list call, to keep the single-write checks (a newer version is a conflict, an
unchanged recurring due is not resent, the marker stays).
https://developer.todoist.com/api/v1/#tag/Sync/Overview/Write-resources
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from integrations.providers.base import RemoteItem, Write, WriteResult, add_marker, field
from integrations.providers.errors import NotFound, Permanent, PreconditionFailed, ProviderError

if TYPE_CHECKING:
    from integrations.providers.todoist.provider import TodoistProvider

Command = dict[str, Any]


@dataclasses.dataclass
class Planned:
    """One write of the batch with its commands; `temp_id` for an add."""

    index: int
    write: Write
    commands: list[Command]
    temp_id: str = ""
    target: str = ""  # the id to read back after the call


class BatchWriter:
    def __init__(self, provider: TodoistProvider, commands_per_call: int) -> None:
        self.provider = provider
        self.per_call = commands_per_call
        self.read: dict[str, RemoteItem] = {}  # items the write calls returned, by id

    def write(self, writes: list[Write]) -> list[WriteResult]:
        results: list[WriteResult] = [None] * len(writes)
        current = self._current(writes)
        planned: list[Planned] = []
        for index, one in enumerate(writes):
            try:
                plan = self._plan(index, one, current)
            except ProviderError as error:
                results[index] = error
                continue
            if plan.commands:
                planned.append(plan)
            else:  # nothing to change: the item as it is
                results[index] = current[one.remote_id]
        replayed = self._send(planned, results)
        self._resolve_replays(replayed, results)
        self._read_back(planned, results)
        return results

    # --- before: the current items of updates and deletes ---------------------------------
    def _current(self, writes: list[Write]) -> dict[str, RemoteItem | ProviderError]:
        wanted = {
            w.remote_id for w in writes if w.op == "update" or (w.op == "delete" and w.version)
        }
        return self._by_ids(sorted(wanted)) if wanted else {}

    def _by_ids(self, ids: list[str]) -> dict[str, RemoteItem | ProviderError]:
        """The items with these ids: active ones in one list call (`ids`, comma-separated, as
        the official SDK's `get_tasks(ids=…)` sends it: Doist/todoist-api-python api.py), any
        other (a completed task) by its own read."""
        found: dict[str, RemoteItem | ProviderError] = {}
        provider = self.provider
        for start in range(0, len(ids), 200):
            chunk = ids[start : start + 200]
            params = {"ids": ",".join(chunk), "limit": 200}
            for raw in provider._paginate(f"{provider.api_base}/tasks", params):
                item = provider.to_item(raw)
                found[item.remote_id] = item
        for remote_id in ids:
            if remote_id not in found:
                try:
                    found[remote_id] = provider.get(remote_id)
                except Permanent as error:  # that item's alone
                    found[remote_id] = error
        return found

    # --- the commands of each write -------------------------------------------------------
    def _plan(self, index: int, one: Write, current: dict[str, Any]) -> Planned:
        if one.op == "create":
            return self._plan_create(index, one, fresh=False)
        item = current.get(one.remote_id)
        if isinstance(item, ProviderError):
            raise item
        if item is not None and one.version and item.version != one.version:
            raise PreconditionFailed(
                f"task {one.remote_id} changed", status=412, service=self.provider.key
            )
        if one.op == "delete":
            command = self.provider._command("item_delete", {"id": one.remote_id})
            return Planned(index, one, [command])
        commands = self.provider.update_commands(one.remote_id, one.fields, item)
        return Planned(index, one, commands, target=one.remote_id)

    def _plan_create(self, index: int, one: Write, *, fresh: bool) -> Planned:
        """Derived uuids (a replay after a crash is applied once), or fresh ones for an item
        added before and deleted since."""
        provider = self.provider
        project = provider.collection_id(one.collection)
        args = {"project_id": project, **provider.to_args(one.fields)}
        if one.dayflow_id and provider._marks():
            args["description"] = add_marker(one.fields.get("notes") or "", one.dayflow_id)
        seed = "" if fresh else one.dayflow_id
        temp_id = provider._command_uuid(seed, "temp")
        commands = [provider._command("item_add", args, seed, temp_id=temp_id)]
        if one.fields.get("status") == "done":
            commands.append(provider._command("item_close", {"id": temp_id}, seed))
        return Planned(index, one, commands, temp_id=temp_id)

    # --- the calls ------------------------------------------------------------------------
    def _send(self, planned: list[Planned], results: list[WriteResult]) -> list[Planned]:
        """Every planned write's outcome into `results`; returns the adds Todoist had applied
        before (no temp id mapped now), for the marker to find."""
        replayed: list[Planned] = []
        for call in self._calls(planned):
            statuses, mapping = self._call([c for plan in call for c in plan.commands])
            for plan in call:
                error = self._first_error(plan, statuses)
                if error is not None:
                    results[plan.index] = error
                elif plan.write.op == "create":
                    plan.target = mapping.get(plan.temp_id, "")
                    if not plan.target:
                        replayed.append(plan)
        return replayed

    def _calls(self, planned: list[Planned]) -> list[list[Planned]]:
        calls: list[list[Planned]] = [[]]
        size = 0
        for plan in planned:
            if size + len(plan.commands) > self.per_call and calls[-1]:
                calls.append([])
                size = 0
            calls[-1].append(plan)
            size += len(plan.commands)
        return [call for call in calls if call]

    def _call(self, commands: list[Command]) -> tuple[dict[str, Any], dict[str, str]]:
        provider = self.provider
        data: dict[str, Any] = {"commands": json.dumps(commands)}
        token = provider._read_token
        if token:
            data |= {"sync_token": token, "resource_types": json.dumps(["items"])}
        # Resending is safe: Todoist applies each command uuid once.
        url = f"{provider.api_base}/sync"
        response = provider.api("POST", url, data=data, idempotent=True)
        statuses = field(provider.key, response, "sync_status", dict)
        if token and isinstance(response.get("sync_token"), str):
            provider._read_token = response["sync_token"]
        for raw in (response.get("items") or []) if token else []:
            if isinstance(raw, dict) and not raw.get("is_deleted"):
                item = provider.to_item(raw)
                self.read[item.remote_id] = item
        return statuses, response.get("temp_id_mapping") or {}

    def _first_error(self, plan: Planned, statuses: dict[str, Any]) -> ProviderError | None:
        for command in plan.commands:
            status = statuses.get(command["uuid"])
            if status != "ok":
                error = self.provider._command_error(command["type"], status)
                if isinstance(error, NotFound) and plan.write.op == "delete":
                    return None  # already gone: the outcome we wanted
                return error
        return None

    # --- after: replays and read-backs ----------------------------------------------------
    def _resolve_replays(self, replayed: list[Planned], results: list[WriteResult]) -> None:
        """Adds applied before (a rerun after a crash): found by our marker in one scan of
        the project; those not there (deleted or done since) are added anew."""
        if not replayed:
            return
        provider = self.provider
        if not provider._marks():
            for plan in replayed:
                results[plan.index] = provider.unexpected(
                    "temp_id_mapping",
                    "added earlier today and cannot be looked up without the marker",
                )
            return
        found = provider.find_all_by_dayflow_id({plan.write.dayflow_id for plan in replayed})
        again = []
        for plan in replayed:
            item = found.get(plan.write.dayflow_id)
            if item is not None:
                plan.target = item.remote_id
                self.read[item.remote_id] = item
            else:
                again.append(self._plan_create(plan.index, plan.write, fresh=True))
        self._send(again, results)
        for plan in again:
            original = next(p for p in replayed if p.index == plan.index)
            original.target = plan.target

    def _read_back(self, planned: list[Planned], results: list[WriteResult]) -> None:
        """The written items as Todoist now holds them: from the calls' own reads, the rest
        in one list call."""
        pending = [
            p for p in planned if p.write.op != "delete" and p.target and results[p.index] is None
        ]
        missing = sorted({p.target for p in pending if p.target not in self.read})
        fetched = self._by_ids(missing) if missing else {}
        for plan in pending:
            results[plan.index] = self.read.get(plan.target) or fetched[plan.target]
        for plan in planned:
            if plan.write.op == "create" and not plan.target and results[plan.index] is None:
                results[plan.index] = self.provider.unexpected("temp_id_mapping", "no id mapped")
