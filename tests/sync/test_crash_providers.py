"""A worker process running the real Todoist and CalDAV providers is SIGKILLed between the remote
write and the link save; a rerun in a new process converges: each item once on the service,
none lost, every link pointing at the item it made, and a sync after that changes nothing.

The service lives outside the killed process: Todoist's documented Sync endpoint served over
HTTP from the test process (tests/sync/todoist_http.py), and the real Radicale server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from integrations.clients import provider_for
from integrations.models import Connection
from tests.radicale import RadicaleCalendar, connect_caldav
from tests.sync import todoist_http
from tests.sync.todoist_server import PROJECT, TodoistServer

ROOT = Path(__file__).resolve().parents[2]
TITLES = ["one", "three", "two"]


def phase(name: str, var_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "tests.sync.provider_crash_worker", name, str(var_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def result(done: subprocess.CompletedProcess) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def crash_and_rerun(var_dir: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Given a worker set up with three local items, when it is SIGKILLed after its second
    remote create and the job is rerun, then the rerun's state (links, local items)."""
    (var_dir / "config.json").write_text(json.dumps(config))
    result(phase("setup", var_dir))

    killed = phase("run", var_dir)

    assert killed.returncode == -signal.SIGKILL, (killed.stdout, killed.stderr)
    rerun = result(phase("rerun", var_dir))
    assert rerun["status"] == "succeeded", rerun["error"]
    assert rerun["intents"] == 0
    assert sorted(rerun["links"]) == sorted(rerun["local"])  # every local item linked
    return rerun


@pytest.mark.parametrize(
    "crash",
    [
        pytest.param({}, id="after-the-second-create-of-a-batch"),
        pytest.param({"crash_at": "after_remote_batch", "crash_on": 1}, id="after-the-batch"),
    ],
)
def test_todoist_worker_killed_after_the_create_reruns_without_a_duplicate(tmp_path, crash):
    server = TodoistServer()
    with todoist_http.serve(server) as api_base:
        config = {"provider": "todoist", "api_base": api_base, "project": PROJECT, **crash}

        rerun = crash_and_rerun(tmp_path, config)

        assert sorted(i["content"] for i in server.items.values()) == TITLES  # none twice
        assert all(not i["is_deleted"] for i in server.items.values())
        for dayflow_id, remote_id in rerun["links"].items():
            item = server.items[remote_id]
            assert item["content"] == rerun["local"][dayflow_id]
            assert dayflow_id in item["description"]  # the marker the rerun found it by
        commands = server.commands_sent

        again = result(phase("again", tmp_path))

        assert (again["status"], again["processed"]) == ("succeeded", 0)
        assert server.commands_sent == commands  # no write at all


def remote_events(calendar: RadicaleCalendar, user: Any) -> dict[str, tuple[str, str]]:
    """Every event on the Radicale calendar, read in this process: remote id -> (DayFlow's id
    on the item, title)."""
    connection = connect_caldav(user, calendar)
    items = provider_for(connection).pull(None).items
    return {item.remote_id: (item.dayflow_id, item.fields["title"]) for item in items}


@pytest.mark.django_db
def test_caldav_worker_killed_after_the_put_reruns_without_a_duplicate(
    tmp_path, radicale_calendar: RadicaleCalendar, user
):
    config = {
        "provider": "caldav",
        "server_url": radicale_calendar.server_url,
        "username": radicale_calendar.username,
        "password": radicale_calendar.password,
        "calendar_url": radicale_calendar.url,
    }

    rerun = crash_and_rerun(tmp_path, config)

    events = remote_events(radicale_calendar, user)
    assert sorted(title for _id, title in events.values()) == TITLES  # none twice
    assert {rid: dayflow_id for rid, (dayflow_id, _title) in events.items()} == {
        rid: dayflow_id for dayflow_id, rid in rerun["links"].items()
    }
    etags = etags_of(user)

    again = result(phase("again", tmp_path))

    assert (again["status"], again["processed"]) == ("succeeded", 0)
    assert etags_of(user) == etags  # nothing rewritten


def etags_of(user: Any) -> dict[str, str]:
    connection = Connection.objects.get(user=user)
    return {item.remote_id: item.version for item in provider_for(connection).pull(None).items}
