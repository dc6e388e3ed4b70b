"""Secrets are ciphertext in the database, readable under any configured key, rotatable."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db

from integrations.crypto import DecryptionError, decrypt, encrypt
from integrations.models import Credential

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_column(credential: Credential, column: str) -> str:
    with db.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM integrations_credential WHERE id = %s", [credential.pk]
        )
        return cursor.fetchone()[0]


def test_secrets_are_stored_as_ciphertext(connection):
    credential = Credential.objects.create(
        connection=connection, access_token="at-secret-123", refresh_token="rt-secret-456"
    )

    for column, secret in [("access_token", "at-secret-123"), ("refresh_token", "rt-secret-456")]:
        stored = raw_column(credential, column)
        assert secret not in stored
        assert stored.startswith("gAAAAA")  # a Fernet token
    assert Credential.objects.get(pk=credential.pk).access_token == "at-secret-123"


def test_each_write_uses_a_fresh_nonce():
    assert encrypt("same") != encrypt("same")


def test_key_rotation_keeps_old_data_readable_then_reencrypts(connection, settings):
    settings.DAYFLOW_ENCRYPTION_KEYS = [OLD_KEY]
    credential = Credential.objects.create(connection=connection, app_password="app-pw-789")
    written_under_old = raw_column(credential, "app_password")

    settings.DAYFLOW_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert Credential.objects.get(pk=credential.pk).app_password == "app-pw-789"
    call_command("rotate_encryption_keys", stdout=io.StringIO())

    rotated = raw_column(credential, "app_password")
    assert rotated != written_under_old
    settings.DAYFLOW_ENCRYPTION_KEYS = [NEW_KEY]  # the old key can now be dropped
    assert Credential.objects.get(pk=credential.pk).app_password == "app-pw-789"


def test_rotation_is_audited_without_secrets(connection):
    from audit.models import AuditEvent

    Credential.objects.create(connection=connection, access_token="at-secret-123")
    call_command("rotate_encryption_keys", stdout=io.StringIO())

    event = AuditEvent.objects.get(action="encryption.keys_rotated")
    assert {"model": "integrations.Credential", "rows": 1} in event.details["models"]
    assert "at-secret-123" not in str(event.details)


def test_wrong_key_raises_a_clear_error_never_ciphertext(connection, settings):
    settings.DAYFLOW_ENCRYPTION_KEYS = [OLD_KEY]
    credential = Credential.objects.create(connection=connection, access_token="at-secret-123")

    settings.DAYFLOW_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(DecryptionError, match="DAYFLOW_ENCRYPTION_KEYS"):
        Credential.objects.get(pk=credential.pk)


def test_malformed_key_setting_is_a_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.DAYFLOW_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured, match="Fernet keys"):
        encrypt("x")


def test_tampered_ciphertext_is_refused():
    token = encrypt("value")
    with pytest.raises(DecryptionError):
        decrypt(token[:-4] + "AAAA")
