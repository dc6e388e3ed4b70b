"""Journal entries of a run's writes, as rows: what each side held before and after."""

from __future__ import annotations

from typing import Any

from sync.engine.plan import Pair
from sync.engine.run import Run
from sync.models import JournalEntry


def journal_row(
    run: Run, pair: Pair, side: str, op: str, before: Any, after: Any, version: str = ""
) -> dict[str, Any]:
    """One journal entry as columns (`bulk.insert`'s row); `link_id` may still be None for a
    link created in the same batch: `LocalWriter` fills it in once it exists."""
    link = pair.link
    return {
        "job_id": run.job.pk,
        "connection_id": run.connection.pk,
        "link_id": link.pk if link is not None else None,
        "item_type": pair.item_type,
        "side": side,
        "op": op,
        "local_id": pair.local.pk if pair.local is not None else None,
        "remote_id": (link.remote_id if link else "")
        or (pair.remote.remote_id if pair.remote else ""),
        "before": before,
        "after": after,
        "version_after": str(version),
        "reason": reason(pair, side, run.connection.conflict_resolution),
    }


def journal(
    run: Run, pair: Pair, side: str, op: str, before: Any, after: Any, *, version: str = ""
) -> None:
    JournalEntry.objects.create(**journal_row(run, pair, side, op, before, after, version))


def reason(pair: Pair, side: str, strategy: str) -> str:
    if pair.decision.loser == side:
        return f"lost:{strategy}"
    return "applied"
