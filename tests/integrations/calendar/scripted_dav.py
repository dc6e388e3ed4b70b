"""A tiny local HTTP server that answers each path as a test scripts it and records what it
was asked, to see which requests a CalDAV session sends (or does not send)."""

from __future__ import annotations

import dataclasses
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

MULTISTATUS = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">{}</d:multistatus>'
)


def principal_answer(href: str) -> tuple[int, dict[str, str], bytes]:
    body = MULTISTATUS.format(
        "<d:response><d:href>/</d:href><d:propstat><d:prop><d:current-user-principal>"
        f"<d:href>{href}</d:href></d:current-user-principal></d:prop>"
        "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
    )
    return 207, {"Content-Type": "application/xml"}, body.encode()


def home_answer(href: str) -> tuple[int, dict[str, str], bytes]:
    body = MULTISTATUS.format(
        "<d:response><d:href>/p/</d:href><d:propstat><d:prop><c:calendar-home-set>"
        f"<d:href>{href}</d:href></c:calendar-home-set></d:prop>"
        "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
    )
    return 207, {"Content-Type": "application/xml"}, body.encode()


def calendars_answer(*hrefs: str) -> tuple[int, dict[str, str], bytes]:
    body = MULTISTATUS.format(
        "".join(
            f"<d:response><d:href>{href}</d:href><d:propstat><d:prop><d:resourcetype>"
            "<d:collection/><c:calendar/></d:resourcetype></d:prop>"
            "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
            for href in hrefs
        )
    )
    return 207, {"Content-Type": "application/xml"}, body.encode()


def redirect_to(location: str) -> tuple[int, dict[str, str], bytes]:
    return 301, {"Location": location}, b""


@dataclasses.dataclass
class ScriptedServer:
    port: int
    answers: dict[str, tuple[int, dict[str, str], bytes]]
    seen: list[tuple[str, str, str]]  # method, path, Host header

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.seen]


def _handler(server: ScriptedServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            server.seen.append((self.command, self.path, self.headers.get("Host", "")))
            status, headers, body = server.answers.get(self.path, (418, {}, b"internal"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = do_OPTIONS = _answer

        def log_message(self, *args: object) -> None:
            return

    return Handler


@contextmanager
def scripted_server() -> Iterator[ScriptedServer]:
    state = ScriptedServer(0, {}, [])
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
