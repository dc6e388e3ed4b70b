"""The sync engine's throughput, and CalDAV against vdirsyncer on the same Radicale calendar.

    .venv/bin/python benchmarks/sync_engine.py [--tasks 10000] [--events 5000]
        [--databases sqlite,postgres] [--postgres-url postgres://postgres@127.0.0.1:5432/x]

For each database: a first sync of `--tasks` tasks from Todoist faked at the HTTP seam
(`responses`, tests/sync/todoist_server.py) and of `--events` events from a CalDAV calendar on a
real Radicale (single and weekly-recurring events in several time zones); then an incremental
sync after 10 remote edits, one after 10 local edits, and a no-change sync. Every step runs in
its own process; it prints items per second, wall and CPU time (inside the process and whole
process), peak memory (max RSS) and queries. vdirsyncer (installed by this script into its own
virtualenv, var/bench-venv, never into .venv) does the same four CalDAV steps into a local
folder, and the ratio our whole process / its whole process (wall and CPU) is printed per step.
The first CalDAV sync, run `--repeat` times on each side, is then set against issue 19's
targets twice: as a whole process (what `manage.py sync` costs), and as the job in a running
worker (how DayFlow syncs: the worker starts once), beside a process that only starts up.
Figures: docs/performance.md.
SYNC_BENCH_PROFILE=<step>[,<step>…] (e.g. caldav-first) writes a cProfile of those steps under var/.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench-sync"
BENCH_VENV = ROOT / "var" / "bench-venv"
STEPS = ("first", "remote10", "local10", "nochange")
# Issue 19 §3: the first sync of 5,000 events against vdirsyncer's, medians of the runs.
FIRST_SYNC_TARGETS = {"wall": 0.8, "cpu": 1.0}
ZONES = ("Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney")
sys.path.insert(0, str(ROOT))


# --- the orchestrating process -------------------------------------------------------------------
def main() -> int:
    args = parse_args()
    if args.step:
        print(json.dumps(run_step(args.step, Path(args.state))))
        return 0
    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True, exist_ok=True)
    from run import compile_bytecode

    compile_bytecode()  # as `python3 run.py` does: no step pays for compiling our modules
    radicale, process = start_radicale()
    try:
        calendar = populate(radicale, args.events)
        databases = args.databases.split(",")
        results = {db: bench_database(db, args, calendar) for db in databases}
        theirs = bench_vdirsyncer(calendar)
        firsts = {db: [results[db]["caldav-first"]] for db in databases}
        firsts["vdirsyncer"] = [theirs["first"]]
        startups: dict[str, list[dict[str, Any]]] = {db: [] for db in databases}
        for trial in range(1, args.repeat):  # interleaved: each tool meets the same conditions
            for db in databases:
                first, start_up = first_sync_again(db, args, calendar, trial)
                firsts[db].append(first)
                startups[db].append(start_up)
            firsts["vdirsyncer"].append(vdirsyncer_first_again(calendar, trial))
        for db in databases:
            results[db]["caldav-first"] = median(firsts[db], "process_s")
        theirs["first"] = median(firsts["vdirsyncer"], "wall_s")
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    report(results, theirs, args)
    if args.repeat > 1:
        print(f"\nfirst CalDAV sync, whole process, {args.repeat} runs (wall s, the median above):")
        print("  vdirsyncer:", ", ".join(f"{run['wall_s']:.2f}" for run in firsts["vdirsyncer"]))
        for db in databases:
            print(f"  {db}:", ", ".join(f"{run['process_s']:.2f}" for run in firsts[db]))
        report_first_sync(firsts, startups)
    return 0


def median(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run whose `key` is the median (the lower one of an even count)."""
    return sorted(runs, key=lambda run: run[key])[(len(runs) - 1) // 2]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument(
        "--repeat", type=int, default=3, help="first CalDAV syncs per tool (the median counts)"
    )
    parser.add_argument(
        "--postgres-url", default="postgres://postgres@127.0.0.1:5432/dayflow_bench_sync"
    )
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    return parser.parse_args()


