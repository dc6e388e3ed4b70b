"""The rules around `decide`, by table: change detection and echo suppression, an open conflict
freezing its item, items linked through another connection, the mass-deletion guard, a 412,
and when automatic syncs wait for a first sync's preview."""

from __future__ import annotations

import datetime as dt

import pytest

from sync.decisions import (
    Action,
    Decision,
    MassDeletion,
    Op,
    Side,
    adopts_by_dayflow_id,
    after_precondition_failed,
    awaits_first_confirmation,
    frozen_by_conflict,
    local_side,
    mass_deletion,
    remote_side,
    syncs_local_change,
)

BASE = {"title": "t", "notes": "n"}
EDITED = {"title": "edited", "notes": "n"}
AT = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)

# (case, base, fields, version, synced version) -> the local side
LOCAL_SIDES = [
    ("unlinked: the fields as they are", None, EDITED, 3, None, Side(EDITED)),
    ("unlinked and deleted", None, None, 3, None, Side(None)),
    ("version the link holds: no change", BASE, BASE, 3, 3, Side(BASE, modified_at=AT)),
    ("new version, new fields: a change", BASE, EDITED, 4, 3, Side(EDITED, True, AT)),
    ("new version, fields equal to the base: no change", BASE, BASE, 4, 3, Side(BASE, False, AT)),
    ("deleted since: a change", BASE, None, 4, 3, Side(None, True, AT)),
    ("row gone: a change", BASE, None, None, 3, Side(None, True, AT)),
]


@pytest.mark.parametrize(
    ("case", "base", "fields", "version", "synced", "side"),
    LOCAL_SIDES,
    ids=[row[0] for row in LOCAL_SIDES],
)
def test_local_change_detection(case, base, fields, version, synced, side):
    assert local_side(base, fields, version=version, synced_version=synced, modified_at=AT) == side


# (case, base, pulled, pending, deleted, version, synced version) -> the remote side
REMOTE_SIDES = [
    ("unlinked and pulled", None, EDITED, False, False, "v1", "", Side(EDITED, modified_at=AT)),
    ("unlinked, not pulled", None, None, False, False, "", "", Side(None)),
    ("our create not recorded yet", BASE, EDITED, True, False, "v1", "", Side(None)),
    ("deleted on the service", BASE, None, False, True, "", "v1", Side(None, changed=True)),
    ("not pulled: unchanged there", BASE, None, False, False, "", "v1", Side(BASE)),
    (
        "a new version with new fields",
        BASE,
        EDITED,
        False,
        False,
        "v2",
        "v1",
        Side(EDITED, True, AT),
    ),
    (
        "echo: the version our write returned",
        BASE,
        EDITED,
        False,
        False,
        "v1",
        "v1",
        Side(EDITED, False, AT),
    ),
    (
        "echo: a new version, the fields of the base",
        BASE,
        BASE,
        False,
        False,
        "v2",
        "v1",
        Side(BASE, False, AT),
    ),
]


@pytest.mark.parametrize(
    ("case", "base", "pulled", "pending", "deleted", "version", "synced", "side"),
    REMOTE_SIDES,
    ids=[row[0] for row in REMOTE_SIDES],
)
def test_remote_change_detection_and_echo_suppression(
    case, base, pulled, pending, deleted, version, synced, side
):
    found = remote_side(
        base,
        pulled,
        pending=pending,
        deleted=deleted,
        version=version,
        synced_version=synced,
        modified_at=AT,
    )
    assert found == side


# (case, local, remote pulled now, remote the conflict recorded) -> the clashing fields
FROZEN = [
    ("both sides as recorded", EDITED, BASE, BASE, ("title",)),
    (
        "the service not pulled: its recorded side",
        EDITED,
        None,
        {"title": "x", "notes": "n"},
        ("title",),
    ),
    ("the sides agree meanwhile: still frozen", EDITED, EDITED, BASE, ()),
    ("DayFlow's copy deleted", None, EDITED, BASE, ()),
]


@pytest.mark.parametrize(
    ("case", "local", "remote", "recorded", "clash"), FROZEN, ids=[row[0] for row in FROZEN]
)
def test_an_open_conflict_freezes_its_item(case, local, remote, recorded, clash):
    decision = frozen_by_conflict(BASE, local, remote, recorded)

    assert decision == Decision((Action(Op.CONFLICT, clash=clash),), base=BASE)


