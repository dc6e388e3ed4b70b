"""sync 0009: connections made before sync links get theirs, and the oldest connection of each
kind takes the Inbox's (or My calendar's) new items, as the first to sync used to."""

import pytest
from django.db import connection as db
from django.db.migrations.executor import MigrationExecutor

from integrations.models import Connection, Service
from sync.models import SyncLink

BEFORE = [("sync", "0008_sync_links")]
AFTER = [("sync", "0009_links_for_existing_connections")]


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
def test_older_connections_get_their_links_and_the_oldest_takes_the_inbox(django_user_model):
    user = django_user_model.objects.create_user("ada")

    def connect(key: str, account: str, **mapping) -> Connection:
        return Connection.objects.create(
            user=user,
            service=Service.objects.get(key=key),
            external_account_id=account,
            field_mapping=mapping,
        )

    todoist = connect("todoist", "t", project_id="p-1")
    linear = connect("linear", "l", team_id="team-1")
    unset = connect("notion", "n")  # needs setup: no container, no link
    google = connect("google-calendar", "g", calendars=["a@x", "b@x"])
    gone = connect("outlook", "o")
    Connection.objects.filter(pk=gone.pk).update(status="disconnected")
    migrate(BEFORE)  # undoing 0009 keeps the table; empty it, as before 0009
    SyncLink.objects.all().delete()

    migrate(AFTER)

    made = sorted(
        SyncLink.objects.values_list("connection_id", "item_type", "collection", "is_destination")
    )
    assert made == [
        (todoist.pk, "task", "p-1", True),
        (linear.pk, "task", "team-1", False),
        (google.pk, "event", "a@x", True),
        (google.pk, "event", "b@x", False),
    ]
    assert not SyncLink.objects.filter(connection__in=[unset, gone]).exists()
    assert set(SyncLink.objects.values_list("user_id", flat=True)) == {user.pk}
