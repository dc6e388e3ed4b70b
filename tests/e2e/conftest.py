"""The product as a user starts it: `python3 run.py` (gunicorn, worker and beat) on a free port."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningApp:
    url: str
    username: str
    password: str
    process: subprocess.Popen
    log: Path
    started_in: float
    var_dir: Path
    caldav_url: str = ""  # the sandbox's CalDAV server, when the test chose its address
    # How many times over the machine's cores were busy while it started (at least 1): a
    # start-up bound holds for an idle machine, and stretches with what else runs on it.
    busy: float = 1.0


def busy() -> float:
    return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


def run_py(
    var_dir: Path, log: Path, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """`python3 run.py` on the embedded defaults in var_dir, on a free port, output to log."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL"}
    }
    env |= {
        "DAYFLOW_VAR_DIR": str(var_dir),
        "PORT": str(port),
        "DAYFLOW_HEARTBEAT_SECONDS": "3",
        "PYTHONUNBUFFERED": "1",
    }
    env |= extra_env or {}
    process = subprocess.Popen(
        [sys.executable, "run.py"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def running_app(tmp_path_factory) -> Iterator[RunningApp]:
    with started_app(tmp_path_factory.mktemp("run-var")) as app:
        yield app


@pytest.fixture(scope="session")
def sandbox_app(tmp_path_factory) -> Iterator[RunningApp]:
    """One app for all the sandbox's tests (the session's is stopped by test_run_command).
    Its connections may poll every minute: the CalDAV services send no webhooks."""
    var_dir = tmp_path_factory.mktemp("sandbox-run-var")
    caldav = f"http://127.0.0.1:{free_port()}"
    env = {"DAYFLOW_MIN_SYNC_INTERVAL": "1", "DAYFLOW_SANDBOX_CALDAV_URL": caldav}
    with started_app(var_dir, env) as app:
        yield app


@pytest.fixture(scope="session")
def demo_page(browser, sandbox_app):
    """One page of the sandbox's app, signed in as its demo user, for all the sandbox's tests
    (signing in again for each test costs seconds a test on CI's two cores)."""
    from tests.e2e.sandbox_helpers import sign_in

    page = sign_in(browser, sandbox_app)
    yield page
    page.context.close()


@contextlib.contextmanager
def started_app(var_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[RunningApp]:
    """`python3 run.py` in var_dir, up and with its demo login printed; stopped after."""
    log = var_dir / "run.log"
    started, busy_before = time.monotonic(), busy()
    process, url = run_py(var_dir, log, extra_env)
    try:
        served = lambda: requests.get(f"{url}/accounts/login/", timeout=2).ok  # noqa: E731
        wait_until(served, 90 * busy_before, log)
        # Printed once the web server answers: a moment after the login page first does.
        login = re.compile(r"Demo account created: (\S+) / (\S+)")
        wait_until(lambda: login.search(log.read_text()), 10, log)
        match = login.search(log.read_text())
        took = time.monotonic() - started
        caldav = (extra_env or {}).get("DAYFLOW_SANDBOX_CALDAV_URL", "")
        load = max(busy_before, busy())
        yield RunningApp(url, match[1], match[2], process, log, took, var_dir, caldav, load)
    finally:
        stop(process)


def wait_until(probe, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds}s; log:\n{log.read_text()[-4000:]}")