# (case, linked here, linked elsewhere, deleted, in step, its list's destination is here)
# -> this connection pushes it
LOCAL_CHANGES = [
    ("new item", False, False, False, False, True, True),
    ("new item, its list's new items go elsewhere", False, False, False, False, False, False),
    ("new item, deleted before any sync", False, False, True, False, True, False),
    ("linked through another connection only", False, True, False, False, True, False),
    ("linked here and elsewhere, changed", True, True, False, False, False, True),
    ("linked here, changed", True, False, False, False, True, True),
    (
        "linked here, moved to a list whose new items go elsewhere",
        True,
        False,
        False,
        False,
        False,
        True,
    ),
    ("linked here, deleted", True, False, True, False, True, True),
    ("linked here, in step", True, False, False, True, True, False),
]


@pytest.mark.parametrize(
    ("case", "here", "elsewhere", "deleted", "in_step", "destined", "synced"),
    LOCAL_CHANGES,
    ids=[row[0] for row in LOCAL_CHANGES],
)
def test_a_local_change_is_pushed_by_its_link_or_its_lists_destination(
    case, here, elsewhere, deleted, in_step, destined, synced
):
    assert (
        syncs_local_change(
            linked_here=here,
            linked_elsewhere=elsewhere,
            deleted=deleted,
            in_step=in_step,
            destined_here=destined,
        )
        is synced
    )


# (linked here, linked elsewhere) -> a remote item carrying its DayFlow id pairs with it
ADOPTIONS = [(False, False, True), (True, False, True), (True, True, True), (False, True, False)]


@pytest.mark.parametrize(("here", "elsewhere", "adopted"), ADOPTIONS)
def test_an_item_linked_through_another_connection_is_not_adopted(here, elsewhere, adopted):
    assert adopts_by_dayflow_id(linked_here=here, linked_elsewhere=elsewhere) is adopted


DL, DR, UL = Op.DELETE_LOCAL, Op.DELETE_REMOTE, Op.UPDATE_LOCAL
# (case, ops, linked, listed empty) -> the guard's finding (share 0.5, minimum 3)
MASS_DELETIONS = [
    ("no deletions", [UL, UL], 10, False, None),
    ("a few", [DL, DL], 10, False, None),
    ("at the minimum, under the share", [DL, DL, DR], 10, False, None),
    ("over the share, under the minimum", [DL, DL], 3, False, None),
    (
        "over the share and the minimum",
        [DL, DL, DR, DR, DR, DL],
        10,
        False,
        MassDeletion(6, 10, False),
    ),
    ("exactly the share", [DL] * 5, 10, False, None),
    ("every linked item gone remotely", [DL], 1, False, MassDeletion(1, 1, True)),
    ("every linked item deleted locally", [DR, DR], 2, False, MassDeletion(2, 2, True)),
    ("a full listing found nothing", [DL], 10, True, MassDeletion(1, 10, True)),
    ("nothing linked yet", [DL], 0, False, None),
]


@pytest.mark.parametrize(
    ("case", "ops", "linked", "empty", "found"),
    MASS_DELETIONS,
    ids=[row[0] for row in MASS_DELETIONS],
)
def test_the_mass_deletion_threshold(case, ops, linked, empty, found):
    assert mass_deletion(ops, linked=linked, listed_empty=empty, share=0.5, minimum=3) == found


# the link's base -> after a 412 nothing is written and the base stays
PRECONDITIONS = [("linked", BASE), ("an intent, never created", None)]


@pytest.mark.parametrize(("case", "base"), PRECONDITIONS, ids=[row[0] for row in PRECONDITIONS])
def test_a_412_on_a_write_leaves_the_item_for_the_next_run(case, base):
    decision = after_precondition_failed(base)

    assert (decision.ops, decision.base) == ((), base)


# (latest job a preview, synced for real before, containers made before it and never synced)
# -> automatic syncs (beat, webhooks, DayFlow edits) wait for the person
FIRST_CONFIRMATIONS = [
    ("nothing queued yet", False, False, False, False),
    ("the connection's first sync is a preview", True, False, False, True),
    ("never synced, a real sync since the preview", False, False, False, False),
    ("synced, a preview asked for later", True, True, False, False),
    ("synced, a container added before its preview", True, True, True, True),
    ("synced, a container added, a real sync since", False, True, True, False),
]


@pytest.mark.parametrize(
    ("case", "preview", "synced", "new_containers", "waits"),
    FIRST_CONFIRMATIONS,
    ids=[row[0] for row in FIRST_CONFIRMATIONS],
)
def test_automatic_syncs_wait_for_a_first_syncs_preview(
    case, preview, synced, new_containers, waits
):
    assert (
        awaits_first_confirmation(
            latest_is_preview=preview, synced_before=synced, new_containers=new_containers
        )
        is waits
    )
