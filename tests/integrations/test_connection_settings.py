"""Connection settings are validated wherever they are saved, with a message naming the field."""

import pytest
from django.core.exceptions import ValidationError

from integrations.models import Connection, Service

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("service_key", "changes", "field", "message"),
    [
        ("todoist", {"sync_interval": 1}, "sync_interval", "at least 5 minutes"),
        ("todoist", {"sync_interval": 2**62}, "sync_interval", "at most 10080 minutes"),
        ("todoist", {"sync_direction": "sideways"}, "sync_direction", "not a valid choice"),
        ("todoist", {"conflict_resolution": "coin"}, "conflict_resolution", "not a valid choice"),
        ("todoist", {"field_mapping": {"calendars": ["a"]}}, "field_mapping", "calendars: unknown"),
        ("notion", {"field_mapping": {"database_id": 42}}, "field_mapping", "database_id: must be"),
        (
            "google-calendar",
            {"field_mapping": {"calendars": "primary"}},
            "field_mapping",
            "calendars: must be a list",
        ),
        ("google-calendar", {"field_mapping": {"calendars": [""]}}, "field_mapping", "list of ids"),
        ("fastmail", {"field_mapping": []}, "field_mapping", "must be an object"),
    ],
)
def test_invalid_settings_are_rejected_naming_the_field(user, service_key, changes, field, message):
    connection = Connection(
        user=user, service=Service.objects.get(key=service_key), external_account_id="x", **changes
    )

    with pytest.raises(ValidationError) as excinfo:
        connection.save()

    assert field in excinfo.value.message_dict
    assert message in " ".join(excinfo.value.message_dict[field])
    assert not Connection.objects.exists()


def test_valid_settings_are_saved(user):
    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="notion"),
        external_account_id="ws-1",
        sync_interval=30,
        conflict_resolution="merge",
        field_mapping={"database_id": "db-1", "data_source_id": "ds-1", "title_property": "Name"},
    )

    assert connection.field_mapping["database_id"] == "db-1"
    assert connection.is_scheduled


def test_manual_direction_is_never_scheduled(connection):
    connection.sync_direction = "manual"
    connection.save()

    assert not connection.is_scheduled


def test_one_connection_per_external_account(user, service, connection):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Connection.objects.create(user=user, service=service, external_account_id="acct-1")


def test_bookkeeping_saves_skip_settings_validation(connection):
    Connection.objects.filter(pk=connection.pk).update(sync_interval=1)  # legacy bad row
    connection.refresh_from_db()

    connection.last_error = "boom"
    connection.save(update_fields=["last_error"])

    assert Connection.objects.get(pk=connection.pk).last_error == "boom"


def test_catalog_has_the_eight_services():
    assert set(Service.objects.values_list("key", flat=True)) == {
        "notion",
        "clickup",
        "linear",
        "todoist",
        "google-calendar",
        "outlook",
        "apple-calendar",
        "fastmail",
    }


def test_unconfigured_oauth_services_say_so(settings):
    settings.DAYFLOW_OAUTH_CLIENTS = {
        **settings.DAYFLOW_OAUTH_CLIENTS,
        "todoist": {"client_id": "", "client_secret": ""},
        "notion": {"client_id": "id", "client_secret": "secret"},
    }

    assert not Service.objects.get(key="todoist").is_configured
    assert Service.objects.get(key="notion").is_configured
    assert Service.objects.get(key="fastmail").is_configured  # app passwords need no client


def test_the_database_refuses_an_interval_beyond_a_week(connection):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Connection.objects.filter(pk=connection.pk).update(sync_interval=7 * 24 * 60 + 1)

    connection.refresh_from_db()
    assert connection.sync_interval == 15
