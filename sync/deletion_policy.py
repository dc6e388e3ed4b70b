"""What a connection's deletion policy makes of a deletion `decide` asked for: pure, no Django.

`decide` answers a deletion on one side with the matching delete on the other (DELETE_REMOTE
when DayFlow's copy is gone, DELETE_LOCAL when the service's is). The policy then says whether
that delete happens ("propagate"), or nothing is written and the pair is kept apart for good
("unlink") or until the person confirms or restores it ("ask"). Both copies gone is no
deletion to decide: `decide` unlinks it under every policy.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum

from sync.decisions import Decision, Fields, Op


class Policy(StrEnum):
    PROPAGATE = "propagate"  # the other copy is deleted too (the mass-deletion guard applies)
    UNLINK = "unlink"  # nothing is deleted; the pair is kept apart and never synced again
    ASK = "ask"  # nothing is deleted until the person confirms or restores it


class Mark(StrEnum):
    """What a kept-apart link holds in `ItemLink.deletion_pending`."""

    NONE = ""
    LOCAL = "local"  # DayFlow's copy was deleted; waits for the person
    REMOTE = "remote"  # the service's copy was deleted; waits for the person
    UNLINKED = "unlinked"  # unlinked by the "unlink only" policy; the surviving copy is kept
    # Moved in DayFlow to a list another connection takes, under "ask": waits for the person
    # to delete this service's copy or keep it (`decisions.hand_over`).
    MOVED = "moved"


WAITING = (Mark.LOCAL, Mark.REMOTE, Mark.MOVED)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """The decision to carry out, and the mark the pair's link takes (NONE: as `decide` said)."""

    decision: Decision
    mark: Mark = Mark.NONE


def deleted_side(decision: Decision) -> Mark:
    """Which side's deletion `decision` carries to the other one, if any."""
    if Op.DELETE_REMOTE in decision.ops:
        return Mark.LOCAL
    if Op.DELETE_LOCAL in decision.ops:
        return Mark.REMOTE
    return Mark.NONE


def on_deletion(decision: Decision, policy: Policy | str, *, base: Fields | None) -> Outcome:
    """Apply the connection's deletion policy to one pair's decision.

    Under "unlink" and "ask" nothing is written and the link keeps `base`: the engine leaves a
    marked pair alone at every later run, so the kept copy is neither deleted nor sent back as
    a new item.
    """
    side = deleted_side(decision)
    policy = Policy(policy)
    if side is Mark.NONE or policy is Policy.PROPAGATE:
        return Outcome(decision)
    kept = Decision(base=base)
    if policy is Policy.UNLINK:
        return Outcome(kept, Mark.UNLINKED)
    return Outcome(kept, side)
