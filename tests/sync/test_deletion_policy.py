"""The deletion policy by table: each policy x what `decide` asked for (sync/deletion_policy.py)."""

from __future__ import annotations

import pytest

from integrations.models import Connection
from sync.decisions import Side, decide
from sync.deletion_policy import Mark, Policy, on_deletion

BASE = {"title": "t", "notes": "n"}
EDITED = {"title": "edited", "notes": "n"}
UNCHANGED = Side(BASE)
DELETED = Side(None, changed=True)
EDITED_SIDE = Side(EDITED, changed=True)

# (case, policy, local, remote, direction) -> (ops afterwards, base afterwards, mark)
CASES = [
    ("propagate: deleted in DayFlow", "propagate", DELETED, UNCHANGED, "two_way",
     ("delete_remote",), None, Mark.NONE),
    ("propagate: deleted at the service", "propagate", UNCHANGED, DELETED, "two_way",
     ("delete_local",), None, Mark.NONE),
    ("unlink: deleted in DayFlow", "unlink", DELETED, UNCHANGED, "two_way",
     (), BASE, Mark.UNLINKED),
    ("unlink: deleted at the service", "unlink", UNCHANGED, DELETED, "two_way",
     (), BASE, Mark.UNLINKED),
    ("ask: deleted in DayFlow waits", "ask", DELETED, UNCHANGED, "two_way",
     (), BASE, Mark.LOCAL),
    ("ask: deleted at the service waits", "ask", UNCHANGED, DELETED, "two_way",
     (), BASE, Mark.REMOTE),
    ("ask: import only, the service's deletion waits too", "ask", EDITED_SIDE, DELETED,
     "one_way", (), BASE, Mark.REMOTE),
    ("unlink: import only, the edited copy is kept", "unlink", EDITED_SIDE, DELETED,
     "one_way", (), BASE, Mark.UNLINKED),
    ("propagate: deleted on both sides unlinks", "propagate", DELETED, DELETED, "two_way",
     (), None, Mark.NONE),
    ("unlink: deleted on both sides unlinks", "unlink", DELETED, DELETED, "two_way",
     (), None, Mark.NONE),
    ("ask: deleted on both sides unlinks, nothing waits", "ask", DELETED, DELETED, "two_way",
     (), None, Mark.NONE),
    ("ask: an edit beats a delete, no deletion to ask about", "ask", DELETED, EDITED_SIDE,
     "two_way", ("update_local",), EDITED, Mark.NONE),
    ("unlink: an edit is no deletion", "unlink", EDITED_SIDE, UNCHANGED, "two_way",
     ("update_remote",), EDITED, Mark.NONE),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "policy", "local", "remote", "direction", "ops", "base", "mark"),
    CASES,
    ids=[row[0] for row in CASES],
)
def test_the_policy_decides_what_a_deletion_does(
    case, policy, local, remote, direction, ops, base, mark
):
    decision = decide(BASE, local, remote, "manual", direction)

    outcome = on_deletion(decision, policy, base=BASE)

    assert tuple(str(op) for op in outcome.decision.ops) == ops
    assert outcome.decision.base == base
    assert outcome.mark == mark


def test_the_policies_are_the_connections_choices():
    assert {str(p) for p in Policy} == set(Connection.DeletionPolicy.values)
