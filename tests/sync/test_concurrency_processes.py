"""Two worker processes asked to sync the same connection at the same moment run it once: the
same message delivered twice, and two jobs of one connection. Real processes, each with its own
database connection, released together; on SQLite (a file) and on PostgreSQL (services tier)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
MODULE = "tests.sync.concurrency_worker"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def worker_env(request, transactional_db) -> dict[str, str]:
    """The environment of the worker processes: a SQLite file of their own, or this test's
    PostgreSQL database (committed data: a transactional test)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if request.param == "postgresql":
        with connection.cursor() as cursor:  # the test database, whatever settings still say
            cursor.execute("SELECT current_database()")
            (name,) = cursor.fetchone()
        db = connection.settings_dict
        auth = f"{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}"
        env["DATABASE_URL"] = f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{name}"
    return env


def call(env: dict[str, str], *args: Any) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", MODULE, *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def race(env: dict[str, str], var_dir: Path, asks: list[str]) -> list[dict[str, Any]]:
    """Start one worker process per ask (a job id, or "request"), release them together, and
    collect what each did."""
    for ready in var_dir.glob("ready-*"):
        ready.unlink()
    (var_dir / "go").unlink(missing_ok=True)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", MODULE, "race", str(var_dir), str(n), ask],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, ask in enumerate(asks)
    ]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if all((var_dir / f"ready-{n}").exists() for n in range(len(workers))):
            break
        dead = [worker.communicate()[1] for worker in workers if worker.poll() is not None]
        assert not dead, dead  # a worker died before the start
        time.sleep(0.01)
    (var_dir / "go").touch()
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.parametrize(
    ("scenario", "queued"),
    [
        # One message delivered twice (acks_late, a broker redelivery).
        ("same message", True),
        # Two webhooks ask to sync the connection at once: each worker requests a sync, then
        # runs the job it got (the same one joined, or one queued behind the running one).
        ("two requests", False),
    ],
)
def test_two_worker_processes_run_a_connection_once(tmp_path, worker_env, scenario, queued):
    job = call(worker_env, "setup", tmp_path, int(queued))["job"]
    asks = [str(job), str(job)] if queued else ["request", "request"]

    results = race(worker_env, tmp_path, asks)

    assert sorted(r["outcome"] for r in results) == ["retry", "succeeded"], scenario
    assert sum(r["pulls"] for r in results) == 1  # only one of them talked to the service
    loser = next(r["job"] for r in results if r["outcome"] == "retry")
    winner = next(r["job"] for r in results if r["outcome"] == "succeeded")
    (retried,) = race(worker_env, tmp_path, [str(loser)])  # the task's retry, after its countdown
    # The same job is found done; a job queued behind the first runs now (and finds no change).
    assert (retried["outcome"], retried["pulls"]) == ("succeeded", int(loser != winner))
    state = call(worker_env, "report", tmp_path)
    assert state["tasks"] == ["imported once"]  # imported once, not by both
    assert {status for status, _created in state["jobs"]} == {"succeeded"}
    assert len(state["jobs"]) == 1 + (loser != winner)
    assert sum(created for _status, created in state["jobs"]) == 1
