"""Scheduled syncs move from one django-celery-beat PeriodicTask per connection to the
connection's own `next_sync_at`, dispatched by one static beat entry (sync/schedule.py).

Forwards: every scheduled connection (connected, auto_sync on, not manual-only, set up) gets a
`next_sync_at`: one interval after its last run where that is still ahead, otherwise at its own
point of the coming interval (`schedule.spread_over_interval`), so a backlog does not fire in
one tick. Then the per-connection rows ("sync connection <id>", task `sync.scheduled`) and the
old "sync recover jobs" row (now the static "sync-recover-jobs" entry) are deleted.

Backwards: nothing is undone here (a no-op, on purpose). The column itself goes with
integrations 0007 when that is reversed; the per-connection rows come back from the code that
kept them: before this change `SyncConfig.ready` ran `reconcile_schedules` after every
`migrate`, which recreates each connection's row.
"""

import datetime as dt

from django.conf import settings
from django.db import migrations
from django.utils import timezone

OLD_TASK = "sync.scheduled"
OLD_RECOVERY = "sync recover jobs"
MAX_SYNC_INTERVAL = 7 * 24 * 60
BATCH = 1000


def _setup_needed(service_key: str, mapping: dict) -> bool:
    from integrations.providers import PROVIDERS

    provider = PROVIDERS.get(service_key)
    return bool(provider.setup_needed(mapping)) if provider is not None else False


def schedule_existing(apps, schema_editor) -> None:
    from sync.schedule import spread_over_interval

    Connection = apps.get_model("integrations", "Connection")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    now = timezone.now()
    minimum = settings.DAYFLOW_MIN_SYNC_INTERVAL
    old = PeriodicTask.objects.filter(task=OLD_TASK, name__startswith="sync connection ")
    last_runs = {
        name.removeprefix("sync connection "): last_run
        for name, last_run in old.values_list("name", "last_run_at")
    }
    candidates = (
        Connection.objects.filter(status="connected", auto_sync=True)
        .exclude(sync_direction="manual")
        .values_list("pk", "service__key", "field_mapping", "sync_interval", "last_sync_at")
        .order_by("pk")
    )
    moves = []
    for pk, key, mapping, minutes, last_sync in candidates.iterator(chunk_size=BATCH):
        if not isinstance(minutes, int) or minutes > MAX_SYNC_INTERVAL:
            continue  # not schedulable: the first save of its settings says why
        if _setup_needed(key, mapping or {}):
            continue
        interval = dt.timedelta(minutes=max(minutes, minimum))
        last = max(filter(None, (last_runs.get(str(pk)), last_sync)), default=None)
        moves.append(Connection(pk=pk, next_sync_at=spread_over_interval(now, last, interval, pk)))
        if len(moves) >= BATCH:
            Connection.objects.bulk_update(moves, ["next_sync_at"])
            moves = []
    Connection.objects.bulk_update(moves, ["next_sync_at"])
    old.delete()
    PeriodicTask.objects.filter(name=OLD_RECOVERY).delete()
    # Historical models send no signal to django-celery-beat: tell a running beat directly.
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": now})


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0007_connection_next_sync_at"),
        ("sync", "0012_link_handover"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(schedule_existing, migrations.RunPython.noop, elidable=True),
    ]
