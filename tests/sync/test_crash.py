"""A worker SIGKILLed between the remote write and the link save; the job rerun converges
with no duplicate (the created item is found by DayFlow's id) and nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def phase(name: str, var_dir: Path, variant: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "tests.sync.crash_worker", name, str(var_dir), variant],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize(
    ("variant", "finds"),
    [
        # The rerun's pull returns the orphan with DayFlow's id: matched; only the intent
        # that was never sent is looked up.
        ("pull", 1),
        # The service hides the id from listings: both intents are looked up, the orphan found.
        ("find", 2),
    ],
)
def test_a_rerun_after_sigkill_creates_no_duplicate(tmp_path, variant, finds):
    assert phase("setup", tmp_path, variant).returncode == 0

    killed = phase("run", tmp_path, variant)
    rerun = phase("rerun", tmp_path, variant)

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert rerun.returncode == 0, rerun.stderr
    state = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert state["status"] == "succeeded"
    assert state["remote"] == state["local"]  # each task once on the service, none missing
    assert state["links"] == 3
    assert state["creates"] == 3  # two before the kill (one orphaned), one after
    assert state["finds"] == finds
    assert (state["writes_after"], state["again"]) == (0, "succeeded")
