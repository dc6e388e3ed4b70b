"""An in-memory service and a Provider over it, faithful where the engine depends on it:
versions change on every write, deletions leave tombstones in the change feed, cursors page and
expire, DayFlow's id is kept on the item, and failures can be injected per operation."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import pickle
from collections import Counter
from pathlib import Path
from typing import Any

from integrations.providers.base import ItemType, Kind, Page, Provider, RemoteItem
from integrations.providers.errors import CursorExpired, NotFound, PreconditionFailed

WRITES = ("create", "update", "delete")


@dataclasses.dataclass
class Stored:
    item_type: str
    fields: dict[str, Any]
    version: int
    updated_at: dt.datetime
    dayflow_id: str
    seq: int


class FakeService:
    """The remote service's state. `path`: persist after every write (crash tests)."""

    def __init__(self, *, page_size: int = 50, path: Path | None = None) -> None:
        self.items: dict[str, Stored] = {}
        self.tombstones: dict[str, int] = {}
        self.seq = 0
        self.min_seq = 0
        self.next_id = 0
        self.page_size = page_size
        self.calls: Counter[str] = Counter()
        self.failures: dict[str, list[Exception]] = {}
        self.expose_dayflow_id = True
        self.path = path
        self.clock = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    # --- what users do at the service ---------------------------------------------------------
    def add(self, item_type: str = "task", dayflow_id: str = "", **fields: Any) -> str:
        self.next_id += 1
        remote_id = f"r{self.next_id}"
        self.items[remote_id] = Stored(item_type, dict(fields), 1, self._tick(), dayflow_id, 0)
        self._touch(remote_id)
        return remote_id

    def edit(self, remote_id: str, **fields: Any) -> None:
        stored = self.items[remote_id]
        stored.fields.update(fields)
        stored.version += 1
        stored.updated_at = self._tick()
        self._touch(remote_id)

    def remove(self, remote_id: str) -> None:
        del self.items[remote_id]
        self.seq += 1
        self.tombstones[remote_id] = self.seq
        self._persist()

    def writes(self) -> int:
        return sum(self.calls[name] for name in WRITES)

    def fail_next(self, operation: str, error: Exception) -> None:
        self.failures.setdefault(operation, []).append(error)

    def by_dayflow_id(self) -> dict[str, str]:
        return {s.dayflow_id: rid for rid, s in self.items.items() if s.dayflow_id}

    def _tick(self) -> dt.datetime:
        self.clock += dt.timedelta(seconds=1)
        return self.clock

    def _touch(self, remote_id: str) -> None:
        self.seq += 1
        self.items[remote_id].seq = self.seq
        self._persist()

    def _persist(self) -> None:
        if self.path is not None:
            self.path.write_bytes(pickle.dumps(self._state()))

    def _state(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("failures")
        return state

    @classmethod
    def load(cls, path: Path) -> FakeService:
        service = cls()
        service.__dict__.update(pickle.loads(path.read_bytes()))
        service.failures = {}
        return service


class FakeProvider(Provider):
    key = "fake"
    name = "Fake"
    kind = Kind.TASKS
    item_types = (ItemType.TASK, ItemType.EVENT)

    def __init__(self, connection: Any, service: FakeService) -> None:
        super().__init__(connection)
        self.service = service

    def _call(self, operation: str) -> None:
        self.service.calls[operation] += 1
        queued = self.service.failures.get(operation)
        if queued:
            raise queued.pop(0)

    def _item(self, remote_id: str) -> RemoteItem:
        stored = self.service.items[remote_id]
        return RemoteItem(
            remote_id=remote_id,
            item_type=ItemType(stored.item_type),
            fields=copy.deepcopy(stored.fields),
            version=str(stored.version),
            updated_at=stored.updated_at,
            dayflow_id=stored.dayflow_id if self.service.expose_dayflow_id else "",
        )

    def pull(self, cursor: str | None, collection: str = "") -> Page:
        self._call("pull")
        if cursor is None or cursor.startswith("full:"):
            return self._full(cursor)
        since = int(cursor.removeprefix("seq:"))
        if since < self.service.min_seq:
            raise CursorExpired("sync token expired", service="fake")
        changes = sorted(
            [(s.seq, rid, False) for rid, s in self.service.items.items() if s.seq > since]
            + [(seq, rid, True) for rid, seq in self.service.tombstones.items() if seq > since]
        )
        page, rest = changes[: self.service.page_size], changes[self.service.page_size :]
        last = page[-1][0] if page else since
        return Page(
            items=[self._item(rid) for _seq, rid, gone in page if not gone],
            deleted_ids=[rid for _seq, rid, gone in page if gone],
            next_cursor=f"seq:{last}",
            has_more=bool(rest),
        )

    def _full(self, cursor: str | None) -> Page:
        offset, snapshot = (
            (0, self.service.seq) if cursor is None else map(int, cursor[5:].split(":"))
        )
        ids = sorted(self.service.items, key=lambda rid: int(rid[1:]))
        page = ids[offset : offset + self.service.page_size]
        more = offset + self.service.page_size < len(ids)
        return Page(
            items=[self._item(rid) for rid in page],
            next_cursor=f"full:{offset + self.service.page_size}:{snapshot}"
            if more
            else f"seq:{snapshot}",
            has_more=more,
            full=True,
        )

    def create(
        self, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        self._call("create")
        item_type = "event" if "start" in fields else "task"
        remote_id = self.service.add(item_type, dayflow_id=dayflow_id, **fields)
        return self._item(remote_id)

    def update(self, remote_id: str, fields: dict[str, Any], version: str = "") -> RemoteItem:
        self._call("update")
        stored = self.service.items.get(remote_id)
        if stored is None:
            raise NotFound("no such item", service="fake")
        if version and version != str(stored.version):
            raise PreconditionFailed("etag mismatch", status=412, service="fake")
        self.service.edit(remote_id, **fields)
        return self._item(remote_id)

    def delete(self, remote_id: str, version: str = "") -> None:
        self._call("delete")
        if remote_id not in self.service.items:
            raise NotFound("no such item", service="fake")
        self.service.remove(remote_id)

    def get(self, remote_id: str) -> RemoteItem:
        self._call("get")
        if remote_id not in self.service.items:
            raise NotFound("no such item", service="fake")
        return self._item(remote_id)

    def find_by_dayflow_id(self, dayflow_id: str) -> RemoteItem | None:
        self._call("find")
        remote_id = self.service.by_dayflow_id().get(dayflow_id)
        return self._item(remote_id) if remote_id else None