def start_radicale() -> tuple[Any, subprocess.Popen]:
    from tests.radicale import CONFIG, RadicaleServer, _wait_until_up, free_port

    folder = VAR / "radicale"
    folder.mkdir()
    htpasswd = folder / "users"
    htpasswd.write_text("")
    port = free_port()
    config = folder / "config"
    collections = folder / "collections"
    config.write_text(CONFIG.format(port=port, htpasswd=htpasswd, collections=collections))
    log = folder / "radicale.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    _wait_until_up(url, process, log)
    return RadicaleServer(url=url, folder=folder, htpasswd=htpasswd), process


def event_ics(uid: str, index: int, title: str) -> str:
    """One event: most single, every fifth weekly-recurring, in one of several zones."""
    zone = ZONES[index % len(ZONES)]
    day = dt_day(index)
    rrule = "RRULE:FREQ=WEEKLY;COUNT=12\r\n" if index % 5 == 0 else ""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;TZID={zone}:{day}T{9 + index % 8:02d}0000\r\n"
        f"DTEND;TZID={zone}:{day}T{10 + index % 8:02d}0000\r\n"
        f"{rrule}SUMMARY:{title}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def dt_day(index: int) -> str:
    import datetime as dt

    return (dt.date(2026, 3, 1) + dt.timedelta(days=index % 300)).strftime("%Y%m%d")


def populate(radicale: Any, count: int) -> Any:
    """A calendar with `count` events, written straight into Radicale's storage folder (PUTting
    5,000 resources one by one would time the server, not the sync)."""
    account = radicale.add_account()
    calendar = radicale.mkcalendar(account, name="bench")
    folder = radicale.folder / "collections" / "collection-root" / account.username
    folder = folder / calendar.url.rstrip("/").rsplit("/", 1)[1]
    for index in range(count):
        uid = f"bench-{index:05d}"
        (folder / f"{uid}.ics").write_text(event_ics(uid, index, f"Event {index}"))
    warm_up(calendar, count)
    return calendar


def warm_up(calendar: Any, count: int) -> None:
    """Radicale builds its item cache and sync-token history on first access: do that before
    either tool is timed, so neither pays for the server's cold start."""
    import base64
    import urllib.request

    report = (
        '<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:">'
        "<d:sync-token/><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop>"
        "</d:sync-collection>"
    )
    account = calendar.account
    token = base64.b64encode(f"{account.username}:{account.password}".encode()).decode()
    warm = urllib.request.Request(
        calendar.url,
        data=report.encode(),
        method="REPORT",
        headers={"Authorization": f"Basic {token}", "Depth": "1", "Content-Type": "text/xml"},
    )
    started = time.perf_counter()
    # A cold Radicale reads every item once (~25 ms each here): 50,000 take over 20 minutes.
    with urllib.request.urlopen(warm, timeout=max(900, 0.06 * count)) as reply:
        reply.read()
    print(f"radicale warm-up: {time.perf_counter() - started:.1f}s", file=sys.stderr)


def put_event(calendar: Any, index: int, title: str) -> None:
    from tests.radicale import request

    uid = f"bench-{index:05d}"
    status = request(
        calendar.account,
        "PUT",
        f"{calendar.url}{uid}.ics",
        event_ics(uid, index, title),
        {"Content-Type": "text/calendar"},
    )
    if status not in (201, 204):
        raise RuntimeError(f"PUT {uid}: {status}")


# --- our side: each step in its own process -------------------------------------------------
def bench_database(db: str, args: argparse.Namespace, calendar: Any) -> dict[str, Any]:
    env, state = prepare_database(db, args, calendar, folder=db, tasks=args.tasks)
    results: dict[str, Any] = {}
    for service in ("rest", "caldav"):
        for name in STEPS:
            if service == "caldav" and name == "remote10":
                for index in range(10):
                    put_event(calendar, index * 7, f"Edited at the server {db} {index}")
            results[f"{service}-{name}"] = step(env, f"{service}-{name}", state)
    return results


