"""A run's writes take the pairs in batches, in the planned order, and let each batch go once
the next is asked for, so a large first sync does not hold every item to its end."""

from __future__ import annotations

import gc
import weakref

from sync.engine.phases import let_go_as_applied


class Pair:  # a stand-in: weak references need an object of our own
    def __init__(self, n: int) -> None:
        self.n = n


def test_batches_come_in_order_and_are_let_go_of() -> None:
    pairs = [Pair(n) for n in range(7)]
    first = weakref.ref(pairs[0])
    seen = []

    batches = let_go_as_applied(pairs, 3)
    batch = next(batches)
    seen.append([p.n for p in batch])
    del batch
    for batch in batches:
        gc.collect()
        assert first() is None  # the first batch is nobody's any more
        seen.append([p.n for p in batch])

    assert seen == [[0, 1, 2], [3, 4, 5], [6]]
    assert pairs == []


def test_no_pairs_no_batches() -> None:
    assert list(let_go_as_applied([], 200)) == []
