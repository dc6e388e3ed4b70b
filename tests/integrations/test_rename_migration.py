"""`UserIntegration` → `Connection` (integrations 0003): rows, links and staff permissions survive
the rename both ways."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection as db
from django.db.migrations.executor import MigrationExecutor

from integrations.models import Connection, Service

BEFORE = [("integrations", "0002_sync_interval_bounds")]
AFTER = [("integrations", "0003_rename_userintegration_connection")]


def migrate(targets):
    executor = MigrationExecutor(db)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.fixture(autouse=True)
def _back_to_the_latest_migrations():
    """Undoing 0003 undoes every later migration of the app too: the tests after this one need
    them all again, whatever the newest is."""
    yield
    executor = MigrationExecutor(db)
    executor.migrate(executor.loader.graph.leaf_nodes())


def tables() -> set[str]:
    return set(db.introspection.table_names())


@pytest.mark.django_db(transaction=True)
def test_rename_keeps_rows_and_permissions_both_ways(django_user_model):
    # given a connection and a staff permission on it
    user = django_user_model.objects.create_user("ada")
    service = Service.objects.get(key="todoist")
    kept = Connection.objects.create(user=user, service=service, external_account_id="acct-1")
    assert Permission.objects.filter(codename="change_connection").exists()

    # when the rename is undone
    migrate(BEFORE)

    # then the old table holds the row and the permission has its old name
    assert "integrations_userintegration" in tables()
    assert "integrations_connection" not in tables()
    assert Permission.objects.filter(codename="change_userintegration").exists()
    assert not Permission.objects.filter(codename="change_connection").exists()

    # when it is done again
    migrate(AFTER)

    # then the same row is there under the new name, and so is the permission
    assert "integrations_connection" in tables()
    # (only the columns 0003 knows: later migrations add more)
    rows = Connection.objects.filter(pk=kept.pk).values_list("external_account_id", flat=True)
    assert rows.get() == "acct-1"
    assert Permission.objects.get(codename="change_connection").name == "Can change connection"