def first_sync_again(
    db: str, args: argparse.Namespace, calendar: Any, trial: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Another first CalDAV sync into a new, empty database (the first sync varies most), and
    a process that starts as that step does (Python, Django and every app, the CalDAV client)
    and syncs nothing: the part of a whole process that a running worker has already paid."""
    env, state = prepare_database(db, args, calendar, folder=f"{db}-first{trial}", tasks=0)
    return step(env, "caldav-first", state), step(env, "start-up", state)


def prepare_database(
    db: str, args: argparse.Namespace, calendar: Any, *, folder: str, tasks: int
) -> tuple[dict[str, str], Path]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="dayflow.settings", DAYFLOW_PLAIN_STATIC="1")
    env["DAYFLOW_ALLOW_PRIVATE_SERVERS"] = "1"  # the benchmark's Radicale is on 127.0.0.1
    # Its edits are the steps' scene, synced by the step itself, not queued on each save.
    env["DAYFLOW_SYNC_LOCAL_DELAY"] = "off"
    env.pop("DATABASE_URL", None)
    if db == "postgres":
        recreate_postgres(args.postgres_url)
        env["DATABASE_URL"] = args.postgres_url
    env["DAYFLOW_VAR_DIR"] = str(VAR / folder)
    (VAR / folder).mkdir()
    state = VAR / folder / "state.json"
    state.write_text(
        json.dumps(
            {
                "tasks": tasks,
                "calendar": calendar.url,
                "server": calendar.account.server_url,
                "username": calendar.account.username,
                "password": calendar.account.password,
                "db": db,
            }
        )
    )
    step(env, "setup", state)
    return env, state


def recreate_postgres(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def step(env: dict[str, str], name: str, state: Path) -> dict[str, Any]:
    started, cpu_before = time.perf_counter(), children_cpu()
    done = subprocess.run(
        [sys.executable, str(Path(__file__)), "--step", name, "--state", str(state)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"step {name} failed:\n{done.stderr[-4000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process_s"] = time.perf_counter() - started
    figures["process_cpu_s"] = children_cpu() - cpu_before
    return figures


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes: unlike wall time, barely
    moved by other work sharing the cores."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_step(name: str, state_path: Path) -> dict[str, Any]:
    import django

    django.setup()
    state = json.loads(state_path.read_text())
    if name == "start-up":
        caldav_imports()
        return {}
    if name == "setup":
        return setup(state, state_path)
    service, what = name.split("-", 1)
    run = rest_step if service == "rest" else caldav_step
    if name not in os.environ.get("SYNC_BENCH_PROFILE", "").split(","):
        return run(state, what)
    import cProfile
    import pstats

    with cProfile.Profile() as profile:
        figures = run(state, what)
    with (VAR / f"profile-{name}.txt").open("w") as out:
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(30)
    return figures


def setup(state: dict[str, Any], state_path: Path) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from integrations.models import Connection, Credential, Service
    from tests.sync.todoist_server import PROJECT, TodoistServer

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", "bench@example.com", "pw-bench-123")
    todoist = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="todoist"),
        external_account_id="bench",
        field_mapping={"project_id": PROJECT, "write_id_marker": True, "timezone": "UTC"},
    )
    Credential.objects.create(connection=todoist, access_token="bench-token")
    caldav = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="fastmail"),
        external_account_id=state["username"],
        field_mapping={"calendars": [state["calendar"]]},
        sync_tasks=False,
    )
    Credential.objects.create(
        connection=caldav,
        server_url=state["server"],
        username=state["username"],
        app_password=state["password"],
    )
    server = TodoistServer()
    rng = random.Random(6)
    for index in range(state["tasks"]):
        server.add(f"Task {index}", priority=rng.randint(1, 4), description=f"notes {index}")
    save_server(state_path.parent, server)
    state.update(todoist=todoist.pk, caldav=caldav.pk)
    state_path.write_text(json.dumps(state))
    return {}


def save_server(folder: Path, server: Any) -> None:
    import pickle

    (folder / "todoist.pickle").write_bytes(pickle.dumps(server))


def load_server(folder: Path) -> Any:
    import pickle

    return pickle.loads((folder / "todoist.pickle").read_bytes())


def rest_step(state: dict[str, Any], what: str) -> dict[str, Any]:
    import responses

    from dayflow.models import Task
    from integrations.clients import client_for
    from integrations.providers.todoist.provider import TodoistProvider

    folder = Path(os.environ["DAYFLOW_VAR_DIR"])
    server = load_server(folder)
    if what == "remote10":
        for index in range(10):
            server.edit(f"t{index * (state['tasks'] // 10) + 1}", content=f"Edited {index}")
    if what == "local10":
        for task in Task.objects.order_by("-pk")[:10]:
            task.title += " (edited in DayFlow)"
            task.save()
    with responses.RequestsMock() as mocked:
        server.install(mocked)
        figures = timed_sync(
            state["todoist"],
            lambda c: TodoistProvider(c, http=client_for(c, rate=(0, 1.0))),
            full=what == "first",
        )
    save_server(folder, server)
    return figures


def caldav_step(state: dict[str, Any], what: str) -> dict[str, Any]:
    from dayflow.models import Event

    caldav_imports()

    if what == "local10":
        for event in Event.objects.filter(series__isnull=True).order_by("-pk")[:10]:
            event.title += " (edited in DayFlow)"
            event.save()
    return timed_sync(state["caldav"], None, full=what == "first")


def caldav_imports() -> None:
    """What a worker has imported before its first CalDAV job ("in-proc" is a warm worker's)."""
    importlib.import_module("integrations.providers.caldav")
    importlib.import_module("caldav.davclient")  # which python-caldav loads on first use
    importlib.import_module("sync.engine")


def timed_sync(connection_id: int, factory: Any, *, full: bool) -> dict[str, Any]:
    from django.db import connection as db

    from sync import engine
    from sync.engine import providers
    from sync.models import SyncJob

    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    kind = SyncJob.Kind.FULL if full else SyncJob.Kind.INCREMENTAL
    job = SyncJob.objects.create(connection_id=connection_id, kind=kind, trigger="command")
    started, cpu_started = time.perf_counter(), time.process_time()
    with db.execute_wrapper(count), providers.installed(factory or providers.connection_provider):
        outcome = engine.run_job(job.pk)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    job.refresh_from_db()
    if outcome.status != "succeeded":
        raise RuntimeError(f"sync {job.pk}: {outcome.status} {job.error}")
    changes = job.processed
    return {
        "items": changes,
        "wall_s": wall,
        "items_per_s": changes / wall if wall else 0.0,
        "cpu_s": cpu,
        "queries": queries[0],
        "api_calls": job.api_calls,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "counters": job.counters(),
    }


# --- vdirsyncer: the same four steps, into a local folder -----------------------------------------
def bench_vdirsyncer(calendar: Any) -> dict[str, dict[str, float]]:
    folder = VAR / "vdirsyncer"
    vdirsyncer = vdirsyncer_setup(calendar, folder)
    times = {}
    for name in STEPS:
        if name == "remote10":
            for index in range(10):
                put_event(calendar, index * 11 + 3, f"Edited for vdirsyncer {index}")
        if name == "local10":
            edit_local_files(folder / "local")
        times[name] = timed_vdirsyncer(vdirsyncer)
    return times


def vdirsyncer_first_again(calendar: Any, trial: int) -> dict[str, float]:
    return timed_vdirsyncer(vdirsyncer_setup(calendar, VAR / f"vdirsyncer-first{trial}"))


def vdirsyncer_setup(calendar: Any, folder: Path) -> list[str]:
    """A pair from a new, empty local folder to the calendar, discovered (untimed, like our
    setup step); returns the command line."""
    binary = ensure_vdirsyncer()
    (folder / "local").mkdir(parents=True)
    (folder / "status").mkdir()
    config = folder / "config"
    config.write_text(
        f"""[general]
status_path = "{folder / "status"}/"

[pair bench]
a = "bench_local"
b = "bench_remote"
collections = null
conflict_resolution = "b wins"

[storage bench_local]
type = "filesystem"
path = "{folder / "local"}/"
fileext = ".ics"

[storage bench_remote]
type = "caldav"
url = "{calendar.url}"
username = "{calendar.account.username}"
password = "{calendar.account.password}"
"""
    )
    vdirsyncer = [str(binary), "-c", str(config)]
    subprocess.run([*vdirsyncer, "discover", "bench"], check=True, capture_output=True, input="")
    return vdirsyncer


def timed_vdirsyncer(vdirsyncer: list[str]) -> dict[str, float]:
    started, cpu_before = time.perf_counter(), children_cpu()
    subprocess.run([*vdirsyncer, "sync"], check=True, capture_output=True)
    return {"wall_s": time.perf_counter() - started, "cpu_s": children_cpu() - cpu_before}


def ensure_vdirsyncer() -> Path:
    binary = BENCH_VENV / "bin" / "vdirsyncer"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        subprocess.run([str(BENCH_VENV / "bin" / "pip"), "install", "-q", "vdirsyncer"], check=True)
    return binary


def edit_local_files(folder: Path) -> None:
    for path in sorted(folder.glob("*.ics"))[-10:]:
        text = path.read_text()
        path.write_text(text.replace("SUMMARY:", "SUMMARY:Edited locally ", 1))


# --- the report ----------------------------------------------------------------------------------
def report(
    results: dict[str, Any], theirs: dict[str, dict[str, float]], args: argparse.Namespace
) -> None:
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    print(f"tasks: {args.tasks}, events: {args.events}\n")
    header = f"{'db':8} {'step':16} {'items':>6} {'in-proc s':>10} {'process s':>10} "
    header += f"{'items/s':>9} {'cpu ms/item':>11} {'proc cpu s':>10} {'max RSS MB':>10} "
    header += f"{'queries':>8} {'vs vdirsyncer wall':>18} {'cpu':>6}"
    print(header)
    for db, steps in results.items():
        for name, f in steps.items():
            wall_ratio = cpu_ratio = ""
            if name.startswith("caldav-"):
                other = theirs[name.split("-", 1)[1]]
                wall_ratio = f"{f['process_s'] / other['wall_s']:.2f}x"
                cpu_ratio = f"{f['process_cpu_s'] / other['cpu_s']:.2f}x"
            per_item = f"{f['cpu_s'] * 1000 / f['items']:.2f}" if f["items"] else ""
            print(
                f"{db:8} {name:16} {f['items']:>6} {f['wall_s']:>10.2f} {f['process_s']:>10.2f} "
                f"{f['items_per_s']:>9.0f} {per_item:>11} {f['process_cpu_s']:>10.2f} "
                f"{f['max_rss_mb']:>10.0f} {f['queries']:>8} {wall_ratio:>18} {cpu_ratio:>6}"
            )
    print(
        "\nvdirsyncer (whole process, wall / cpu): "
        + ", ".join(f"{k} {v['wall_s']:.2f}s / {v['cpu_s']:.2f}s" for k, v in theirs.items())
    )


def report_first_sync(
    firsts: dict[str, list[dict[str, Any]]], startups: dict[str, list[dict[str, Any]]]
) -> None:
    """Issue 19 §3: medians of the first syncs against vdirsyncer's, with the targets."""
    theirs = firsts["vdirsyncer"]
    their = {
        "wall": statistics.median(run["wall_s"] for run in theirs),
        "cpu": statistics.median(run["cpu_s"] for run in theirs),
    }
    targets = ", ".join(f"{k} <= {v:.2f}x" for k, v in FIRST_SYNC_TARGETS.items())
    print(f"\nfirst CalDAV sync against vdirsyncer, medians of {len(theirs)} (targets: {targets})")
    print(f"  {'':44} {'wall s':>7} {'x':>6} {'cpu s':>7} {'x':>6}  targets")
    print(f"  {'vdirsyncer, whole process':44} {their['wall']:>7.2f} {'':>6} {their['cpu']:>7.2f}")
    for db, runs in firsts.items():
        if db == "vdirsyncer":
            continue
        rows = [
            (f"{db}: whole process", "process_s", "process_cpu_s", runs),
            (f"{db}: the job in a running worker", "wall_s", "cpu_s", runs),
        ]
        for label, wall_key, cpu_key, measured in rows:
            wall = statistics.median(run[wall_key] for run in measured)
            cpu = statistics.median(run[cpu_key] for run in measured)
            ratios = {"wall": wall / their["wall"], "cpu": cpu / their["cpu"]}
            verdict = ", ".join(
                f"{k} {'met' if ratios[k] <= limit else 'NOT met'}"
                for k, limit in FIRST_SYNC_TARGETS.items()
            )
            print(
                f"  {label:44} {wall:>7.2f} {ratios['wall']:>5.2f}x {cpu:>7.2f} "
                f"{ratios['cpu']:>5.2f}x  {verdict}"
            )
        if startups.get(db):
            wall = statistics.median(run["process_s"] for run in startups[db])
            cpu = statistics.median(run["process_cpu_s"] for run in startups[db])
            print(
                f"  {db + ': start-up alone (Python, Django, apps)':44} {wall:>7.2f} "
                f"{wall / their['wall']:>5.2f}x {cpu:>7.2f} {cpu / their['cpu']:>5.2f}x"
            )


def machine() -> str:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    return (
        f"{platform.platform()}, {os.cpu_count()} CPUs {model}, Python {platform.python_version()}"
    )


if __name__ == "__main__":
    sys.exit(main())
