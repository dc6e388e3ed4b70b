#!/usr/bin/env python3
"""The two commands of the README, on a machine with only Python 3.11+.

Dependencies come from the hash-pinned lock files into `.venv/`; an install is redone only when
a lock file changes. Only the standard library is used here, since nothing else exists yet.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import venv
from pathlib import Path

USAGE = """usage: python3 run.py [serve | test [pytest args...] | schema | help]

    python3 run.py          install, migrate, and serve the app with a Celery worker and beat;
                            with the sandbox of emulated services on (DAYFLOW_SANDBOX=0: off)
    python3 run.py test     install the test dependencies and run the whole suite
                            (extra arguments go to pytest: python3 run.py test tests/sync -x)
    python3 run.py schema   write the API's schema to docs/openapi.yaml (after an API change;
                            tests/api/test_schema.py fails while the committed one is stale)
    python3 run.py help     show this message (also -h, --help)
"""
HELP = {"help", "-h", "--help"}
# The API's schema, committed: the contract its clients are written against.
SCHEMA_FILE = "docs/openapi.yaml"
SCHEMA_COMMAND = ("spectacular", "--validate", "--fail-on-warn", "--file", SCHEMA_FILE)
STARTUP_WAIT = 90  # seconds to wait for the web server before printing the login anyway

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("DAYFLOW_VENV", ROOT / ".venv"))
PYTHON = VENV / "bin" / "python"


def ensure_environment(lock: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - a clear message on an old Python
        sys.exit("DayFlow needs Python 3.11 or newer.")
    if not PYTHON.exists():
        print(f"Creating the environment in {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    # The test lock pins all the app's lock does, at the same versions (both are compiled from
    # pyproject.toml): an environment installed from it serves as it is.
    if installed(lock) or (lock == "requirements.lock" and installed("requirements-test.lock")):
        return
    lock_path = ROOT / lock
    print(f"Installing dependencies from {lock} ...", flush=True)
    subprocess.run(
        [
            PYTHON,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--require-hashes",
            "-r",
            lock_path,
        ],
        check=True,
    )
    stamp(lock).write_text(digest(lock))


def stamp(lock: str) -> Path:
    return VENV / f".installed-{lock}"


def digest(lock: str) -> str:
    return hashlib.sha256((ROOT / lock).read_bytes()).hexdigest()


def installed(lock: str) -> bool:
    return stamp(lock).exists() and stamp(lock).read_text() == digest(lock)


def compile_bytecode() -> None:
    """Byte-compile the project once, so that every process (gunicorn's workers, the worker,
    beat, `manage.py sync`) reads .pyc files instead of compiling our modules on each start,
    even where PYTHONDONTWRITEBYTECODE is set (pip already compiles what it installs)."""
    packages = [
        p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name != "tests"
    ]
    done = subprocess.run([PYTHON, "-m", "compileall", "-q", *packages], check=False, cwd=ROOT)
    if done.returncode:  # a read-only tree, say: only an optimisation, so serve anyway
        print("Note: could not byte-compile every module; continuing.", flush=True)


def manage(*args: str, env: dict | None = None) -> None:
    subprocess.run([PYTHON, ROOT / "manage.py", *args], check=True, cwd=ROOT, env=env)


def bootstrap(env: dict) -> str:
    """The demo login, kept to be printed once the servers are up, not lost in their logs."""
    done = subprocess.run(
        [PYTHON, ROOT / "manage.py", "bootstrap"],
        check=True,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    return done.stdout.strip()


RADICALE_CONFIG = """\
[server]
hosts = 127.0.0.1:{port}

[auth]
# Any password: each username is an account of its own (the sandbox, on this machine only).
type = none

[rights]
type = owner_only

[storage]
filesystem_folder = {folder}

[web]
type = none

[logging]
level = warning
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sandbox_on(env: dict) -> bool:
    """The embedded defaults switch the sandbox on; an https PUBLIC_URL always keeps it off."""
    on = env.setdefault("DAYFLOW_SANDBOX", "1").strip().lower() in {"1", "true", "yes", "on"}
    return on and not env["PUBLIC_URL"].startswith("https://")


def sandbox_setup(env: dict) -> list:
    """Register DayFlow at the emulators, seed the CalDAV accounts; Radicale's command."""
    manage("sandbox_clients", env=env)
    var_dir = Path(env.get("DAYFLOW_VAR_DIR", ROOT / "var")) / "radicale"
    var_dir.mkdir(parents=True, exist_ok=True)
    env["DAYFLOW_SANDBOX_CALDAV_FOLDER"] = str(var_dir / "collections")  # for users made later
    manage("sandbox_caldav", env["DAYFLOW_SANDBOX_CALDAV_FOLDER"], env=env)
    port = urllib.parse.urlsplit(env["DAYFLOW_SANDBOX_CALDAV_URL"]).port
    config = var_dir / "config"
    config.write_text(RADICALE_CONFIG.format(port=port, folder=var_dir / "collections"))
    return [PYTHON, "-m", "radicale", "--config", config]


