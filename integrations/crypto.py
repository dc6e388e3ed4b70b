"""Secrets encrypted at rest with MultiFernet.

`DAYFLOW_ENCRYPTION_KEYS` lists Fernet keys newest first: the newest encrypts, every key
decrypts, so keys can be rotated without downtime (`manage.py rotate_encryption_keys`).
django-fernet-fields would be the off-the-shelf choice, but it no longer imports on Django 4+.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.cache import cache as shared_cache
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.functions import Cast

from audit.writer import record

# What staff pages show for a secret no configured key can read (a wrong or lost key).
UNREADABLE = "cannot decrypt with the configured keys"


class DecryptionError(Exception):
    """A stored secret cannot be read with the configured keys."""


class Unreadable(str):
    """What a secret reads as inside `unreadable_allowed()`: never written back, never a secret."""


_reading = threading.local()


@contextlib.contextmanager
def unreadable_allowed() -> Iterator[None]:
    """Rows whose secrets no configured key can read load with `Unreadable` values instead of
    raising: for code that must go on without the secrets, such as deleting a connection (its
    credential and subscriptions are loaded only to be deleted with it)."""
    before = getattr(_reading, "tolerant", False)
    _reading.tolerant = True
    try:
        yield
    finally:
        _reading.tolerant = before


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("DAYFLOW_ENCRYPTION_KEYS is empty: no key to encrypt with.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "DAYFLOW_ENCRYPTION_KEYS must be comma-separated Fernet keys (32 url-safe base64 "
            "bytes each)."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.DAYFLOW_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "A stored secret could not be decrypted: none of DAYFLOW_ENCRYPTION_KEYS matches it. "
            "Restore the key it was written with (keys are listed newest first)."
        ) from exc


def ciphertext(field: str) -> Cast:
    """The column as stored, not decrypted: annotate a queryset with it (and defer the field)
    where a page or a command must go on when a row cannot be read."""
    return Cast(field, models.TextField())


def readable(token: str | None) -> bool:
    """Whether stored ciphertext (from `ciphertext()`) decrypts with the configured keys."""
    if not token:
        return True
    try:
        decrypt(token)
    except DecryptionError:
        return False
    return True


def rotate(token: str) -> str:
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("A stored secret could not be re-encrypted: no key matches.") from exc


def _audit_failure(where: str) -> None:
    """An audit event for the monitoring (security.rules.decrypt_failures): which column, never
    the ciphertext; at most one a minute per column, as a lost key fails every read."""
    if shared_cache.add(f"crypto:decrypt-failed:{where}", 1, timeout=60):
        record("crypto.decrypt_failed", details={"where": where[:100]}, success=False)


class EncryptedTextField(models.TextField):
    """A text column that holds Fernet ciphertext; Python code only ever sees plaintext.

    Empty values stay empty strings (nothing to hide, and lookups like `exclude(x="")` work).
    Never filter on the plaintext: ciphertext is randomized.
    """

    description = "Text encrypted at rest with MultiFernet"

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        try:
            return decrypt(value)
        except DecryptionError:
            if getattr(_reading, "tolerant", False):
                return Unreadable(UNREADABLE)
            _audit_failure(f"{self.model._meta.label}.{self.name}")
            raise

    def get_prep_value(self, value):
        if isinstance(value, Unreadable):
            raise DecryptionError("An unreadable secret is never saved over the stored one.")
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)
