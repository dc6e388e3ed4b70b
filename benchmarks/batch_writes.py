"""Calls per task when DayFlow pushes `--tasks` new tasks to Todoist (issue 19's batched
writes): Todoist faked at the HTTP seam (`responses`, tests/sync/todoist_server.py, the
documented Sync shapes), the real provider and engine, a fresh database in a temporary folder.

    .venv/bin/python benchmarks/batch_writes.py [--tasks 5000]

Prints the Sync calls that carried commands, all API calls of the run (the pull included) and
both per task, next to the target (at most 0.011 calls per task), and the wall time.
Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_CALLS_PER_TASK = 0.011


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=5000)
    tasks = parser.parse_args().tasks
    os.environ["DAYFLOW_VAR_DIR"] = tempfile.mkdtemp(prefix="dayflow-bench-batch-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dayflow.settings")
    # The tasks are the scene, not a person's edits to sync on their own.
    os.environ["DAYFLOW_SYNC_LOCAL_DELAY"] = "off"
    import django

    django.setup()
    server, job, wall = push(tasks)
    per_task = job.api_calls / tasks
    verdict = "ok" if per_task <= TARGET_CALLS_PER_TASK else "TOO MANY"
    print(f"pushing {tasks} new DayFlow tasks to Todoist: {job.remote_created} created")
    print(f"Sync write calls {server.write_calls} ({server.write_calls / tasks:.4f} per task)")
    print(
        f"all API calls {job.api_calls} ({per_task:.4f} per task)  "
        f"target <= {TARGET_CALLS_PER_TASK}  {verdict}"
    )
    print(f"wall {wall:.1f} s")
    return 0 if verdict == "ok" else 1


def push(count: int) -> tuple:
    import responses
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from dayflow.models import Task
    from integrations.clients import client_for
    from integrations.models import Connection, Credential, Service
    from integrations.providers.todoist.provider import TodoistProvider
    from sync import engine
    from sync.engine import providers
    from sync.models import SyncJob
    from tests.sync.todoist_server import PROJECT, TodoistServer

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", "bench@example.com", "pw-bench-123")
    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="todoist"),
        external_account_id="bench",
        field_mapping={"project_id": PROJECT, "write_id_marker": True, "timezone": "UTC"},
    )
    Credential.objects.create(connection=connection, access_token="bench-token")
    Task.objects.bulk_create([Task(user=user, title=f"Task {n}") for n in range(count)])
    server = TodoistServer()
    job = SyncJob.objects.create(connection=connection, trigger="command")
    started = time.perf_counter()
    factory = lambda c: TodoistProvider(c, http=client_for(c, rate=(0, 1.0)))  # noqa: E731
    with responses.RequestsMock() as mocked, providers.installed(factory):
        server.install(mocked)
        engine.run_job(job.pk)
    wall = time.perf_counter() - started
    job.refresh_from_db()
    if job.status != "succeeded":
        raise RuntimeError(f"sync {job.pk}: {job.status} {job.error}")
    return server, job, wall


if __name__ == "__main__":
    sys.exit(main())