def web_answers(host: str, port: str) -> bool:
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104 - we probe the server, we do not bind here
        host = "127.0.0.1"
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=1):
            return True
    except urllib.error.HTTPError:  # 503 (broker down) or 400 (host not allowed) still answers
        return True
    except OSError:
        return False


def serve() -> int:
    ensure_environment("requirements.lock")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dayflow.settings"}
    host = env.get("HOST", "127.0.0.1")
    port = env.get("PORT", "8000")
    env.setdefault("PUBLIC_URL", f"http://{host}:{port}")
    sandbox = sandbox_on(env)
    if sandbox:
        env.setdefault("DAYFLOW_SANDBOX_CALDAV_URL", f"http://127.0.0.1:{free_port()}")
    compile_bytecode()
    manage("migrate", "--noinput", "-v0", env=env)
    manage("collectstatic", "--noinput", "-v0", env=env)
    login = bootstrap(env)
    bin_dir = VENV / "bin"
    processes = {
        "web": [
            bin_dir / "gunicorn",
            "dayflow.wsgi",
            "--bind",
            f"{host}:{port}",
            "--workers",
            env.get("WEB_CONCURRENCY", "2"),
            "--access-logfile",
            "-",
        ],
        "worker": [
            bin_dir / "celery",
            "-A",
            "dayflow",
            "worker",
            "--loglevel",
            "INFO",
            "-Q",
            "default,sync,webhooks,maintenance",
            "--concurrency",
            env.get("WORKER_CONCURRENCY", "2"),
        ],
        "beat": [bin_dir / "celery", "-A", "dayflow", "beat", "--loglevel", "INFO"],
    }
    if sandbox:
        processes["sandbox CalDAV server"] = sandbox_setup(env)
    # Each child gets its own session, so a terminal's Ctrl-C reaches only us and we stop the
    # children with SIGTERM: a graceful shutdown (gunicorn treats SIGINT as a quick one).
    children = {
        name: subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
        for name, cmd in processes.items()
    }
    started = time.monotonic()
    announced = stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None and not stopping:
                print(f"{name} exited with {child.returncode}; stopping the others.", flush=True)
                exit_code, stopping = child.returncode or 1, True
        waited_enough = time.monotonic() - started > STARTUP_WAIT
        if not (announced or stopping) and (waited_enough or web_answers(host, port)):
            announce(login, env["PUBLIC_URL"])
            announced = True
        time.sleep(0.5)
    if not announced:  # stopped early: a first run's password must not be lost all the same
        print(f"\n{login}\n", flush=True)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return exit_code


def announce(login: str, public_url: str) -> None:
    print(
        f"\nDayFlow is running: open {public_url}/accounts/login/  (Ctrl-C stops it)\n{login}\n",
        flush=True,
    )


def test(pytest_args: list[str]) -> int:
    ensure_environment("requirements-test.lock")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dayflow.settings"}
    env.setdefault("DAYFLOW_VAR_DIR", str(ROOT / "var" / "test"))
    steps = [
        [VENV / "bin" / "ruff", "check", "."],
        [PYTHON, "manage.py", "makemigrations", "--check", "--dry-run"],
        [PYTHON, "-m", "pytest", *pytest_args],
    ]
    for step in steps:
        print("$", Path(step[0]).name, *map(str, step[1:]), flush=True)
        code = subprocess.run(step, cwd=ROOT, env=env).returncode
        if code == 5:
            print("pytest collected no tests: that is a failure here.", flush=True)
            return 1
        if code:
            return code
    return 0


def schema() -> int:
    ensure_environment("requirements.lock")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dayflow.settings"}
    env.setdefault("DAYFLOW_VAR_DIR", str(ROOT / "var" / "schema"))
    manage(*SCHEMA_COMMAND, env=env)
    print(f"Wrote {SCHEMA_FILE}", flush=True)
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "serve"
    if command in HELP:
        print(USAGE, end="")
        return 0
    if command == "serve":
        return serve()
    if command == "test":
        return test(argv[1:])
    if command == "schema":
        return schema()
    print(f"run.py: unknown command {command!r}\n\n{USAGE}", end="", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
