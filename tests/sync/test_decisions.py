"""Every decision, by table: each strategy x each create/update/delete combination per side."""

from __future__ import annotations

import datetime as dt

import pytest

from sync.decisions import Op, Side, Strategy, decide, master_after_write, merge_fields, same

BASE = {"title": "t", "notes": "n"}
MINE = {"title": "mine", "notes": "n"}  # local edited the title
THEIRS = {"title": "t", "notes": "theirs"}  # remote edited the notes: merges with MINE
CLASH = {"title": "clash", "notes": "n"}  # remote edited the title too: clashes with MINE
MERGED = {"title": "mine", "notes": "theirs"}
EARLY, LATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 2, tzinfo=dt.UTC)

UNCHANGED_L, UNCHANGED_R = Side(BASE), Side(BASE)
EDITED_L = Side(MINE, changed=True, modified_at=LATE)
DELETED_L = Side(None, changed=True)
EDITED_R = Side(THEIRS, changed=True, modified_at=EARLY)
CLASHING_R = Side(CLASH, changed=True, modified_at=EARLY)
DELETED_R = Side(None, changed=True)

ALL = list(Strategy)

# (local, remote) -> (ops, base afterwards, loser): the same under every strategy.
SAME_UNDER_EVERY_STRATEGY = [
    ("nothing changed", UNCHANGED_L, UNCHANGED_R, (), BASE, ""),
    ("local edit", EDITED_L, UNCHANGED_R, (Op.UPDATE_REMOTE,), MINE, ""),
    ("local delete", DELETED_L, UNCHANGED_R, (Op.DELETE_REMOTE,), None, ""),
    ("remote edit", UNCHANGED_L, EDITED_R, (Op.UPDATE_LOCAL,), THEIRS, ""),
    ("remote delete", UNCHANGED_L, DELETED_R, (Op.DELETE_LOCAL,), None, ""),
    ("deleted on both sides", DELETED_L, DELETED_R, (), None, ""),
    (
        "local delete vs remote edit: edit wins",
        DELETED_L,
        EDITED_R,
        (Op.UPDATE_LOCAL,),
        THEIRS,
        "local",
    ),
    (
        "local edit vs remote delete: edit wins",
        EDITED_L,
        DELETED_R,
        (Op.CREATE_REMOTE,),
        MINE,
        "remote",
    ),
    ("same edit on both sides", EDITED_L, Side(MINE, changed=True), (), MINE, ""),
    ("local touched, fields equal to base", Side(BASE, changed=True), UNCHANGED_R, (), BASE, ""),
]


@pytest.mark.parametrize("strategy", ALL)
@pytest.mark.parametrize(
    ("case", "local", "remote", "ops", "base", "loser"),
    SAME_UNDER_EVERY_STRATEGY,
    ids=[row[0] for row in SAME_UNDER_EVERY_STRATEGY],
)
def test_linked_items_one_or_no_conflict(case, local, remote, ops, base, loser, strategy):
    decision = decide(BASE, local, remote, strategy)
    assert (decision.ops, decision.base, decision.loser) == (ops, base, loser)


# Changed on both sides to different values: the strategy decides.
BOTH_EDITED = [
    # strategy, remote, local newer?, ops, base, loser, clash
    ("manual", CLASHING_R, True, (Op.CONFLICT,), BASE, "", ("title",)),
    ("manual", EDITED_R, True, (Op.CONFLICT,), BASE, "", ("notes", "title")),
    ("source", CLASHING_R, True, (Op.UPDATE_LOCAL,), CLASH, "local", ()),
    ("source", EDITED_R, True, (Op.UPDATE_LOCAL,), THEIRS, "local", ()),
    ("latest", CLASHING_R, True, (Op.UPDATE_REMOTE,), MINE, "remote", ()),
    ("latest", CLASHING_R, False, (Op.UPDATE_LOCAL,), CLASH, "local", ()),
    ("latest", EDITED_R, False, (Op.UPDATE_LOCAL,), THEIRS, "local", ()),
    ("merge", EDITED_R, True, (Op.UPDATE_LOCAL, Op.UPDATE_REMOTE), MERGED, "", ()),
    ("merge", CLASHING_R, True, (Op.CONFLICT,), BASE, "", ("title",)),
]


@pytest.mark.parametrize(
    ("strategy", "remote", "local_newer", "ops", "base", "loser", "clash"), BOTH_EDITED
)
def test_both_edited_follows_the_strategy(strategy, remote, local_newer, ops, base, loser, clash):
    local = Side(
        MINE,
        changed=True,
        modified_at=LATE if local_newer else dt.datetime.min.replace(tzinfo=dt.UTC),
    )
    decision = decide(BASE, local, remote, strategy)
    assert (decision.ops, decision.base, decision.loser) == (ops, base, loser)
    conflicts = [a for a in decision.actions if a.op is Op.CONFLICT]
    assert tuple(conflicts[0].clash if conflicts else ()) == clash


def test_merge_writes_the_merged_fields_to_both_sides():
    decision = decide(BASE, EDITED_L, EDITED_R, "merge")
    assert [dict(a.fields) for a in decision.actions] == [MERGED, MERGED]


def test_latest_without_a_local_timestamp_lets_the_service_win():
    decision = decide(BASE, Side(MINE, changed=True), CLASHING_R, "latest")
    assert decision.ops == (Op.UPDATE_LOCAL,)


