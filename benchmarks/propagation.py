"""How long a change takes to reach the other side, both ways, in the product as a user runs it.

`python3 run.py` (gunicorn, a Celery worker and beat) serves the app with its sandbox; the demo
user connects the sandbox's Todoist in Chromium (clicking "Allow") and the first sync links its
seeded task. Then, at `--rate` changes a second:

- **DayFlow → service**: the task is renamed through DayFlow's API (`PATCH /api/tasks/<id>`,
  what a script or a page does); the clock stops when the emulated Todoist holds that title
  (or a later one: a change overtaken by the next one has arrived with it).
- **service → DayFlow**: the task is renamed through Todoist's Sync API, as another app would;
  the emulator sends its signed webhook, DayFlow verifies it and syncs; the clock stops when
  DayFlow's row holds the title.

    .venv/bin/python benchmarks/propagation.py --changes 200 --rate 1
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dayflow_bench_propagation \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/12 REDIS_URL=redis://127.0.0.1:6379/11 \\
        .venv/bin/python benchmarks/propagation.py --changes 200 --rate 1

The first runs on the embedded defaults (SQLite, the filesystem broker), the second on
PostgreSQL and Redis (the database is emptied by `migrate` from scratch: use a scratch one).
It prints p50, p95 and the worst latency of each way next to its target, and the sync jobs
the changes cost (a burst coalesces into few). Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests
from django.core.exceptions import ObjectDoesNotExist
from django.db import DatabaseError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = ROOT / "var" / "bench-propagation"
SEEDED = "Call the dentist"  # the sandbox Todoist's seeded task, in its Inbox
TARGETS = {"redis": 2.0, "filesystem": 5.0}  # p95 seconds, by broker


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=200, help="changes each way")
    parser.add_argument("--rate", type=float, default=1.0, help="changes a second")
    args = parser.parse_args()
    if not 1 <= args.changes <= 10_000 or not 0.01 <= args.rate <= 50:
        parser.error("--changes from 1 to 10000, --rate from 0.01 to 50")
    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True)
    env = {**os.environ, "DAYFLOW_VAR_DIR": str(VAR), "PYTHONUNBUFFERED": "1"}
    # Todoist's documented quota (450 Sync calls in 15 minutes, `TodoistProvider.rate_limit`)
    # allows about one sync every six seconds, sustained: this measures how fast a change
    # travels, so the emulated account's quota is lifted (the quota has its own benchmark).
    env.setdefault("DAYFLOW_RATE_LIMITS", "todoist=100000/1")
    os.environ.update(env)
    broker = "redis" if env.get("CELERY_BROKER_URL", "").startswith("redis") else "filesystem"
    database = "postgresql" if env.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    app = App.start(env)
    try:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dayflow.settings")
        django.setup()
        task_id, remote_id = connect_todoist(app)
        token = api_token(app.username)
        jobs_before = local_jobs()
        print("DayFlow → Todoist ...", flush=True)
        out = run_changes(
            args, lambda n: rename_in_dayflow(app, token, task_id, n), at_service(remote_id)
        )
        jobs_out = local_jobs() - jobs_before
        print("Todoist → DayFlow ...", flush=True)
        back = run_changes(
            args, lambda n: rename_at_todoist(app, remote_id, n), in_dayflow(task_id)
        )
    finally:
        app.stop()
    print(f"\npropagation, {args.changes} changes each way at {args.rate}/s")
    print(f"database {database}, broker {broker}, worker and beat as run.py starts them\n")
    target = TARGETS[broker]
    report("DayFlow → Todoist", out, target)
    report("Todoist → DayFlow (webhook)", back, target)
    print(f"\nsync jobs for {args.changes} DayFlow changes: {jobs_out} (coalesced)")
    return 0 if max(p95(out), p95(back)) < target else 1


# --- the app -------------------------------------------------------------------------------------
class App:
    def __init__(self, process: subprocess.Popen, url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log
        self.username = self.password = ""

    @classmethod
    def start(cls, env: dict[str, str]) -> App:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        log = VAR / "run.log"
        process = subprocess.Popen(
            [sys.executable, "run.py"],
            cwd=ROOT,
            env={**env, "PORT": str(port)},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        app = cls(process, f"http://127.0.0.1:{port}", log)
        login = re.compile(r"Demo account created: (\S+) / (\S+)")
        wait(lambda: login.search(log.read_text()), 180, "the app to start")
        app.username, app.password = login.search(log.read_text()).groups()
        return app

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def connect_todoist(app: App) -> tuple[int, str]:
    """Connect the sandbox's Todoist as a person does, sync its Inbox: DayFlow's task id and
    Todoist's id of the seeded task."""
    from playwright.sync_api import sync_playwright

    from integrations.models import Connection
    from integrations.sandbox.models import Item
    from tests.browser import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        page.goto(f"{app.url}/accounts/login/")
        page.fill("#id_username", app.username)
        page.fill("#id_password", app.password)
        page.click("button[type=submit]")
        page.wait_for_selector("h1:has-text('Today')")
        page.goto(f"{app.url}/integrations/")
        page.click("#service-todoist button:has-text('Connect (sandbox)')")
        page.click("button:has-text('Allow')")
        page.wait_for_url("**/settings/?pick=1")  # connected: Todoist needs a project chosen
        browser.close()
    # (Django's ORM refuses to run inside Playwright's event loop: after it.)
    inbox = Item.objects.get(account__service="todoist", kind="project", data__name="Inbox")
    connection = Connection.objects.get(service__key="todoist")
    connection.field_mapping = {"project_id": inbox.remote_id}
    connection.save()
    from sync import services

    services.request_sync(connection.pk, trigger="user", kind="full")
    seeded = Item.objects.get(account__service="todoist", kind="task", data__content=SEEDED)
    wait(lambda: linked_task(connection.pk, seeded.remote_id), 120, "the first sync")
    return linked_task(connection.pk, seeded.remote_id), seeded.remote_id


