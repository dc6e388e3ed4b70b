"""A sync worker in its own process, for test_concurrency_processes.py.

    python -m tests.sync.concurrency_worker setup <var dir> <queue a job: 0|1>
    python -m tests.sync.concurrency_worker race <var dir> <name> <job id|request>
    python -m tests.sync.concurrency_worker report <var dir>

The database is DATABASE_URL when given (the test's PostgreSQL database), else a SQLite file in
<var dir> that `setup` migrates. `race` announces it is ready, waits for the test's start signal,
then runs the Celery task `sync.run_job` as a worker would, against a slow fake service kept in a
file: for a given job (its message), or for the job `request_sync` gives it (a webhook asking to
sync the connection). Each command prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

COMMAND, VAR_DIR = sys.argv[1], Path(sys.argv[2])
os.environ["DAYFLOW_VAR_DIR"] = str(VAR_DIR)
os.environ["DJANGO_SETTINGS_MODULE"] = "dayflow.settings"

import django  # noqa: E402

# What this worker saves is the test's scene, not a person's change to sync (sync/receivers.py).
os.environ.setdefault("DAYFLOW_SYNC_LOCAL_DELAY", "off")

django.setup()

from celery.exceptions import Retry  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection as db  # noqa: E402

from dayflow.models import Task  # noqa: E402
from integrations.models import Connection, Service  # noqa: E402
from sync import services, tasks  # noqa: E402
from sync.engine import providers  # noqa: E402
from sync.models import SyncJob  # noqa: E402
from tests.sync.fakes import FakeProvider, FakeService  # noqa: E402

REMOTE = VAR_DIR / "remote.pickle"
GO = VAR_DIR / "go"
HOLD = 1.0  # seconds a pull takes: the first worker holds the job while the other tries


class SlowProvider(FakeProvider):
    def pull(self, cursor, collection=""):
        time.sleep(HOLD)
        return super().pull(cursor, collection)


def setup(queue: bool) -> dict[str, Any]:
    if db.vendor == "sqlite":
        call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("racer", "r@example.com", "pw-racer-123")
    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="todoist"),
        external_account_id="race",
        field_mapping={"project_id": "p-1"},  # set up: a task service syncs its chosen project
    )
    remote = FakeService(path=REMOTE)
    remote.add(title="imported once", notes="", status="open", due=None, priority=0)
    job = SyncJob.objects.create(connection=connection) if queue else None
    state = {"connection": connection.pk, "job": job.pk if job else None}
    (VAR_DIR / "state.json").write_text(json.dumps(state))
    return state


def race(name: str, job_id: str) -> dict[str, Any]:
    remote = FakeService.load(REMOTE)
    providers.install(lambda connection: SlowProvider(connection, remote))
    # This test runs the task itself; nothing goes to a broker other workers may read.
    tasks.run_job.apply_async = lambda *args, **kwargs: None
    connection_id = json.loads((VAR_DIR / "state.json").read_text())["connection"]
    db.ensure_connection()
    (VAR_DIR / f"ready-{name}").touch()
    deadline = time.monotonic() + 60
    while not GO.exists() and time.monotonic() < deadline:
        time.sleep(0.002)
    if job_id == "request":
        job_id = services.request_sync(connection_id, trigger=SyncJob.Trigger.WEBHOOK).pk
    try:
        outcome = tasks.run_job(int(job_id))  # the task body, as a worker calls it
    except Retry:
        outcome = "retry"  # the task sent itself back to the broker: another worker has it
    return {"job": int(job_id), "outcome": outcome, "pulls": remote.calls["pull"]}


def report() -> dict[str, Any]:
    jobs = SyncJob.objects.order_by("pk")
    return {
        "tasks": sorted(Task.objects.values_list("title", flat=True)),
        "jobs": [[job.status, job.local_created] for job in jobs],
    }


if __name__ == "__main__":
    if COMMAND == "setup":
        result = setup(sys.argv[3] == "1")
    elif COMMAND == "race":
        result = race(sys.argv[3], sys.argv[4])
    else:
        result = report()
    print(json.dumps(result))
