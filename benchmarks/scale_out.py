"""Scale-out on the engine we have (issue 19 §5): connections synced a minute by one Celery
worker process, then by two, against a fake Todoist with realistic latency; no connection ever
runs two jobs at once; no job is lost when a worker is SIGKILLed mid-run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dayflow_bench_scale \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/13 REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python benchmarks/scale_out.py --connections 1000 --latency 0.05

The services tier only (PostgreSQL and Redis; the database is emptied by `migrate` from
scratch and filled, so use a scratch one). The fake is Todoist's documented Sync endpoint
(tests/sync/todoist_server.py: sync tokens, commands applied once per uuid), one account per
access token, served over HTTP on 127.0.0.1 by a thread per request, each answer held back
`--latency` seconds as the real service's would be. Every connection is a person's first
sync: it pulls 10 tasks and pushes 2 (two calls). The workers are real `celery worker`
processes of the `sync` queue (`--pool solo`, one job at a time each), reaching the fake
through the sandbox's URL rebasing (`integrations/service_urls.py`).

Three rounds, each on its own fresh connections:
1. one worker process; 2. two; the ratio must be at least 1.7.
3. two, each job's message sent twice (as a broker may redeliver), and one worker SIGKILLed
   when a third of the jobs are done, then started again: every job must succeed, and the
   fake must never see two calls of one account at once (one job at a time per connection).
   The killed worker's job comes back when its lease runs out (`jobs.resend_lost`, which beat
   runs as `sync.recover_jobs`; here the benchmark calls it, with the lease at 15 s).

Figures: docs/performance.md, and the topology they support: docs/deployment.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_RATIO = 1.7
TASKS_AT_THE_SERVICE = 10
TASKS_TO_PUSH = 2
LEASE_SECONDS = 15
SETTINGS = "benchmarks.scale_out_settings"


class FakeTodoist:
    """One `TodoistServer` per access token, each call held back `latency` seconds; counts the
    calls of each account in flight at once."""

    def __init__(self, latency: float) -> None:
        from tests.sync.todoist_server import TodoistServer

        self.latency = latency
        self.lock = threading.Lock()
        self.accounts: dict[str, TodoistServer] = defaultdict(self._seeded)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.most_at_once = 0
        self.calls = 0
        self._server_class = TodoistServer

    def _seeded(self):
        server = self._server_class()
        for n in range(TASKS_AT_THE_SERVICE):
            server.add(f"Task {n} at the service")
        return server

    def answer(self, token: str, path: str, body: str) -> tuple[int, str]:
        with self.lock:
            self.calls += 1
            self.in_flight[token] += 1
            self.most_at_once = max(self.most_at_once, self.in_flight[token])
        try:
            time.sleep(self.latency)
            with self.lock:
                server = self.accounts[token]
                if path.endswith("/api/v1/sync"):
                    status, _headers, text = server.sync(SimpleNamespace(url=path, body=body))
                    return status, text
                return 404, "{}"
        finally:
            with self.lock:
                self.in_flight[token] -= 1

    def serve(self) -> tuple[ThreadingHTTPServer, str]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                status, text = fake.answer(token, urlsplit(self.path).path, body)
                payload = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                return  # a SIGKILLed worker's connection resets: not the fake's error

        httpd = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per call")
    options = parser.parse_args()
    if not 10 <= options.connections <= 20_000 or not 0 <= options.latency <= 2:
        parser.error("--connections 10-20000, --latency 0-2")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("the services tier only: set DATABASE_URL=postgres://… and CELERY_BROKER_URL")
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        parser.error("set CELERY_BROKER_URL=redis://…")
    fake = FakeTodoist(options.latency)
    httpd, public_url = fake.serve()
    os.environ.update(
        DJANGO_SETTINGS_MODULE=SETTINGS,
        DAYFLOW_SANDBOX="1",
        PUBLIC_URL=public_url,
        DAYFLOW_SYNC_LOCAL_DELAY="off",
        PYTHONPATH=str(ROOT),
    )
    os.environ.setdefault("DAYFLOW_VAR_DIR", str(ROOT / "var" / "bench-scale-out"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    rounds = [connections(r, options.connections) for r in range(3)]
    print(
        f"{options.connections} connections a round, fake Todoist at {options.latency * 1000:.0f}"
        f" ms a call, {TASKS_AT_THE_SERVICE} tasks pulled and {TASKS_TO_PUSH} pushed each; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    one = run_round(rounds[0], workers=1)
    report("1 worker process", one)
    two = run_round(rounds[1], workers=2)
    report("2 worker processes", two)
    ratio = two.per_minute / one.per_minute
    scaled = ratio >= TARGET_RATIO
    print(
        f"throughput 2 / 1: {ratio:.2f}x  target >= {TARGET_RATIO}x  {'ok' if scaled else 'MISSED'}"
    )
    fake.most_at_once = 0
    killed = run_round(rounds[2], workers=2, kill_one=True, twice=True)
    report("2 worker processes, one SIGKILLed and restarted", killed)
    lost = killed.unfinished
    print(f"jobs lost after the SIGKILL: {lost}  target 0  {'ok' if not lost else 'LOST'}")
    print(
        f"most calls of one account at once: {fake.most_at_once}  target 1  "
        f"{'ok' if fake.most_at_once == 1 else 'TWO JOBS AT ONCE'}"
    )
    httpd.shutdown()
    return 0 if scaled and not lost and fake.most_at_once == 1 else 1


class Round(SimpleNamespace):
    seconds: float
    per_minute: float
    succeeded: int
    unfinished: int
    calls: int


def connections(round_no: int, count: int) -> list[int]:
    """Fresh people, each with a Todoist connection, its token, and two tasks to push."""
    from django.contrib.auth import get_user_model

    from dayflow.models import Task
    from integrations.models import Connection, Credential, Service

    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"r{round_no}-{n}") for n in range(count)]
    )
    service = Service.objects.get(key="todoist")
    made = []
    for user in users:
        connection = Connection.objects.create(
            user=user,
            service=service,
            external_account_id=f"r{round_no}-{user.pk}",
            field_mapping={"project_id": "p-1", "timezone": "UTC"},
        )
        made.append(connection)
    Credential.objects.bulk_create(
        [Credential(connection=c, access_token=f"token-{c.pk}") for c in made]
    )
    Task.objects.bulk_create(
        [Task(user=u, title=f"Task {n} from DayFlow") for u in users for n in range(TASKS_TO_PUSH)]
    )
    return [c.pk for c in made]


def worker(name: str, log: Path) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv" / "bin" / "celery"),
        "-A",
        "dayflow",
        "worker",
        "-Q",
        "sync",
        "--pool",
        "solo",
        "-n",
        f"{name}@%h",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "WARNING",
    ]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def run_round(
    connection_ids: list[int], *, workers: int, kill_one: bool = False, twice: bool = False
) -> Round:
    from sync import jobs
    from sync.models import SyncJob

    folder = Path(os.environ["DAYFLOW_VAR_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    purge()
    processes = [worker(f"w{n}", folder / f"worker-{n}.log") for n in range(workers)]
    time.sleep(3)  # the workers connect to the broker before the clock starts
    ids = []
    started = time.perf_counter()
    for pk in connection_ids:
        job = SyncJob.objects.create(connection_id=pk, kind=SyncJob.Kind.INCREMENTAL)
        ids.append(job.pk)
        jobs._send(job.pk, None)
        if twice:
            jobs._send(job.pk, None)  # a duplicate message: `claim` lets one run it
    killed_at = None
    deadline = started + max(600, len(ids) * 2)
    finished = SyncJob.objects.filter(pk__in=ids, status__in=[SyncJob.Status.SUCCEEDED])
    while time.perf_counter() < deadline:
        done = finished.count()
        if done == len(ids):
            break
        if kill_one and killed_at is None and done >= len(ids) // 3:
            os.killpg(processes[-1].pid, signal.SIGKILL)
            processes[-1].wait()
            killed_at = time.perf_counter()
            processes[-1] = worker("w-again", folder / "worker-again.log")
        if killed_at is not None and time.perf_counter() - killed_at > LEASE_SECONDS:
            jobs.resend_lost()  # what beat's `sync.recover_jobs` does every few minutes
        time.sleep(0.5)
    seconds = time.perf_counter() - started
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        process.wait(timeout=30)
    succeeded = finished.count()
    failed = list(
        SyncJob.objects.filter(pk__in=ids)
        .exclude(status=SyncJob.Status.SUCCEEDED)
        .values_list("status", "error")[:5]
    )
    if failed:
        print("  not succeeded, first five:", json.dumps(failed)[:600])
    return Round(
        seconds=seconds,
        per_minute=succeeded / seconds * 60,
        succeeded=succeeded,
        unfinished=len(ids) - succeeded,
        calls=0,
    )


def purge() -> None:
    """Messages a previous round left in the queue (the duplicates nobody needed)."""
    from dayflow.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("sync")


def report(what: str, result: Round) -> None:
    print(
        f"{what}: {result.succeeded} connections synced in {result.seconds:.1f} s, "
        f"{result.per_minute:.0f} a minute"
    )


if __name__ == "__main__":
    sys.exit(main())