def linked_task(connection_id: int, remote_id: str) -> int:
    from sync.models import ItemLink

    link = ItemLink.objects.filter(connection_id=connection_id, remote_id=remote_id).first()
    return link.task_id if link and link.task_id else 0


def api_token(username: str) -> str:
    from django.contrib.auth import get_user_model

    from dayflow.models import ApiToken

    user = get_user_model().objects.get(username=username)
    return ApiToken.objects.create(user=user, expiry=None, name="benchmark")[1]


def local_jobs() -> int:
    from sync.models import SyncJob

    return SyncJob.objects.filter(trigger=SyncJob.Trigger.LOCAL).count()


# --- the changes ---------------------------------------------------------------------------------
def title(n: int) -> str:
    return f"bench change {n}"


def rename_in_dayflow(app: App, token: str, task_id: int, n: int) -> None:
    response = requests.patch(
        f"{app.url}/api/tasks/{task_id}",
        json={"title": title(n)},
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    response.raise_for_status()


def rename_at_todoist(app: App, remote_id: str, n: int) -> None:
    from integrations.sandbox.models import Grant

    grant = Grant.objects.filter(client__service="todoist", kind="access", revoked_at=None).latest(
        "id"
    )
    command = {"type": "item_update", "uuid": str(uuid.uuid4()), "args": {"id": remote_id}}
    command["args"]["content"] = title(n)
    response = requests.post(
        f"{app.url}/sandbox/todoist/api/v1/sync",
        data={"commands": json.dumps([command])},
        headers={"Authorization": f"Bearer {grant.value}"},
        timeout=30,
    )
    response.raise_for_status()


def at_service(remote_id: str) -> Callable[[], str]:
    from integrations.sandbox.models import Item

    def read() -> str:
        item = Item.objects.get(account__service="todoist", kind="task", remote_id=remote_id)
        return item.data.get("content", "")

    return read


def in_dayflow(task_id: int) -> Callable[[], str]:
    from dayflow.models import Task

    return lambda: Task.all_objects.get(pk=task_id).title


def run_changes(args, change: Callable[[int], None], read: Callable[[], str]) -> list[float]:
    """Make the changes at the rate asked while a watcher notes when each one (or a later one)
    shows on the other side; each change's latency in seconds."""
    sent: dict[int, float] = {}
    arrived: dict[int, float] = {}
    done = threading.Event()

    def watch() -> None:
        from django.db import close_old_connections

        while not done.is_set():
            found = re.fullmatch(r"bench change (\d+)", read())
            now = time.monotonic()
            if found:
                for n in range(1, int(found[1]) + 1):
                    if n in sent:
                        arrived.setdefault(n, now)
            close_old_connections()
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.monotonic()
    for n in range(1, args.changes + 1):
        time.sleep(max(0.0, start + (n - 1) / args.rate - time.monotonic()))
        sent[n] = time.monotonic()
        change(n)
    wait(lambda: len(arrived) == len(sent), 120, f"the last change ({len(arrived)} arrived)")
    done.set()
    watcher.join()
    return [arrived[n] - sent[n] for n in sorted(sent)]


# --- figures -------------------------------------------------------------------------------------
def p95(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def report(way: str, latencies: list[float], target: float) -> None:
    verdict = "ok" if p95(latencies) < target else "MISSED"
    print(
        f"{way:30} p50 {statistics.median(latencies):5.2f} s   p95 {p95(latencies):5.2f} s"
        f"   worst {max(latencies):5.2f} s   target p95 < {target:.0f} s: {verdict}"
    )


def wait(probe: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except (OSError, DatabaseError, ObjectDoesNotExist, requests.RequestException):
            pass  # the app is still starting: no log yet, no tables, no rows
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}; see {VAR / 'run.log'}")


if __name__ == "__main__":
    sys.exit(main())
