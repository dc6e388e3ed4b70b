"""`Provider.write_batch`'s default: the single writes one by one, each write's failure its
own result (a provider whose service batches overrides it: test_todoist_batch.py)."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.providers import errors
from integrations.providers.base import ItemType, Kind, Provider, RemoteItem, Write


class OneByOne(Provider):
    key = "one-by-one"
    name = "One by one"
    kind = Kind.TASKS

    def __init__(self) -> None:
        super().__init__(connection=None)
        self.calls: list[tuple[str, str]] = []

    def create(
        self, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        self.calls.append(("create", dayflow_id))
        if fields["title"] == "refused":
            raise errors.Permanent("refused", status=400)
        return RemoteItem("r1", ItemType.TASK, fields, dayflow_id=dayflow_id)

    def update(self, remote_id: str, fields: dict[str, Any], version: str = "") -> RemoteItem:
        self.calls.append(("update", remote_id))
        if version == "old":
            raise errors.PreconditionFailed("changed", status=412)
        if remote_id == "busy":
            raise errors.RateLimited("slow down", retry_after=5)
        return RemoteItem(remote_id, ItemType.TASK, fields)

    def delete(self, remote_id: str, version: str = "") -> None:
        self.calls.append(("delete", remote_id))
        if remote_id == "gone":
            raise errors.NotFound("gone", status=404)


CASES = [
    ("create", Write("create", {"title": "new"}, dayflow_id="task-1"), RemoteItem),
    ("create-refused", Write("create", {"title": "refused"}), errors.Permanent),
    ("update", Write("update", {"title": "x"}, remote_id="r2"), RemoteItem),
    ("update-stale", Write("update", {}, remote_id="r2", version="old"), errors.PreconditionFailed),
    ("update-rate-limited", Write("update", {}, remote_id="busy"), errors.RateLimited),
    ("delete", Write("delete", remote_id="r3"), type(None)),
    ("delete-gone", Write("delete", remote_id="gone"), errors.NotFound),
]


@pytest.mark.parametrize(("write", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_write_gets_its_own_result(write, expected):
    provider = OneByOne()
    fine = Write("create", {"title": "fine"})

    first, result, last = provider.write_batch([fine, write, fine])

    assert isinstance(result, expected)
    assert isinstance(first, RemoteItem)
    assert isinstance(last, RemoteItem)  # the write after a failure still went
    assert len(provider.calls) == 3
