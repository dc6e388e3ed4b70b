"""The audit chain's hashes: pure functions over an event's recorded values (audit/chain.py
explains the chain)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

# The fields the content hash covers, in the order of the canonical form.
FIELDS = (
    "created_at",
    "actor_id",
    "action",
    "connection_id",
    "connection_label",
    "resource",
    "details",
    "success",
    "ip_address",
    "user_agent",
    "channel",
)


def canonical(values: Mapping[str, Any]) -> str:
    """The canonical JSON of an event's recorded fields (a dict keyed by FIELDS)."""
    created_at = values["created_at"]
    plain = {name: _plain(values[name]) for name in FIELDS}
    plain["created_at"] = created_at.astimezone(dt.UTC).isoformat()
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _plain(value: Any) -> Any:
    """PostgreSQL's jsonb gives 1e20 back as an int and keeps 2.0 a float: whole floats are
    hashed as ints, so a value hashes the same before and after the database."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def content_hash(values: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON of an event's recorded values (keyed by FIELDS)."""
    return hashlib.sha256(canonical(values).encode()).hexdigest()


def link(previous_chain_hash: str, own_content_hash: str) -> str:
    return hashlib.sha256((previous_chain_hash + own_content_hash).encode()).hexdigest()


def seal(rows: Iterable[dict[str, Any]], previous: str = "") -> Iterable[tuple[int, str, str]]:
    """(id, content_hash, chain_hash) for rows in chain order: for the migration of old rows."""
    for row in rows:
        own = content_hash(row)
        previous = link(previous, own)
        yield row["id"], own, previous
