"""A wrong or lost DAYFLOW_ENCRYPTION_KEYS: staff pages say so instead of a 500, and key
rotation names every value it cannot read, rotates the rest and fails."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection as db
from django.db import transaction

from audit.models import AuditEvent
from integrations.crypto import UNREADABLE
from integrations.models import Connection, Credential, Service

pytestmark = pytest.mark.django_db

LOST_KEY = Fernet.generate_key().decode()
KEY = Fernet.generate_key().decode()


@pytest.fixture
def staff_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("staff", "staff@example.com", "pw-staff-1")
    client.force_login(admin)
    return client


def raw_column(credential: Credential, column: str) -> str:
    with db.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM integrations_credential WHERE id = %s", [credential.pk]
        )
        return cursor.fetchone()[0]


@pytest.fixture
def lost(connection, settings) -> Credential:
    """A credential written under a key that is no longer configured."""
    settings.DAYFLOW_ENCRYPTION_KEYS = [LOST_KEY]
    credential = Credential.objects.create(connection=connection, access_token="at-lost-secret")
    settings.DAYFLOW_ENCRYPTION_KEYS = [KEY]
    return credential


def test_the_credential_pages_say_the_keys_are_wrong_instead_of_failing(staff_client, lost):
    pages = [
        staff_client.get("/admin/integrations/credential/"),
        staff_client.get(f"/admin/integrations/credential/{lost.pk}/change/"),
    ]

    for page in pages:
        assert page.status_code == 200
        body = page.content.decode()
        assert UNREADABLE in body
        assert "at-lost-secret" not in body
        assert raw_column(lost, "access_token") not in body


def test_readable_credentials_are_listed_as_readable(staff_client, connection):
    Credential.objects.create(connection=connection, access_token="at-fine")

    body = staff_client.get("/admin/integrations/credential/").content.decode()

    assert UNREADABLE not in body
    assert "readable" in body


def test_rotation_names_each_unreadable_value_rotates_the_rest_and_fails(lost, user, settings):
    other = Connection.objects.create(
        user=user, service=Service.objects.get(key="linear"), external_account_id="acct-2"
    )
    settings.DAYFLOW_ENCRYPTION_KEYS = [KEY]
    readable = Credential.objects.create(connection=other, access_token="at-fine")
    settings.DAYFLOW_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), KEY]
    before = raw_column(readable, "access_token")
    stderr = io.StringIO()

    with pytest.raises(CommandError, match="1 stored values could not be read"):
        call_command("rotate_encryption_keys", stdout=io.StringIO(), stderr=stderr)

    assert f"integrations.Credential pk={lost.pk} access_token: {UNREADABLE}" in stderr.getvalue()
    assert raw_column(readable, "access_token") != before
    assert Credential.objects.get(pk=readable.pk).access_token == "at-fine"
    event = AuditEvent.objects.get(action="encryption.keys_rotated")
    assert event.success is False
    assert {"model": "integrations.Credential", "pk": lost.pk, "field": "access_token"} in (
        event.details["unreadable"]
    )


def test_a_connection_whose_credential_cannot_be_read_can_still_be_deleted(
    staff_client, lost, connection
):
    url = f"/admin/integrations/connection/{connection.pk}/delete/"

    confirm = staff_client.get(url)
    done = staff_client.post(url, {"post": "yes"})

    assert confirm.status_code == 200
    assert "at-lost-secret" not in confirm.content.decode()
    assert done.status_code == 302
    assert not Credential.objects.filter(pk=lost.pk).exists()


def test_a_secret_read_as_unreadable_is_never_saved_over_the_stored_one(lost):
    from integrations.crypto import DecryptionError, unreadable_allowed

    stored = raw_column(lost, "access_token")
    with unreadable_allowed():
        credential = Credential.objects.get(pk=lost.pk)
    assert credential.access_token == UNREADABLE

    with pytest.raises(DecryptionError), transaction.atomic():
        credential.save()
    assert raw_column(lost, "access_token") == stored
    with pytest.raises(DecryptionError):
        Credential.objects.get(pk=lost.pk)  # outside the block, reading still refuses
