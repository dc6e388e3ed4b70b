"""sync 0014: the links of a connection that has synced count as synced already (no preview
holds them back); those of a connection that never synced wait for its first sync, as before."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection as db
from django.db.migrations.executor import MigrationExecutor

from integrations.models import Connection, Service
from sync import services
from sync.models import SyncJob, SyncLink

BEFORE = [("sync", "0013_schedules_to_next_sync_at")]
AFTER = [("sync", "0014_synclink_first_synced_at")]
LAST_SYNC = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


def migrate(targets):
    executor = MigrationExecutor(db)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.fixture(autouse=True)
def _back_to_the_latest_migrations():
    yield
    executor = MigrationExecutor(db)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_links_of_a_synced_connection_count_as_synced(django_user_model):
    user = django_user_model.objects.create_user("ada")

    def connect(account: str, **mapping) -> Connection:
        return Connection.objects.create(
            user=user,
            service=Service.objects.get(key="todoist"),
            external_account_id=account,
            field_mapping=mapping,
        )

    synced = connect("synced", project_id=["p-1", "p-2"])
    never = connect("never", project_id="p-3")
    Connection.objects.filter(pk=synced.pk).update(last_sync_at=LAST_SYNC)
    migrate(BEFORE)

    migrate(AFTER)

    assert sorted(SyncLink.objects.values_list("collection", "first_synced_at")) == [
        ("p-1", LAST_SYNC),
        ("p-2", LAST_SYNC),
        ("p-3", None),
    ]
    # a preview asked for later holds nothing back; a never-synced one's first preview does
    for connection in (synced, never):
        SyncJob.objects.create(connection=connection, kind="full", dry_run=True)
        connection.refresh_from_db()
    assert not services.awaits_first_confirmation(synced)
    assert services.awaits_first_confirmation(never)
