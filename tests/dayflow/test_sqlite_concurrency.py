"""Two processes writing to the embedded SQLite database at once never see "database is locked".

Each process runs read-then-write transactions, the pattern that fails under SQLite's default
deferred transactions (the reader cannot upgrade its lock while the other writer holds one).
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITER = textwrap.dedent(
    """
    import django, sys
    django.setup()
    from django.contrib.auth.models import User
    from django.db import transaction
    from dayflow.models import Task

    user = User.objects.get(username="writer")
    for i in range(int(sys.argv[2])):
        with transaction.atomic():
            Task.objects.filter(user=user).count()
            task = Task.objects.create(user=user, title=f"{sys.argv[1]}-{i}")
            task.title += "!"
            task.save()
    """
)


def run(env, *args, **kwargs):
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, **kwargs
    )


def test_two_processes_write_concurrently_without_database_locked(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {"DAYFLOW_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "dayflow.settings"}
    env["DAYFLOW_SYNC_LOCAL_DELAY"] = "off"  # the saves are the test, not changes to sync
    setup = run(env, "manage.py", "migrate", "-v0")
    assert setup.returncode == 0, setup.stderr
    created = run(
        env,
        "-c",
        "import django; django.setup(); from django.contrib.auth.models "
        "import User; User.objects.create_user('writer')",
    )
    assert created.returncode == 0, created.stderr

    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, name, "150"],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("web", "worker")
    ]
    errors = [writer.communicate(timeout=120)[1] for writer in writers]

    assert [writer.returncode for writer in writers] == [0, 0], errors
    assert not any("database is locked" in error for error in errors)
    count = run(
        env,
        "-c",
        "import django; django.setup(); from dayflow.models import Task; "
        "print(Task.objects.filter(title__endswith='!').count())",
    )
    assert count.stdout.strip() == "300"
    journal = run(
        env,
        "-c",
        "import django; django.setup(); from django.db import connection; "
        "c = connection.cursor(); print(c.execute('PRAGMA journal_mode').fetchone()[0])",
    )
    assert journal.stdout.strip() == "wal"
