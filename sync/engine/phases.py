"""A run's phases in order, each passing its value to the next: pull → plan → guard → apply.

The cursor and the local watermark move only when a run completes, so a run killed at any
point is simply run again: what it already applied is recognised by the links' versions, and a
create whose link was not saved is found by DayFlow's id on the remote item.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.utils import timezone

from integrations.models import Connection
from sync import conf, decisions, links, matching, rules
from sync.decisions import Op
from sync.engine import remote
from sync.engine.local import LocalWriter
from sync.engine.plan import Pair, plan
from sync.engine.pull import Pulled, pull
from sync.engine.run import Run, Stop, checkpoint, enter_phase, report_unsyncable
from sync.models import ItemLink, SyncCursor, SyncJob
from sync.rules import Outcome


def sync(run: Run) -> None:
    """Everything the connection's pull covers, behind its one cursor."""
    cursor_row, _ = SyncCursor.objects.get_or_create(connection=run.connection, collection="")
    started = timezone.now()
    incremental = (
        run.job.kind == SyncJob.Kind.INCREMENTAL
        and bool(cursor_row.value)
        and not windows_moved_since(run, cursor_row)
    )
    enter_phase(run, SyncJob.Phase.PULLING)
    pulled = pull(run, cursor_row.value if incremental else None)
    report_unsyncable(run, pulled.unsyncable)
    if run.provider.list_name_is_container:
        links.learn_names(run.connection.pk, pulled.items.values())
    watermark = cursor_row.local_watermark if incremental else None
    enter_phase(run, SyncJob.Phase.DECIDING)
    pairs = plan(run, pulled, watermark)
    run.planned = len(pairs)
    guard(run, pairs, pulled)
    if run.job.dry_run:
        # Items already the same on both sides, for the person to link instead of copying.
        found = matching.preview_matches(pairs, connection_id=run.connection.pk, unsent=run.unsent)
        run.note_report(preview=preview(pairs), matching=found)
        return
    next_cursor = pulled.cursor or ""
    del pulled  # the pairs hold what the writes need
    for batch in let_go_as_applied(pairs, run.batch_size):
        run.phase = SyncJob.Phase.WRITING_REMOTE  # saved by the checkpoint
        checkpoint(run)
        apply_batch(run, batch)
    checkpoint(run)
    if rules_changed_meanwhile(run):
        return  # the save cleared the cursor: the next sync lists everything, by the new rules
    cursor_row.value = next_cursor
    cursor_row.local_watermark = started
    cursor_row.save(update_fields=["value", "local_watermark", "updated_at"])


def let_go_as_applied(pairs: list[Pair], size: int) -> Iterator[list[Pair]]:
    """`pairs` in batches of `size`, in order, each let go of (taken out of `pairs`) once the
    next is asked for: a first sync of 50,000 events would otherwise hold every pair's item,
    DayFlow row and link until its end."""
    pairs.reverse()
    while pairs:
        yield [pairs.pop() for _ in range(min(size, len(pairs)))]


def rules_changed_meanwhile(run: Run) -> bool:
    """Whether the connection's rules, or one of its links' own, changed during the run."""
    current = Connection.objects.filter(pk=run.connection.pk).values_list("sync_rules", flat=True)
    connection = Connection(pk=run.connection.pk, sync_rules=current.first())
    return links.LinkSettings(connection).fingerprint() != run.settings.fingerprint()


def windows_moved_since(run: Run, cursor_row: SyncCursor) -> bool:
    last = cursor_row.local_watermark
    every = [r for r in run.settings.every_rules() if r]
    if last is None or not every:
        return False
    last_day = timezone.localdate(last, run.zone)
    return any(rules.windows_moved(r, last_day, run.today) for r in every)


def guard(run: Run, pairs: list[Pair], pulled: Pulled) -> None:
    """The mass-deletion guard (`decisions.mass_deletion`): stop, changing nothing, and wait
    for the user's confirmation."""
    if run.job.confirmed or run.job.dry_run:
        return
    # A copy let go because the person moved the item to another service's list is no loss:
    # the item lives on, in DayFlow and there.
    ops = [op for pair in pairs if not pair.handed_over for op in pair.decision.ops]
    if Op.DELETE_LOCAL not in ops and Op.DELETE_REMOTE not in ops:
        return
    # Pairs the deletion policy keeps apart are no longer linked items.
    linked = (
        ItemLink.objects.filter(connection=run.connection, deletion_pending="")
        .exclude(remote_id="")
        .count()
    )
    found = decisions.mass_deletion(
        ops,
        linked=linked,
        listed_empty=pulled.listed_empty,
        share=float(conf.get("DAYFLOW_SYNC_MASS_DELETE_SHARE")),
        minimum=int(conf.get("DAYFLOW_SYNC_MASS_DELETE_MIN")),
    )
    if found is not None:
        run.note_report(
            preview=preview(pairs),
            guard={
                "deletions": found.deletions,
                "linked": found.linked,
                "side_empty": found.side_empty,
            },
        )
        raise Stop(SyncJob.Status.NEEDS_CONFIRMATION)


def apply_batch(run: Run, batch: list[Pair]) -> None:
    """Remote writes (one by one, or in the provider's batches), then the batch's local
    writes in bulk; then the series masters our deletions of instances changed on the
    service."""
    written = remote.write_all(run, remote.prepare_creates(run, batch))
    written = [w._replace(pair=remote.move(run, w.pair)) for w in written]
    enter_phase(run, SyncJob.Phase.WRITING_LOCAL)
    LocalWriter(run).write([pair for pair, _master in written])
    for _pair, master in written:
        if master is not None:
            remote.settle_master(run, master)
    let_go_after_update([pair for pair, _master in written])


def let_go_after_update(pairs: list[Pair]) -> None:
    """The links of pairs the rules let go once their edit reached the other copy; a write
    that failed or met a newer version keeps its link, for the next run to settle."""
    updates = {Op.UPDATE_LOCAL, Op.UPDATE_REMOTE}
    done = [
        pair.link.pk
        for pair in pairs
        if pair.outcome is Outcome.UPDATE_THEN_UNLINK
        and pair.link is not None
        and pair.link.pk
        and pair.decision.ops
        and set(pair.decision.ops) <= updates
    ]
    if done:
        ItemLink.objects.filter(pk__in=done).delete()


def preview(pairs: list[Pair]) -> dict[str, dict[str, int]]:
    """What a run would do, per side: the report of a dry run and of the mass-deletion guard."""
    names = {
        Op.CREATE_LOCAL: ("local", "create"),
        Op.UPDATE_LOCAL: ("local", "update"),
        Op.DELETE_LOCAL: ("local", "delete"),
        Op.CREATE_REMOTE: ("remote", "create"),
        Op.UPDATE_REMOTE: ("remote", "update"),
        Op.DELETE_REMOTE: ("remote", "delete"),
        Op.CONFLICT: ("both", "conflict"),
    }
    report: dict[str, dict[str, int]] = {
        "local": {"create": 0, "update": 0, "delete": 0},
        "remote": {"create": 0, "update": 0, "delete": 0},
        "both": {"conflict": 0},
    }
    for pair in pairs:
        for op in pair.decision.ops:
            side, what = names[op]
            report[side][what] += 1
    return report
