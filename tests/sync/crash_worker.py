"""A sync worker in its own process over a file database, for test_crash.py.

    python -m tests.sync.crash_worker <setup|run|rerun> <var dir> <variant>

`run` SIGKILLs itself right after its second remote create, before the link is saved;
`rerun` takes the job over (its lease ran out) and runs it, then syncs once more.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

PHASE, VAR_DIR, VARIANT = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
os.environ["DAYFLOW_VAR_DIR"] = str(VAR_DIR)
os.environ.pop("DATABASE_URL", None)
os.environ["DJANGO_SETTINGS_MODULE"] = "dayflow.settings"

import django  # noqa: E402

# What this worker saves is the test's scene, not a person's change to sync (sync/receivers.py).
os.environ.setdefault("DAYFLOW_SYNC_LOCAL_DELAY", "off")

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from dayflow.models import Task  # noqa: E402
from integrations.models import Connection, Service  # noqa: E402
from sync import engine  # noqa: E402
from sync.engine import providers  # noqa: E402
from sync.engine.crash import CRASH_HOOKS  # noqa: E402
from sync.models import ItemLink, SyncJob  # noqa: E402
from tests.sync.fakes import FakeProvider, FakeService  # noqa: E402

REMOTE = VAR_DIR / "remote.pickle"


def provider(connection):
    service = FakeService.load(REMOTE)
    service.path = REMOTE
    service.expose_dayflow_id = VARIANT != "find"
    return FakeProvider(connection, service)


def setup() -> dict:
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("crash", "c@example.com", "pw-crash-123")
    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="todoist"),
        external_account_id="x",
        field_mapping={"project_id": "p-1"},  # set up: its project takes the Inbox's new tasks
    )
    for title in ("one", "two", "three"):
        Task.objects.create(user=user, title=title)
    FakeService(path=REMOTE)._persist()
    return {"job": SyncJob.objects.create(connection=connection).pk}


def run(job_id: int) -> None:
    creates = []

    def die_on_second_create() -> None:
        creates.append(1)
        if len(creates) == 2:
            os.kill(os.getpid(), signal.SIGKILL)

    CRASH_HOOKS["after_remote_create"] = die_on_second_create
    engine.run_job(job_id)


def rerun(job_id: int) -> dict:
    settings.DAYFLOW_SYNC_JOB_LEASE = 0  # the dead worker's lease has run out
    outcome = engine.run_job(job_id)
    after_rerun = FakeService.load(REMOTE)
    again = SyncJob.objects.create(connection=SyncJob.objects.get(pk=job_id).connection)
    engine.run_job(again.pk)
    final = FakeService.load(REMOTE)
    return {
        "status": outcome.status,
        "remote": sorted(s.dayflow_id for s in final.items.values()),
        "local": sorted(f"dayflow-task-{pk}" for pk in Task.objects.values_list("pk", flat=True)),
        "links": ItemLink.objects.exclude(remote_id="").count(),
        "creates": after_rerun.calls["create"],
        "finds": after_rerun.calls["find"],
        "writes_after": final.writes() - after_rerun.writes(),
        "again": SyncJob.objects.get(pk=again.pk).status,
    }


if __name__ == "__main__":
    providers.install(provider)
    state = json.loads((VAR_DIR / "state.json").read_text()) if PHASE != "setup" else {}
    if PHASE == "setup":
        (VAR_DIR / "state.json").write_text(json.dumps(setup()))
    elif PHASE == "run":
        run(state["job"])
    else:
        print(json.dumps(rerun(state["job"])))
