"""Scheduling at 100,000 connections (issue 19 §4): beat's one "sync-dispatch-due" entry and the
`sync.dispatch_due` tick it runs every 30 s, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/beat_db \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/5 \
    flock /tmp/dayflow-bench.lock .venv/bin/python benchmarks/beat_scale.py --connections 100000

It migrates the database it is given (use a scratch one: it adds the connections), writes the
connections in bulk (fifteen-minute interval, due times spread over the interval), then prints
next to each target:
- the database time (the sum of the statements' own times, measured around each execute) and
  the wall time of a tick with 1,000 connections due (target: under 50 ms of database time),
  with 0 due, and with the steady state's share (N / 270 per tick for fifteen minutes and 30 s
  ticks, about 3,700 at 100,000), and the queries each costs;
- what one connection's settings change costs: the statements of the save, and whether beat
  must reload (django-celery-beat reloads every row when PeriodicTasks.last_update moves);
- queries per minute: beat's own (its scheduler running for --beat-seconds, counted) and the
  dispatcher's at the steady state (two ticks a minute);
- the dispatcher's peak Python memory during a steady-state tick, at 10k and at N;
- beat's RSS (a real `celery beat` process, as run.py starts it) at 10,000 connections and at N
  (target: flat).
With --before it also loads N per-connection PeriodicTask rows, as before the change, into
django-celery-beat's scheduler in a child process: its load time and RSS.
The syncs a tick sends go nowhere (a stub): the broker's part is measured once, separately,
when CELERY_BROKER_URL is Redis (1,000 `sync.scheduled` messages), then purged.
Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIFTEEN = 15
TICK_SECONDS = 30
TARGET_DB_MS = 50.0


def setup_django() -> None:
    os.environ.setdefault("DAYFLOW_VAR_DIR", tempfile.mkdtemp(prefix="dayflow-bench-beat-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dayflow.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="ticks measured per figure")
    parser.add_argument("--beat-seconds", type=float, default=60.0)
    parser.add_argument("--before", action="store_true", help="also measure per-row beat")
    parser.add_argument("--load-old", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


class Timer:
    """Database time: each statement timed around its execute (django's execute_wrapper), and
    each commit (the WAL flush is database time too)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.commit_seconds = 0.0
        self.statements: list[str] = []
        self.by_kind: dict[str, float] = {}

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            took = time.perf_counter() - start
            self.seconds += took
            self.statements.append(sql)
            kind = sql.lstrip().split(None, 1)[0].upper()
            self.by_kind[kind] = self.by_kind.get(kind, 0.0) + took


def measured(fn):
    from django.db import connection

    timer = Timer()
    plain_commit = connection._commit

    def timed_commit():
        start = time.perf_counter()
        try:
            return plain_commit()
        finally:
            took = time.perf_counter() - start
            timer.seconds += took
            timer.commit_seconds += took

    connection._commit = timed_commit
    start = time.perf_counter()
    try:
        with connection.execute_wrapper(timer):
            result = fn()
    finally:
        del connection._commit  # back to the class's own
    return result, timer, time.perf_counter() - start


def main() -> int:
    args = parse_args()
    setup_django()
    if args.load_old:
        return load_old_rows()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    vendor = connection.vendor
    if vendor != "postgresql":
        print(f"warning: {vendor}, not PostgreSQL: the targets are PostgreSQL's")
    call_command("migrate", verbosity=0)
    print(
        f"beat_scale: {args.connections:,} connections, {vendor}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
        f"{os.cpu_count()} cores"
    )
    user, service = prepare_owner()
    results: dict[str, object] = {}
    small = min(10_000, args.connections)
    fill(user, service, small)
    analyze()
    results["beat_rss_small"] = beat_rss(args.beat_seconds / 4)
    results["peak_small"] = dispatcher_peak(small)
    fill(user, service, args.connections)
    analyze()
    results["beat_rss_large"] = beat_rss(args.beat_seconds / 4)
    results["peak_large"] = dispatcher_peak(args.connections)
    results["ticks"] = {
        due: tick_figures(due, args.repeat) for due in (0, 1000, steady_due(args.connections))
    }
    results["floor"] = narrow_floor(args.repeat)
    results["save"] = settings_change()
    results["beat_queries"] = beat_queries(args.beat_seconds)
    results["broker_ms"] = broker_send(1000) if "redis" in settings.CELERY_BROKER_URL else None
    purge_broker()
    report(args, results)
    if args.before:
        report_before(before_figures(args.connections))
    return 0


# --- the data -----------------------------------------------------------------------------------
def prepare_owner():
    from django.contrib.auth import get_user_model

    from integrations.models import Service

    user, _ = get_user_model().objects.get_or_create(username="bench-beat")
    return user, Service.objects.get(key="todoist")


def fill(user, service, total: int) -> None:
    """Connections up to `total`, their due times spread over an interval from 30 minutes on
    (none comes due during the run but those a figure makes due)."""
    from django.utils import timezone

    from integrations.models import Connection

    have = Connection.objects.filter(user=user).count()
    now = timezone.now()
    step = dt.timedelta(minutes=FIFTEEN) / max(total, 1)
    rows = [
        Connection(
            user=user,
            service=service,
            external_account_id=f"bench-{n}",
            field_mapping={"project_id": "p"},
            sync_interval=FIFTEEN,
            next_sync_at=now + dt.timedelta(minutes=30) + step * n,  # none due in the run
        )
        for n in range(have, total)
    ]
    start = time.perf_counter()
    Connection.objects.bulk_create(rows, batch_size=5000)
    print(f"  {len(rows):,} connections written in {time.perf_counter() - start:.1f} s")
    if have:  # an earlier run's rows: none due now, spread over the coming interval again
        Connection.objects.filter(user=user, pk__lte=have_max(user, rows)).update(
            next_sync_at=now + dt.timedelta(minutes=30 + FIFTEEN)
        )


def have_max(user, new_rows) -> int:
    from integrations.models import Connection

    new_ids = [row.pk for row in new_rows if row.pk]
    rows = Connection.objects.filter(user=user)
    if new_ids:
        rows = rows.filter(pk__lt=min(new_ids))
    return rows.order_by("-pk").values_list("pk", flat=True).first() or 0


def analyze() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE integrations_connection")


def steady_due(total: int) -> int:
    """Due per tick when every connection syncs every fifteen minutes."""
    return -(-total * TICK_SECONDS // (FIFTEEN * 60))


def make_due(count: int) -> list[int]:
    """`count` connections due a second ago (the earliest ones, so the rest stay ahead)."""
    from django.utils import timezone

    from integrations.models import Connection

    ids = list(
        Connection.objects.exclude(next_sync_at=None)
        .order_by("next_sync_at")
        .values_list("pk", flat=True)[:count]
    )
    Connection.objects.filter(pk__in=ids).update(
        next_sync_at=timezone.now() - dt.timedelta(seconds=1)
    )
    return ids


def put_back(ids: list[int]) -> None:
    """Undo a tick's moves: the same rows, the same spread, for the next repeat."""
    from django.utils import timezone

    from integrations.models import Connection

    Connection.objects.filter(pk__in=ids).update(
        next_sync_at=timezone.now() + dt.timedelta(minutes=FIFTEEN)
    )


# --- the figures --------------------------------------------------------------------------------
def tick_figures(due: int, repeat: int) -> dict[str, float]:
    from sync.schedule import dispatch_due

    db_ms, wall_ms, queries, sent, select_ms, update_ms, commit_ms = [], [], [], [], [], [], []
    for _ in range(repeat):
        ids = make_due(due)
        out: list[int] = []
        _, timer, wall = measured(lambda out=out: dispatch_due(send=lambda pk, e: out.append(pk)))
        db_ms.append(timer.seconds * 1000)
        select_ms.append(timer.by_kind.get("SELECT", 0.0) * 1000)
        update_ms.append(timer.by_kind.get("UPDATE", 0.0) * 1000)
        commit_ms.append(timer.commit_seconds * 1000)
        wall_ms.append(wall * 1000)
        queries.append(len(timer.statements))
        sent.append(len(out))
        put_back(ids)
    assert all(s == due for s in sent), (due, sent)
    return {
        "db_ms": statistics.median(db_ms),
        "db_ms_max": max(db_ms),
        "wall_ms": statistics.median(wall_ms),
        "queries": statistics.median(queries),
        "select_ms": statistics.median(select_ms),
        "update_ms": statistics.median(update_ms),
        "commit_ms": statistics.median(commit_ms),
    }


def narrow_floor(repeat: int) -> dict[str, float]:
    """The move's floor: the same UPDATE ... FROM unnest of 1,000 rows (and its commit) on a
    two-index table (id, next_sync_at) of the same size, versus the connection table's six
    indexes: what a separate schedule table would cost."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_narrow_schedule")
        cursor.execute(
            "CREATE TABLE bench_narrow_schedule AS "
            "SELECT id, next_sync_at FROM integrations_connection"
        )
        cursor.execute("ALTER TABLE bench_narrow_schedule ADD PRIMARY KEY (id)")
        cursor.execute(
            "CREATE INDEX ON bench_narrow_schedule (next_sync_at) WHERE next_sync_at IS NOT NULL"
        )
        cursor.execute("VACUUM ANALYZE bench_narrow_schedule")
        cursor.execute("SELECT id FROM bench_narrow_schedule ORDER BY next_sync_at LIMIT 1000")
        ids = [row[0] for row in cursor.fetchall()]

    def move() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE bench_narrow_schedule AS c SET next_sync_at = m.due "
                "FROM unnest(%s::bigint[], %s::timestamptz[]) AS m(id, due) WHERE c.id = m.id",
                [ids, [dt.datetime.now(dt.UTC) + dt.timedelta(minutes=n) for n in range(1000)]],
            )

    times = [measured(move)[1].seconds * 1000 for _ in range(repeat)]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_narrow_schedule")
    return {"db_ms": statistics.median(times)}


def dispatcher_peak(total: int) -> float:
    """Peak Python memory (MB) of a steady-state tick at `total` connections."""
    from sync.schedule import dispatch_due

    ids = make_due(steady_due(total))
    tracemalloc.start()
    dispatch_due(send=lambda pk, every: None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    put_back(ids)
    return peak / 2**20


def settings_change() -> dict[str, object]:
    """One connection's interval changed (a settings save, with its receivers)."""
    from django_celery_beat.models import PeriodicTasks

    from integrations.models import Connection

    connection = Connection.objects.select_related("service").exclude(next_sync_at=None).first()
    before = PeriodicTasks.last_change()
    connection.sync_interval = 30
    _, timer, wall = measured(lambda: connection.save(update_fields=["sync_interval"]))
    writes = [s for s in timer.statements if s.lstrip().upper().startswith("UPDATE")]
    schedule_writes = [s for s in writes if "next_sync_at" in s]
    return {
        "statements": len(timer.statements),
        "db_ms": timer.seconds * 1000,
        "wall_ms": wall * 1000,
        "next_sync_updates": len(schedule_writes),
        "beat_reload": PeriodicTasks.last_change() != before,
    }


def beat_queries(seconds: float) -> float:
    """Beat's own queries per minute: dayflow.beat.Scheduler ticking in this process for
    `seconds` after its start (its sends go to the scratch broker, purged at the end)."""
    from django.db import connection

    from dayflow.beat import Scheduler
    from dayflow.celery import app

    scheduler = Scheduler(app=app)
    scheduler.tick()  # the start: loads the entries and sends those due; not the steady state
    timer = Timer()
    with connection.execute_wrapper(timer):
        start = time.monotonic()
        while (left := seconds - (time.monotonic() - start)) > 0:
            wait = scheduler.tick()  # as celery's beat service loops: tick, sleep what it says
            if wait and wait > 0:
                time.sleep(min(wait, left))
        scheduler.sync()  # the last-run times it writes back every few minutes, counted once
    return len(timer.statements) * 60 / seconds


def beat_rss(seconds: float) -> float:
    """RSS (MB) of a real `celery beat` (as run.py starts it) after `seconds`."""
    env = dict(os.environ)
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "dayflow", "beat", "--loglevel", "WARNING",
         "--schedule", os.path.join(env["DAYFLOW_VAR_DIR"], "beat-schedule")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(max(seconds, 10.0))
        if beat.poll() is not None:
            raise RuntimeError(f"beat exited with {beat.returncode}")
        return rss_mb(beat.pid)
    finally:
        beat.terminate()
        beat.wait(timeout=30)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def broker_send(count: int) -> float:
    """Wall ms to send `count` scheduled-sync messages to the Redis broker (then purged)."""
    from dayflow.celery import app
    from sync.tasks import scheduled

    start = time.perf_counter()
    with app.producer_or_acquire() as producer:
        for pk in range(count):
            scheduled.apply_async((pk,), expires=900.0, producer=producer)
    return (time.perf_counter() - start) * 1000


def purge_broker() -> None:
    """Empty the scratch broker's queues: beat's and this benchmark's sends, no worker ran."""
    from dayflow.celery import QUEUES, app

    with app.connection_for_write() as conn:
        for queue in QUEUES:
            try:
                conn.default_channel.queue_purge(queue)
            except Exception as error:  # a queue never declared
                print(f"  (queue {queue} not purged: {error})")


def before_figures(total: int) -> dict[str, float]:
    """Per-connection PeriodicTask rows, as before: django-celery-beat's load of them, in a
    child process (its RSS is the scheduler's)."""
    done = subprocess.run(
        [sys.executable, __file__, "--load-old", str(total)],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_old_rows() -> int:
    from django.db import connection
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from dayflow.beat import Scheduler
    from dayflow.celery import app
    from integrations.models import Connection

    total = int(sys.argv[sys.argv.index("--load-old") + 1])
    ids = list(Connection.objects.order_by("pk").values_list("pk", flat=True)[:total])
    every, _ = IntervalSchedule.objects.get_or_create(every=FIFTEEN, period="minutes")
    now = dt.datetime.now(dt.UTC)
    stale = PeriodicTask.objects.filter(name__startswith="bench sync connection ")
    stale._raw_delete(stale.db)
    PeriodicTask.objects.bulk_create(
        [
            PeriodicTask(
                name=f"bench sync connection {pk}",
                task="sync.scheduled",
                interval=every,
                args=json.dumps([pk]),
                queue="sync",
                last_run_at=now,  # as in a running system: the tick checks them, sends none
            )
            for pk in ids
        ],
        batch_size=5000,
    )
    rss0 = rss_mb(os.getpid())
    try:
        timer = Timer()
        with connection.execute_wrapper(timer):
            start = time.perf_counter()
            scheduler = Scheduler(app=app, lazy=True)
            entries = scheduler.all_as_schedule()
            load = time.perf_counter() - start
            start = time.perf_counter()
            scheduler.tick()  # one tick: every entry's is_due
            tick = time.perf_counter() - start
        figures = {
            "rows": len(entries),
            "load_s": load,
            "load_db_ms": timer.seconds * 1000,
            "tick_cpu_ms": tick * 1000,
            "rss_mb": rss_mb(os.getpid()),
            "rss_growth_mb": rss_mb(os.getpid()) - rss0,
        }
    finally:  # without django-celery-beat's per-row delete signal (one UPDATE each)
        bench_rows = PeriodicTask.objects.filter(name__startswith="bench sync connection ")
        bench_rows._raw_delete(bench_rows.db)
    print(json.dumps(figures))
    return 0


def report_before(b: dict) -> None:
    print(
        f"before: {b['rows']:,} PeriodicTask rows: load {b['load_s']:.1f} s "
        f"({b['load_db_ms']:.0f} ms database), one tick over them {b['tick_cpu_ms']:.0f} ms, "
        f"RSS {b['rss_mb']:.0f} MB (+{b['rss_growth_mb']:.0f} MB for the rows); every change "
        "reloads them all"
    )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


# --- the report ---------------------------------------------------------------------------------
def report(args: argparse.Namespace, r: dict) -> None:
    n = args.connections
    ticks = r["ticks"]
    steady = steady_due(n)
    print()
    print(f"{'figure':<58} {'measured':>18}   target")
    for due, t in ticks.items():
        target = f"< {TARGET_DB_MS:.0f} ms" if due == 1000 else "O(due)"
        ok = "ok" if due != 1000 or t["db_ms"] < TARGET_DB_MS else "MISSED"
        print(
            f"{f'tick with {due:,} due: database time (median; max)':<58} "
            f"{t['db_ms']:>7.1f}; {t['db_ms_max']:5.1f} ms   {target} {ok if due == 1000 else ''}"
        )
        print(
            f"{f'tick with {due:,} due: wall (sends stubbed), queries':<58} "
            f"{t['wall_ms']:>8.1f} ms, {t['queries']:>3.0f}"
        )
        print(
            f"{'  ... of which claim (SELECT) / move (UPDATE) / commits':<58} "
            f"{t['select_ms']:>5.1f} / {t['update_ms']:.1f} / {t['commit_ms']:.1f} ms"
        )
    print(
        f"{'  floor: that move on a two-index table (id, next_sync_at)':<58} "
        f"{r['floor']['db_ms']:>15.1f} ms"
    )
    s = r["save"]
    print(
        f"{'one connection settings change: statements, db time':<58} "
        f"{s['statements']:>5}, {s['db_ms']:5.1f} ms   one UPDATE of next_sync_at "
        f"({'ok' if s['next_sync_updates'] == 1 else 'MISSED'})"
    )
    print(
        f"{'  ... beat reload (PeriodicTasks.last_update moved)':<58} "
        f"{'yes' if s['beat_reload'] else 'no':>18}   no reload "
        f"({'MISSED' if s['beat_reload'] else 'ok'})"
    )
    dispatch_per_minute = 60 / TICK_SECONDS * ticks[steady]["queries"]
    print(f"{'queries per minute: beat itself (measured)':<58} {r['beat_queries']:>18.0f}")
    print(
        f"{f'queries per minute: dispatcher at steady state ({steady:,}/tick)':<58} "
        f"{dispatch_per_minute:>18.0f}   O(due / 1,000)"
    )
    small = min(10_000, n)
    flat = r["beat_rss_large"] <= r["beat_rss_small"] * 1.05 + 2
    print(
        f"{f'beat RSS at {small:,} / {n:,} connections':<58} "
        f"{r['beat_rss_small']:>7.1f} / {r['beat_rss_large']:.1f} MB   flat "
        f"({'ok' if flat else 'MISSED'})"
    )
    print(
        f"{'dispatcher peak Python memory, steady tick, 10k / N':<58} "
        f"{r['peak_small']:>7.2f} / {r['peak_large']:.2f} MB   bounded by a batch"
    )
    if r["broker_ms"] is not None:
        print(
            f"{'sending 1,000 sync.scheduled messages to Redis (wall)':<58} "
            f"{r['broker_ms']:>15.1f} ms"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