# Not linked yet: new on one side, or matched by DayFlow's id on a first sync.
UNLINKED = [
    ("new locally", Side(MINE), Side(None), ALL, (Op.CREATE_REMOTE,), MINE),
    ("new remotely", Side(None), Side(THEIRS), ALL, (Op.CREATE_LOCAL,), THEIRS),
    ("matched and equal", Side(MINE), Side(MINE), ALL, (), MINE),
    (
        "matched, different, manual",
        Side(MINE),
        Side(CLASH),
        ["manual", "merge"],
        (Op.CONFLICT,),
        None,
    ),
    ("matched, different, source", Side(MINE), Side(CLASH), ["source"], (Op.UPDATE_LOCAL,), CLASH),
    ("nothing anywhere", Side(None), Side(None), ALL, (), None),
]


@pytest.mark.parametrize(
    ("case", "local", "remote", "strategies", "ops", "base"), UNLINKED, ids=[r[0] for r in UNLINKED]
)
def test_unlinked_items(case, local, remote, strategies, ops, base):
    for strategy in strategies:
        decision = decide(None, local, remote, strategy)
        assert decision.ops == ops, strategy
        if Op.CONFLICT not in ops:
            assert decision.base == base, strategy


# Import only: the service is the source of truth and DayFlow never writes to it.
ONE_WAY = [
    ("local edit stays local", EDITED_L, UNCHANGED_R, (), BASE),
    ("local delete stays local", DELETED_L, UNCHANGED_R, (), BASE),
    ("remote edit imported", UNCHANGED_L, EDITED_R, (Op.UPDATE_LOCAL,), THEIRS),
    ("both edited: the service wins", EDITED_L, CLASHING_R, (Op.UPDATE_LOCAL,), CLASH),
    (
        "local edit vs remote delete: the delete stands",
        EDITED_L,
        DELETED_R,
        (Op.DELETE_LOCAL,),
        None,
    ),
]


@pytest.mark.parametrize("strategy", ALL)
@pytest.mark.parametrize(
    ("case", "local", "remote", "ops", "base"), ONE_WAY, ids=[r[0] for r in ONE_WAY]
)
def test_one_way_never_writes_remotely(case, local, remote, ops, base, strategy):
    decision = decide(BASE, local, remote, strategy, "one_way")
    assert (decision.ops, decision.base) == (ops, base)
    assert decide(None, Side(MINE), Side(None), strategy, "one_way").ops == ()


def test_manual_direction_syncs_both_ways_when_run():
    assert decide(BASE, EDITED_L, UNCHANGED_R, "manual", "manual").ops == (Op.UPDATE_REMOTE,)


@pytest.mark.parametrize(
    ("base", "local", "remote", "merged", "clash"),
    [
        ({"a": 1}, {"a": 1}, {"a": 2}, {"a": 2}, ()),
        ({"a": 1}, {"a": 3}, {"a": 1}, {"a": 3}, ()),
        ({"a": 1}, {"a": 3}, {"a": 3}, {"a": 3}, ()),
        ({"a": 1}, {"a": 3}, {"a": 2}, {}, ("a",)),
        ({}, {"a": 1, "b": 2}, {"a": 1}, {"a": 1, "b": 2}, ()),
    ],
)
def test_merge_fields_per_field(base, local, remote, merged, clash):
    result, clashes = merge_fields(base, local, remote)
    assert clashes == clash
    if not clash:
        assert result == merged


APR6, MAR30, MAY4 = "2026-04-06", "2026-03-30", "2026-05-04"
MASTER = {"title": "Weekly", "exdates": [APR6]}

# (base, local exdates, remote master) -> (local exdates, base exdates, link takes the version)
MASTER_AFTER_WRITE = [
    (
        "our deletion added a date",
        MASTER,
        [APR6],
        {"title": "Weekly", "exdates": [MAR30, APR6]},
        [MAR30, APR6],
        [MAR30, APR6],
        True,
    ),
    (
        "DayFlow added a date of its own, not pushed yet: kept",
        MASTER,
        [APR6, MAY4],
        {"title": "Weekly", "exdates": [MAR30, APR6]},
        [MAR30, APR6, MAY4],
        [MAR30, APR6],
        True,
    ),
    (
        "the master was also renamed elsewhere: the next pull brings it",
        MASTER,
        [APR6],
        {"title": "Renamed", "exdates": [MAR30, APR6]},
        [MAR30, APR6],
        [MAR30, APR6],
        False,
    ),
    (
        "nothing changed on the service",
        MASTER,
        [APR6],
        {"title": "Weekly", "exdates": [APR6]},
        [APR6],
        [APR6],
        True,
    ),
]


@pytest.mark.parametrize(
    ("case", "base", "local", "remote", "local_after", "base_after", "in_step"),
    MASTER_AFTER_WRITE,
)
def test_master_after_deleting_an_instance(
    case, base, local, remote, local_after, base_after, in_step
):
    settled = master_after_write(base, local, remote)
    assert settled.local_exdates == local_after
    assert settled.base == {**base, "exdates": base_after}
    assert settled.in_step is in_step


def test_same_compares_only_the_fields_both_sides_carry():
    assert same({"a": 1, "b": 2}, {"a": 1})
    assert not same({"a": 1}, {"a": 2})
    assert not same({"a": 1}, None)


def test_the_decision_module_imports_nothing_that_does_io():
    import subprocess
    import sys

    code = "import sys, sync.decisions; print(sorted({m.split('.')[0] for m in sys.modules}))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for forbidden in ("django", "requests", "integrations", "dayflow", "caldav"):
        assert f"'{forbidden}'" not in loaded
