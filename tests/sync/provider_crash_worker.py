"""A sync worker in its own process over a file database, driving a real provider whose service
lives outside the process (Todoist's HTTP fake in the test process, Radicale), for
test_crash_providers.py.

    python -m tests.sync.provider_crash_worker <setup|run|rerun|again> <var dir>

`<var dir>/config.json` names the provider and where its service listens. `run` SIGKILLs itself
right after its second remote create, before that item's link is saved (or at the config's
`crash_at` point, the `crash_on`th time); `rerun` takes the job
over (its lease ran out) and runs it; `again` syncs once more. Each phase prints a JSON line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

PHASE, VAR_DIR = sys.argv[1], Path(sys.argv[2])
os.environ["DAYFLOW_VAR_DIR"] = str(VAR_DIR)
os.environ.pop("DATABASE_URL", None)
os.environ["DJANGO_SETTINGS_MODULE"] = "dayflow.settings"
# Radicale listens on 127.0.0.1: allowed here as tests/conftest.py allows it in-process.
os.environ["DAYFLOW_ALLOW_PRIVATE_SERVERS"] = "1"

import django  # noqa: E402

# What this worker saves is the test's scene, not a person's change to sync (sync/receivers.py).
os.environ.setdefault("DAYFLOW_SYNC_LOCAL_DELAY", "off")

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from dayflow.models import Event, Task  # noqa: E402
from integrations.clients import client_for, provider_for  # noqa: E402
from integrations.models import Connection, Credential, Service  # noqa: E402
from integrations.providers.todoist.provider import TodoistProvider  # noqa: E402
from sync import engine  # noqa: E402
from sync.engine import providers  # noqa: E402
from sync.engine.crash import CRASH_HOOKS  # noqa: E402
from sync.mapping import dayflow_id  # noqa: E402
from sync.models import ItemLink, SyncJob  # noqa: E402

CONFIG: dict[str, Any] = json.loads((VAR_DIR / "config.json").read_text())
STATE = VAR_DIR / "state.json"
TITLES = ("one", "two", "three")


def provider(connection: Connection) -> Any:
    if CONFIG["provider"] == "todoist":
        # The test's hook into the provider: Todoist's API served on 127.0.0.1.
        TodoistProvider.api_base = CONFIG["api_base"]
        return TodoistProvider(connection, http=client_for(connection, rate=(0, 1.0)))
    return provider_for(connection)


def connect(user: Any) -> Connection:
    if CONFIG["provider"] == "todoist":
        connection = Connection.objects.create(
            user=user,
            service=Service.objects.get(key="todoist"),
            external_account_id="crash",
            field_mapping={
                "project_id": CONFIG["project"],
                "write_id_marker": True,
                "timezone": "UTC",
            },
        )
        Credential.objects.create(connection=connection, access_token="todo-crash-token")
        return connection
    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="fastmail"),
        external_account_id=CONFIG["username"],
        field_mapping={"calendars": [CONFIG["calendar_url"]]},
    )
    Credential.objects.create(
        connection=connection,
        server_url=CONFIG["server_url"],
        username=CONFIG["username"],
        app_password=CONFIG["password"],
    )
    return connection


def add_local_items(user: Any) -> None:
    for day, title in enumerate(TITLES, start=10):
        if CONFIG["provider"] == "todoist":
            Task.objects.create(user=user, title=title)
        else:
            start = dt.datetime(2026, 3, day, 9, tzinfo=dt.UTC)
            Event.objects.create(
                user=user,
                title=title,
                start=start,
                end=start + dt.timedelta(hours=1),
                timezone="Europe/Paris",
            )


def setup() -> dict[str, Any]:
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("crash", "c@example.com", "pw-crash-123")
    connection = connect(user)
    add_local_items(user)
    job = SyncJob.objects.create(connection=connection)
    STATE.write_text(json.dumps({"job": job.pk, "connection": connection.pk}))
    return {"job": job.pk}


def run(state: dict[str, Any]) -> dict[str, Any]:
    creates: list[int] = []
    # After the second create's write (a batching provider: before its link is saved), or
    # right after a whole batch was sent, before any of its links.
    point, times = CONFIG.get("crash_at", "after_remote_create"), CONFIG.get("crash_on", 2)

    def die_on_second_create() -> None:
        creates.append(1)
        if len(creates) == times:
            os.kill(os.getpid(), signal.SIGKILL)

    CRASH_HOOKS[point] = die_on_second_create
    outcome = engine.run_job(state["job"])
    return {"status": outcome.status}  # only reached if the kill did not happen


def rerun(state: dict[str, Any]) -> dict[str, Any]:
    settings.DAYFLOW_SYNC_JOB_LEASE = 0  # the dead worker's lease has run out
    outcome = engine.run_job(state["job"])
    job = SyncJob.objects.get(pk=state["job"])
    links = ItemLink.objects.exclude(remote_id="").values_list("dayflow_id", "remote_id")
    model = Task if CONFIG["provider"] == "todoist" else Event
    return {
        "status": outcome.status,
        "error": job.error,
        "links": dict(links),
        "intents": ItemLink.objects.filter(remote_id="").count(),
        "local": {
            dayflow_id(model.__name__.lower(), pk): title
            for pk, title in model.objects.values_list("pk", "title")
        },
    }


def again(state: dict[str, Any]) -> dict[str, Any]:
    job = SyncJob.objects.create(connection_id=state["connection"])
    engine.run_job(job.pk)
    job.refresh_from_db()
    return {"status": job.status, "error": job.error, "processed": job.processed}


if __name__ == "__main__":
    providers.install(provider)
    phases = {"run": run, "rerun": rerun, "again": again}
    result = setup() if PHASE == "setup" else phases[PHASE](json.loads(STATE.read_text()))
    print(json.dumps(result))
