"""Webhook receiving under load: the app under gunicorn on 127.0.0.1, signed ClickUp deliveries
posted from a second process for a bounded time, then an exactly-once check of the inbox.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dayflow_bench_webhooks \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/13 \
    flock /tmp/dayflow-bench.lock .venv/bin/python benchmarks/webhooks_throughput.py --seconds 20

It prints deliveries per second accepted, p50/p99 latency, and whether every acknowledged
delivery is in the inbox exactly once (exit status 1 if not). A share of the posts are replays
of earlier deliveries, which must be acknowledged and not stored again. Nothing runs the Celery
worker: the broker is CELERY_BROKER_URL, which should be a scratch Redis database (production's
broker; the receiver publishes to Redis directly), or else a private filesystem folder under
var/bench-webhooks/; either is emptied afterwards.
Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench-webhooks"
SECRET = "bench-clickup-webhook-secret"


def main() -> int:
    args = parse_args()
    if args.load:
        return run_load(args)
    args.port = args.port or free_port()
    env = bench_env()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    public_id = prepare_database()
    server = start_gunicorn(args, env)
    try:
        wait_until_up(args.port, server)
        before = cpu_seconds(server.pid)
        results = drive_load(args, public_id)
        after = cpu_seconds(server.pid)
        results["cpu"] = {
            group: sum(t - before[group].get(pid, 0.0) for pid, t in after[group].items())
            for group in after
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    ok = report(args, results, public_id)
    purge_broker()
    return 0 if ok else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=16, help="concurrent posting threads")
    # One worker per core; threads overlap the database and broker round trips (the best of
    # 2x2, 2x4, 2x8, 3x4 and 4x4 here: docs/performance.md).
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--replay-share", type=float, default=0.05)
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--public-id", default="", help=argparse.SUPPRESS)
    return parser.parse_args()


def bench_env() -> dict[str, str]:
    VAR.mkdir(parents=True, exist_ok=True)
    return {
        "DJANGO_SETTINGS_MODULE": "dayflow.settings",
        "DAYFLOW_VAR_DIR": str(VAR),
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "filesystem://"),
        "DAYFLOW_PLAIN_STATIC": "1",
        "LOG_LEVEL": "WARNING",
    }


def prepare_database() -> str:
    """Migrate, then one ClickUp connection with one live subscription; an empty inbox."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    from integrations.models import Connection, Service
    from webhooks.models import Delivery, WebhookSubscription

    user, _ = get_user_model().objects.get_or_create(username="webhook-bench")
    clickup = Service.objects.get(key="clickup")
    connection, _ = Connection.objects.get_or_create(
        user=user, service=clickup, external_account_id="bench-team"
    )
    Delivery.objects.filter(service=clickup).delete()
    WebhookSubscription.objects.filter(connection=connection).delete()
    sub = WebhookSubscription.objects.create(
        service=clickup, connection=connection, secret=SECRET, status="active"
    )
    from django.db import connections

    connections.close_all()
    return sub.public_id


def start_gunicorn(args: argparse.Namespace, env: dict[str, str]) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "dayflow.wsgi",
        "--bind",
        f"127.0.0.1:{args.port}",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode}): is port {port} in use?")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


def drive_load(args: argparse.Namespace, public_id: str) -> dict:
    """The load runs in a second process (this script with --load); it reports as JSON."""
    command = [sys.executable, __file__, "--load", "--public-id", public_id]
    for name in ("seconds", "clients", "port", "replay_share"):
        command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def purge_broker() -> None:
    """Nothing consumed the messages the run queued: drop them (a private folder, or the
    queues of the broker named by CELERY_BROKER_URL, which should be a scratch Redis db)."""
    if os.environ["CELERY_BROKER_URL"].startswith("filesystem"):
        shutil.rmtree(VAR / "broker", ignore_errors=True)
        return
    from dayflow.celery import app

    app.control.purge()


def cpu_seconds(master: int) -> dict[str, dict[str, float]]:
    """CPU time used so far by each of gunicorn's workers and PostgreSQL's processes (Linux
    /proc): a figure that does not depend on what else the machine is doing. Per process, so
    that a backend of someone else's connection exiting mid-run does not subtract its time."""
    tick = os.sysconf("SC_CLK_TCK")

    def used(pid: str) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / tick

    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    postgres = [
        p.name
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _comm(p) in {"postgres", "postmaster"}
    ]
    return {
        "gunicorn": {pid: used(pid) for pid in children},
        "postgres": {pid: used(pid) for pid in postgres},
    }


def _comm(proc: Path) -> str:
    try:
        return (proc / "comm").read_text().strip()
    except OSError:
        return ""


