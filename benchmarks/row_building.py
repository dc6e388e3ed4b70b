"""The engine's row building for a first sync (issue 19 §3), in isolation from any server.

    .venv/bin/python benchmarks/row_building.py [--rows 10000]

A first sync of N events makes N Events and N ItemLinks and prepares their columns for one
multi-row INSERT (`sync.bulk`). The first CalDAV sync's end-to-end figures (`sync_engine.py`)
swing by a third from run to run on a shared 2-core VM, more than any one of these parts moves
them; each part is timed here on its own instead: the best of 5 repeats, CPU time, the way the
engine did it before and the way it does it now, side by side. Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import operator
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def best(work: Callable[[], object], rows: int, repeat: int = 5) -> float:
    """The least CPU time of `repeat` runs of `rows` calls, in ms."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(rows):
            work()
        times.append(time.process_time() - started)
    return min(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    rows = parser.parse_args().rows
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dayflow.settings")
    os.environ.setdefault("DAYFLOW_VAR_DIR", str(ROOT / "var" / "bench-rows"))
    import django

    django.setup()
    from django.db import connection

    from dayflow.models import Event
    from sync import bulk
    from sync.models import ItemLink

    link = {
        "connection_id": 1,
        "item_type": "event",
        "remote_id": "https://caldav.example/cal/a.ics",
        "collection": "https://caldav.example/cal/",
        "remote_version": '"etag"',
        "dayflow_id": "",
        "web_url": "",
    }
    exdates = Event._meta.get_field("exdates")
    prepare = bulk._preparer(exdates, connection)
    fields = [f for f in Event._meta.concrete_fields if f is not Event._meta.pk]
    event = bulk.blank(Event)(user_id=1, version=1)
    read = operator.attrgetter(*[f.attname for f in fields])
    steps = [
        (
            "an Event",
            lambda: Event(user_id=1, version=1),
            lambda: bulk.blank(Event)(user_id=1, version=1),
        ),
        ("an ItemLink", lambda: ItemLink(**link), lambda: bulk.blank(ItemLink)(**link)),
        (
            "an empty JSON list's column value",
            lambda: exdates.get_db_prep_save([], connection),
            lambda: prepare([]),
        ),
        (
            "an Event's columns read for the INSERT",
            lambda: {f.attname: getattr(event, f.attname) for f in fields},
            lambda: read(event),
        ),
    ]
    print(f"{rows:,} of each, CPU ms (best of 5); target: less than before")
    print(f"{'':38} {'before':>8} {'now':>8} {'now/before':>11}")
    for name, before, now in steps:
        then, today = best(before, rows), best(now, rows)
        print(f"{name:38} {then:8.1f} {today:8.1f} {today / then:10.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
