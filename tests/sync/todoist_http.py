"""`TodoistServer` (the documented Sync endpoint and tasks resource, tests/sync/todoist_server.py)
served over real HTTP on 127.0.0.1 from a thread, for tests whose worker runs in another process
(and may be SIGKILLed): the service's state outlives the worker, as Todoist's does."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace
from urllib.parse import urlsplit

from tests.sync.todoist_server import TodoistServer

PREFIX = "/api/v1"
Route = Callable[[SimpleNamespace], tuple[int, dict, str]]


def _route(server: TodoistServer, method: str, path: str) -> Route | None:
    if method == "POST" and path == f"{PREFIX}/sync":
        return server.sync
    if method == "GET" and path == f"{PREFIX}/tasks":
        return server.list
    if method == "GET" and path.startswith(f"{PREFIX}/tasks/"):
        return server.get
    return None


def _handler(server: TodoistServer, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            route = _route(server, method, urlsplit(self.path).path)
            with lock:
                status, _headers, text = (
                    route(SimpleNamespace(url=self.path, body=body)) if route else (404, {}, "{}")
                )
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            return  # keep the test output to failures

    return Handler


@contextmanager
def serve(server: TodoistServer) -> Iterator[str]:
    """Serve `server` on a free 127.0.0.1 port; yields the `api_base` to point the provider at."""
    httpd = HTTPServer(("127.0.0.1", 0), _handler(server, threading.Lock()))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}{PREFIX}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
