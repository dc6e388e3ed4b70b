"""The connection's strategy and direction choices are the decision module's enums: a value
added on one side only would make `decide` raise for the connections that choose it."""

from __future__ import annotations

import pytest

from integrations.models import Connection
from sync.decisions import Direction, Strategy


@pytest.mark.parametrize(
    ("choices", "enum"),
    [
        (Connection.ConflictResolution, Strategy),
        (Connection.SyncDirection, Direction),
    ],
)
def test_every_choice_is_a_decision_value_and_back(choices, enum):
    assert set(choices.values) == {member.value for member in enum}
