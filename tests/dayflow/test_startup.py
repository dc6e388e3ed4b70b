"""A process that runs one sync starts lean, and still sends every task through our Celery app.

Each test runs a fresh interpreter: what a process imports cannot be seen from inside pytest,
which has imported everything already. Nothing here is timed; the tests pin *what* is loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Every module a service brings (its provider and webhook hooks, and the shared modules only
# some services use), found on disk so a new service's package is covered without a list.
PROVIDERS_DIR = ROOT / "integrations" / "providers"
PROVIDER_MODULES = sorted(
    [
        "integrations.providers.caldav",
        "integrations.providers.graph_webhook",
        *(
            f"integrations.providers.{path.parent.name}.{path.stem}"
            for path in PROVIDERS_DIR.glob("*/*.py")
            if path.stem in {"provider", "webhook"}
        ),
    ]
)
# Loaded only by the processes that use them (the web process, the worker, other services).
NOT_IN_A_SYNC_PROCESS = [
    *PROVIDER_MODULES,
    "caldav",
    "icalendar",
    "niquests",
    "sync.tasks",
    "integrations.tasks",
    "rest_framework.views",
    "drf_spectacular.openapi",
]


def run_python(code: str, tmp_path: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CELERY_") and k not in {"DATABASE_URL"}
    }
    env |= {"DJANGO_SETTINGS_MODULE": "dayflow.settings", "DAYFLOW_VAR_DIR": str(tmp_path)}
    prelude = "import json, sys\nimport django\ndjango.setup()\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_sync_process_loads_no_provider_celery_app_or_web_stack(tmp_path):
    loaded = run_python(
        f"""
        import sync.engine
        from integrations.providers import PROVIDERS
        known = "notion" in PROVIDERS and "nope" not in PROVIDERS
        print(json.dumps({{"known": known, "loaded": [m for m in {NOT_IN_A_SYNC_PROCESS!r}
                                                      if m in sys.modules]}}))
        """,
        tmp_path,
    )

    assert loaded == {"known": True, "loaded": []}


def test_what_start_up_made_is_frozen_for_the_collector_and_its_thresholds_come_back(tmp_path):
    after = run_python(
        """
        import gc
        print(json.dumps({"frozen": gc.get_freeze_count(), "threshold": gc.get_threshold()}))
        """,
        tmp_path,
    )

    # Django, the apps and Celery: far more objects than any one module makes.
    assert after["frozen"] > 20_000
    assert after["threshold"] == [700, 10, 10]  # Python's own, as the process started


def test_a_process_that_never_sets_django_up_still_collects(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import gc, json, dayflow; "
            "print(json.dumps([gc.get_freeze_count(), gc.isenabled(), gc.get_threshold()]))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "dayflow.settings"},
        check=True,
        timeout=120,
    )
    frozen, enabled, threshold = json.loads(done.stdout.strip().splitlines()[-1])

    assert (frozen, enabled) == (0, True)
    assert threshold[0] <= 10_000  # rarer young collections, never none


ADMIN_MODULES = [
    *(f"{path.parent.name}.admin" for path in sorted(ROOT.glob("*/admin.py"))),
    "django_celery_beat.admin",
    "social_django.admin",
]


def test_only_a_process_that_routes_requests_loads_the_admin_s_registrations(tmp_path):
    loaded = run_python(
        f"""
        from django.contrib import admin
        from integrations.models import Connection
        before = [m for m in {ADMIN_MODULES!r} if m in sys.modules]
        import dayflow.wsgi  # the web process: its routes load as it starts
        print(json.dumps({{"before": before,
                          "after": [m for m in {ADMIN_MODULES!r} if m not in sys.modules],
                          "connection": Connection in admin.site._registry}}))
        """,
        tmp_path,
    )

    assert len(ADMIN_MODULES) > 8
    assert loaded == {"before": [], "after": [], "connection": True}


def test_a_provider_is_imported_on_first_use_and_only_its_module(tmp_path):
    loaded = run_python(
        f"""
        from integrations.models import Service
        cls = Service(key="fastmail").provider
        print(json.dumps({{"class": cls.__name__, "key": cls.key,
                          "loaded": [m for m in {PROVIDER_MODULES!r} if m in sys.modules]}}))
        """,
        tmp_path,
    )

    assert loaded == {
        "class": "FastmailProvider",
        "key": "fastmail",
        "loaded": ["integrations.providers.caldav"],
    }


def test_a_service_s_webhook_hooks_are_imported_on_first_use_and_only_its_own(tmp_path):
    loaded = run_python(
        f"""
        from integrations.providers.hooks import INBOUND
        known = "todoist" in INBOUND and "fastmail" not in INBOUND
        spec = INBOUND["todoist"]
        print(json.dumps({{"known": known, "class": type(spec).__name__,
                          "loaded": [m for m in {PROVIDER_MODULES!r} if m in sys.modules]}}))
        """,
        tmp_path,
    )

    assert loaded == {
        "known": True,
        "class": "TodoistInbound",
        "loaded": [
            "integrations.providers.caldav",  # asked whether fastmail has webhooks
            "integrations.providers.todoist.provider",
            "integrations.providers.todoist.webhook",
        ],
    }


def test_every_registered_provider_loads_under_its_own_key(tmp_path):
    keys = run_python(
        """
        from integrations.providers import PROVIDERS, REGISTRY
        print(json.dumps({"registry": sorted(REGISTRY),
                          "declared": sorted(cls.key for cls in PROVIDERS.values()),
                          "mismatched": [k for k, cls in PROVIDERS.items() if cls.key != k]}))
        """,
        tmp_path,
    )

    assert keys["registry"] == keys["declared"]
    assert len(keys["registry"]) >= 8  # the eight DayFlow started with; a new one adds to them
    assert keys["mismatched"] == []


@pytest.mark.parametrize(
    ("module", "task", "queue"),
    [
        ("sync.tasks", "run_job", "sync"),
        ("webhooks.tasks", "process_delivery", "webhooks"),
        ("integrations.tasks", "refresh_connection_token", "maintenance"),
    ],
)
def test_each_task_module_sends_through_our_app_to_our_broker(tmp_path, module, task, queue):
    sent = run_python(
        f"""
        import os
        from django.conf import settings
        from {module} import {task} as task
        main, broker = task.app.main, task.app.conf.broker_url
        if main == "dayflow":  # never publish to a default app's broker (amqp://localhost)
            task.apply_async((12345,))
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"]
        import dayflow.celery
        print(json.dumps({{
            "ours": task.app is dayflow.celery.app,
            "main": main,
            "broker": broker,
            "queued": sorted(name.rsplit(".", 2)[1] for name in os.listdir(folder)),
        }}))
        """,
        tmp_path,
    )

    assert sent == {
        "ours": True,
        "main": "dayflow",
        "broker": "filesystem://",
        "queued": [queue],  # our route for the task, in our broker's folder
    }
    (message,) = (tmp_path / "broker" / "queue").iterdir()
    assert f"{module.split('.')[0]}." in message.read_text()


def test_the_worker_finds_our_app_and_every_task_with_dash_a_dayflow(tmp_path):
    found = run_python(
        """
        from celery.app.utils import find_app
        app = find_app("dayflow")
        app.loader.import_default_modules()
        print(json.dumps({"main": app.main, "tasks": sorted(
            name for name in app.tasks if not name.startswith("celery."))}))
        """,
        tmp_path,
    )

    assert found["main"] == "dayflow"
    assert {
        "dayflow.heartbeat",
        "integrations.refresh_connection_token",
        "integrations.refresh_expiring_tokens",
        "sync.dispatch_due",
        "sync.recover_jobs",
        "sync.run_job",
        "sync.scheduled",
        "webhooks.process_delivery",
        "webhooks.register_subscriptions",
        "webhooks.renew_subscriptions",
        "webhooks.requeue_stale_deliveries",
    } <= set(found["tasks"])


def test_manage_py_sync_help_works(tmp_path):
    env = os.environ | {"DAYFLOW_VAR_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "manage.py", "sync", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "--inline" in done.stdout


@pytest.mark.django_db
def test_manage_py_sync_runs_without_the_system_checks(monkeypatch, capsys):
    from django.core.management.base import BaseCommand

    from sync.management.commands.sync import Command

    def checks_ran(*args, **kwargs):
        raise AssertionError("manage.py sync ran the system checks")

    monkeypatch.setattr(BaseCommand, "check", checks_ran)

    with pytest.raises(SystemExit):
        Command().run_from_argv(["manage.py", "sync", "999999"])

    assert "connection 999999 does not exist" in capsys.readouterr().err
