"""Two processes refresh the same connection at once against a token endpoint that, like
Linear's, Todoist's or Fastmail's, rotates refresh tokens and revokes the grant when an old one
is used again. Exactly one refresh must reach it; both processes use its new token."""

from __future__ import annotations

import http.server
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote

import pytest
from django.conf import settings
from django.db import connection as db

from integrations.crypto import decrypt
from integrations.models import Connection, Credential, Service

ROOT = Path(__file__).resolve().parents[2]
IS_SQLITE = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


class RotatingTokenEndpoint(http.server.ThreadingHTTPServer):
    """A token endpoint whose refresh tokens are single-use: a reused one revokes the grant."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), RotatingTokenHandler)
        self.lock = threading.Lock()
        self.valid = {"rt-0"}
        self.issued = 0
        self.received: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/oauth/access_token"

    def exchange(self, refresh_token: str) -> tuple[int, dict]:
        with self.lock:
            self.received.append(refresh_token)
            if refresh_token not in self.valid:
                self.valid.clear()  # reuse detected: the whole grant is revoked
                return 400, {"error": "invalid_grant"}
            self.valid.discard(refresh_token)
            self.issued += 1
            self.valid.add(f"rt-{self.issued}")
            return 200, {
                "access_token": f"at-{self.issued}",
                "refresh_token": f"rt-{self.issued}",
                "expires_in": 3600,
            }


class RotatingTokenHandler(http.server.BaseHTTPRequestHandler):
    server: RotatingTokenEndpoint

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        time.sleep(0.5)  # a slow endpoint widens the window in which a second refresh could start
        status, body = self.server.exchange(form.get("refresh_token", ""))
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def token_endpoint() -> Iterator[RotatingTokenEndpoint]:
    server = RotatingTokenEndpoint()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def stale_connection(user) -> Connection:
    connection = Connection.objects.create(
        user=user, service=Service.objects.get(key="todoist"), external_account_id="td-1"
    )
    Credential.objects.create(connection=connection, access_token="at-0", refresh_token="rt-0")
    return connection


def worker_env(database: dict[str, str]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DAYFLOW_TEST_SQLITE", "PYTEST_CURRENT_TEST"}
    }
    return (
        env
        | database
        | {
            "SECRET_KEY": settings.SECRET_KEY,
            "DAYFLOW_ENCRYPTION_KEYS": ",".join(settings.DAYFLOW_ENCRYPTION_KEYS),
            "TODOIST_CLIENT_ID": "todoist-client-id",
            "TODOIST_CLIENT_SECRET": "todoist-client-secret",
            "DJANGO_SETTINGS_MODULE": "dayflow.settings",
        }
    )


def run_two_refreshers(connection_id: int, url: str, env: dict[str, str]) -> list[dict]:
    """Two processes refresh at the same instant: each says "ready" once set up, then both
    get one start time, a second ahead (a barrier, however slowly the machine starts them)."""
    command = [
        sys.executable,
        "-m",
        "tests.integrations.oauth.refresh_worker",
        str(connection_id),
        url,
        "at-0",
        "stdin",
    ]
    workers = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.stdout.readline().strip() == "ready"
    start_at = f"{time.monotonic() + 1}\n"
    for worker in workers:
        worker.stdin.write(start_at)
        worker.stdin.flush()
    outputs = [worker.communicate(timeout=90)[0] for worker in workers]
    return [json.loads(output.strip().splitlines()[-1]) for output in outputs]


def assert_refreshed_once(results: list[dict], endpoint: RotatingTokenEndpoint) -> None:
    assert not any(result["late"] for result in results), "a worker started too late to race"
    assert [result.get("token") for result in results] == ["at-1", "at-1"], results
    assert endpoint.received == ["rt-0"]


@pytest.mark.skipif(not IS_SQLITE, reason="the SQLite variant (embedded defaults)")
@pytest.mark.django_db(transaction=True)
def test_two_processes_refresh_once_on_sqlite(tmp_path, token_endpoint, stale_connection):
    # given the test database copied to a file both worker processes open (WAL, database cache)
    db.ensure_connection()
    target = sqlite3.connect(tmp_path / "dayflow.sqlite3")
    db.connection.backup(target)
    # in WAL already, as `migrate` leaves the database before any process starts: otherwise the
    # two workers' first connections race to convert it, and the loser's PRAGMA gets
    # "database is locked" (SQLite does not wait on a journal-mode change)
    target.execute("PRAGMA journal_mode=WAL")
    target.close()
    env = worker_env({"DAYFLOW_VAR_DIR": str(tmp_path)})
    for key in ("REDIS_URL", "CACHE_URL"):
        env.pop(key, None)
    # when two processes hit a 401 with the same token and refresh at the same moment
    results = run_two_refreshers(stale_connection.pk, token_endpoint.url, env)
    # then one refresh reached the service, both use its token, the rotated pair is stored
    assert_refreshed_once(results, token_endpoint)
    with sqlite3.connect(tmp_path / "dayflow.sqlite3") as stored:
        access, refresh = stored.execute(
            "SELECT access_token, refresh_token FROM integrations_credential "
            "WHERE connection_id = ?",
            [stale_connection.pk],
        ).fetchone()
        (status,) = stored.execute(
            "SELECT status FROM integrations_connection WHERE id = ?",
            [stale_connection.pk],
        ).fetchone()
    assert (decrypt(access), decrypt(refresh), status) == ("at-1", "rt-1", "connected")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_processes_refresh_once_on_postgresql(token_endpoint, stale_connection):
    # given worker processes on the same PostgreSQL test database (and the shared cache)
    conf = db.settings_dict
    url = (
        f"postgres://{quote(conf['USER'] or '')}:{quote(conf['PASSWORD'] or '')}"
        f"@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/{conf['NAME']}"
    )
    # when two processes hit a 401 with the same token and refresh at the same moment
    results = run_two_refreshers(
        stale_connection.pk, token_endpoint.url, worker_env({"DATABASE_URL": url})
    )
    # then one refresh reached the service, both use its token, the rotated pair is stored
    assert_refreshed_once(results, token_endpoint)
    credential = Credential.objects.get(connection=stale_connection)
    assert (credential.access_token, credential.refresh_token) == ("at-1", "rt-1")
    stale_connection.refresh_from_db()
    assert stale_connection.status == "connected"
