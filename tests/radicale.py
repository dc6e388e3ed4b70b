"""A real CalDAV server for the tests: Radicale on a free 127.0.0.1 port in a temporary folder.

Registered from tests/conftest.py (`pytest_plugins`). Fixtures:

- `radicale_server` (session): the running server, its URL and a default user/password.
- `radicale_account` (function): a fresh user with its own principal, so discovery in one test
  never sees another test's calendars.
- `radicale_calendar` (function): a fresh calendar collection (VEVENT + VTODO) of a fresh user.

`connect_caldav(user, calendar)` makes a DayFlow connection to such a calendar.

The helpers talk to Radicale with urllib, not requests, so a test that also fakes REST services
with `responses` cannot intercept them.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from integrations.models import Connection

DEFAULT_USER = "dayflow"
DEFAULT_PASSWORD = "radicale-app-password"
START_TIMEOUT = 20.0

CONFIG = """\
[server]
hosts = 127.0.0.1:{port}

[auth]
type = htpasswd
htpasswd_filename = {htpasswd}
htpasswd_encryption = plain
delay = 0

[rights]
type = owner_only

[storage]
filesystem_folder = {collections}
# Radicale forgets a sync token whose file is older than this (default 30 days). It reads the
# age from the file's mtime, which the kernel stamps with the real clock, so under `faketime`
# (CI's run a year ahead, .ci/run) every token looked a year old and was refused.
max_sync_token_age = 315360000

[web]
type = none

[logging]
level = warning
mask_passwords = True
"""

MKCALENDAR_BODY = """<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop>
    <D:displayname>{name}</D:displayname>
    <C:supported-calendar-component-set>{components}</C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>
"""


@dataclasses.dataclass(frozen=True)
class RadicaleAccount:
    """One user of the running server: what a CalDAV connect form asks for."""

    server_url: str
    username: str
    password: str

    @property
    def principal_url(self) -> str:
        return f"{self.server_url}{self.username}/"


@dataclasses.dataclass(frozen=True)
class RadicaleCalendar:
    """One calendar collection of a `RadicaleAccount`."""

    account: RadicaleAccount
    url: str
    name: str

    @property
    def server_url(self) -> str:
        return self.account.server_url

    @property
    def username(self) -> str:
        return self.account.username

    @property
    def password(self) -> str:
        return self.account.password


def connect_caldav(
    user: Any,
    calendar: RadicaleCalendar,
    *,
    service: str = "fastmail",
    label: str = "",
    **mapping: Any,
) -> Connection:
    """A CalDAV connection (Fastmail's preset unless `service` says otherwise) to `calendar` on
    the test Radicale, with an app password: that calendar chosen, or `mapping`'s calendars,
    and `mapping`'s other settings."""
    from integrations.models import Connection, Credential, Service

    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key=service),
        external_account_id=calendar.username,
        label=label,
        field_mapping={"calendars": [calendar.url], **mapping},
    )
    Credential.objects.create(
        connection=connection,
        server_url=calendar.server_url,
        username=calendar.username,
        app_password=calendar.password,
    )
    return connection


@dataclasses.dataclass(frozen=True)
class RadicaleServer:
    """The running server. `url` ends with a slash; `username`/`password` is the default user."""

    url: str
    folder: Path
    htpasswd: Path
    username: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD

    @property
    def account(self) -> RadicaleAccount:
        return RadicaleAccount(self.url, self.username, self.password)

    def add_account(self, username: str = "", password: str = "") -> RadicaleAccount:
        """A new user; Radicale re-reads the htpasswd file on every login (no cache)."""
        username = username or f"user-{uuid.uuid4().hex[:12]}"
        password = password or f"pw-{uuid.uuid4().hex}"
        with self.htpasswd.open("a", encoding="utf-8") as f:
            f.write(f"{username}:{password}\n")
        return RadicaleAccount(self.url, username, password)

    def mkcalendar(
        self,
        account: RadicaleAccount,
        name: str = "",
        components: tuple[str, ...] = ("VEVENT", "VTODO"),
    ) -> RadicaleCalendar:
        """Create a calendar collection with MKCALENDAR (RFC 4791 §5.3.1)."""
        slug = f"cal-{uuid.uuid4().hex[:12]}"
        url = f"{account.principal_url}{slug}/"
        comps = "".join(f'<C:comp name="{c}"/>' for c in components)
        body = MKCALENDAR_BODY.format(name=name or slug, components=comps)
        status = request(account, "MKCALENDAR", url, body)
        if status != 201:
            raise RuntimeError(f"MKCALENDAR {url} answered {status}")
        return RadicaleCalendar(account, url, name or slug)


def request(
    account: RadicaleAccount,
    method: str,
    url: str,
    body: str = "",
    headers: dict[str, str] | None = None,
) -> int:
    """One authenticated request to Radicale; returns the HTTP status."""
    token = base64.b64encode(f"{account.username}:{account.password}".encode()).decode()
    req = urllib.request.Request(
        url,
        data=body.encode() if body else None,
        method=method,
        headers={
            "Authorization": f"Basic {token}",
            "Content-Type": "application/xml; charset=utf-8",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Radicale exited early:\n{log.read_text()}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer (401 included) means it is serving
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"Radicale did not answer at {url} within {START_TIMEOUT}s")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def running_radicale(folder: Path, extra_config: str = "") -> Iterator[RadicaleServer]:
    """A real Radicale serving from `folder` (with `extra_config` appended to CONFIG), stopped
    after."""
    htpasswd = folder / "users"
    htpasswd.write_text(f"{DEFAULT_USER}:{DEFAULT_PASSWORD}\n", encoding="utf-8")
    port = free_port()
    config = folder / "config"
    config.write_text(
        CONFIG.format(port=port, htpasswd=htpasswd, collections=folder / "collections")
        + extra_config,
        encoding="utf-8",
    )
    log = folder / "radicale.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(config)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=folder,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, process, log)
        yield RadicaleServer(url=url, folder=folder, htpasswd=htpasswd)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def radicale_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleServer]:
    """A real Radicale for the whole session, stopped (and its folder left to pytest) after."""
    with running_radicale(tmp_path_factory.mktemp("radicale")) as server:
        yield server


@pytest.fixture
def radicale_account(radicale_server: RadicaleServer) -> RadicaleAccount:
    """A fresh user: its principal holds only what this test creates."""
    return radicale_server.add_account()


@pytest.fixture
def radicale_calendar(
    radicale_server: RadicaleServer, radicale_account: RadicaleAccount
) -> RadicaleCalendar:
    """A fresh calendar collection (VEVENT and VTODO) of a fresh user."""
    return radicale_server.mkcalendar(radicale_account, name="DayFlow test calendar")