# --- the load process ---------------------------------------------------------------------
def run_load(args: argparse.Namespace) -> int:
    path = f"/api/webhooks/clickup/{args.public_id}/"
    results: list[dict] = [
        {"acked": [], "latencies": [], "errors": {}} for _ in range(args.clients)
    ]
    started = time.monotonic()
    deadline = started + args.seconds
    threads = [
        threading.Thread(target=post_until, args=(n, path, args, deadline, results[n]))
        for n in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    merged = {
        "elapsed": elapsed,
        "acked": [h for r in results for h in r["acked"]],
        "latencies": [x for r in results for x in r["latencies"]],
        "replays": sum(r.get("replays", 0) for r in results),
        "errors": {},
    }
    for r in results:
        for status, count in r["errors"].items():
            merged["errors"][status] = merged["errors"].get(status, 0) + count
    json.dump(merged, sys.stdout)
    return 0


def post_until(n: int, path: str, args: argparse.Namespace, deadline: float, out: dict) -> None:
    rng = random.Random(n)
    client = Client(args.port)
    sent: list[bytes] = []
    i = 0
    while time.monotonic() < deadline:
        replay = sent and rng.random() < args.replay_share
        body = rng.choice(sent) if replay else delivery_body(n, i)
        i += 0 if replay else 1
        status, latency = client.post(path, body)
        out["latencies"].append(latency)
        if status != 200:
            out["errors"][str(status)] = out["errors"].get(str(status), 0) + 1
        elif replay:
            out["replays"] = out.get("replays", 0) + 1
        else:
            sent.append(body)
            out["acked"].append(hashlib.sha256(body).hexdigest())
    client.close()


def delivery_body(client: int, i: int) -> bytes:
    payload = {
        "event": "taskUpdated",
        "task_id": f"bench-{client}-{i}",
        "webhook_id": "bench-webhook",
        "history_items": [{"id": f"{client}{i}", "field": "name", "after": f"task {i}"}],
    }
    return json.dumps(payload).encode()


class Client:
    """A minimal keep-alive HTTP/1.1 client over a raw socket: the load process should spend
    its CPU on sending, not on http.client's machinery (both share the machine with gunicorn)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def post(self, path: str, body: bytes) -> tuple[int | str, float]:
        signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        request = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        begin = time.perf_counter()
        for attempt in range(2):
            try:
                status = self._exchange(request)
                break
            except (OSError, ValueError, IndexError) as exc:
                # The server may close an idle keep-alive connection: reconnect once. A
                # request that fails twice counts as an error (and is never "acknowledged").
                self.close()
                status = type(exc).__name__
                if attempt:
                    break
        return status, (time.perf_counter() - begin) * 1000

    def _exchange(self, request: bytes) -> int:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            self.buffer = b""
        self.sock.sendall(request)
        head = self._read_until(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {
            name.lower(): value
            for name, value in (line.split(b": ", 1) for line in lines[1:] if b": " in line)
        }
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            self._read_chunked()
        else:
            self._read_exactly(int(headers.get(b"content-length", b"0")))
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return status

    def _read_chunked(self) -> None:
        while True:
            size = int(self._read_until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                self._read_until(b"\r\n")
                return
            self._read_exactly(size + 2)

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(marker, 1)
        return head

    def _read_exactly(self, length: int) -> bytes:
        while len(self.buffer) < length:
            self._fill()
        data, self.buffer = self.buffer[:length], self.buffer[length:]
        return data

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("connection closed")
        self.buffer += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None


# --- the report ---------------------------------------------------------------------------
def report(args: argparse.Namespace, results: dict, public_id: str) -> bool:
    from webhooks.models import Delivery

    latencies = sorted(results["latencies"])
    acked = results["acked"]
    expected = {f"{public_id}:sha256:{h}" for h in acked}
    stored = list(
        Delivery.objects.filter(subscription__public_id=public_id).values_list(
            "delivery_id", flat=True
        )
    )
    stored_set = set(stored)
    lost = len(expected - stored_set)
    duplicated = len(stored) - len(stored_set)
    unexpected = len(stored_set - expected)
    from django.db import connection

    broker = os.environ["CELERY_BROKER_URL"].split(":", 1)[0]
    print(
        f"database: {connection.vendor}, broker: {broker}, "
        f"gunicorn: {args.workers} workers x {args.threads} threads"
    )
    print(f"clients: {args.clients}, duration: {results['elapsed']:.1f} s")
    print(f"requests: {len(latencies)}, errors: {results['errors'] or 'none'}")
    print(f"accepted deliveries: {len(acked)} ({len(acked) / results['elapsed']:.0f}/s)")
    print(f"replays acknowledged: {results['replays']}")
    print(
        f"latency p50: {percentile(latencies, 50):.1f} ms, p99: {percentile(latencies, 99):.1f} ms"
    )
    print(f"inbox: {len(stored)} rows; lost: {lost}, duplicated: {duplicated}")
    # A delivery stored while its answer was lost on the wire is not an error: the sender
    # retries it and the retry is deduplicated.
    print(f"stored but not acknowledged (connection errors): {unexpected}")
    ok = bool(acked) and lost == 0 and duplicated == 0 and len(acked) == len(set(acked))
    accepted = max(len(acked), 1)
    cpu = results.get("cpu", {})
    print(
        "CPU per accepted delivery: "
        + ", ".join(f"{name} {seconds / accepted * 1000:.2f} ms" for name, seconds in cpu.items())
        + f"; load average at the end: {os.getloadavg()[0]:.2f}"
    )
    print("exactly once: " + ("yes" if ok else "NO"))
    return ok


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


if __name__ == "__main__":
    sys.exit(main())
