"""Re-encrypt every stored secret under the newest key in DAYFLOW_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import NamedTuple

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit.writer import record
from integrations.crypto import UNREADABLE, DecryptionError, EncryptedTextField, ciphertext, decrypt


class Unreadable(NamedTuple):
    model: str
    pk: int
    field: str

    def __str__(self) -> str:
        return f"{self.model} pk={self.pk} {self.field}: {UNREADABLE}"


class Command(BaseCommand):
    help = "Re-encrypt every secret under the newest DAYFLOW_ENCRYPTION_KEYS key."

    def handle(self, *args, **options) -> None:
        counts: dict[str, int] = {}
        unreadable: list[Unreadable] = []
        for model in apps.get_models():
            fields = [f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)]
            if fields:
                counts[model._meta.label], missed = rotate_model(model, fields)
                unreadable += missed
        record(
            "encryption.keys_rotated",
            details={
                "models": [{"model": label, "rows": n} for label, n in counts.items()],
                "unreadable": [row._asdict() for row in unreadable[:100]],
            },
            success=not unreadable,
        )
        for label, count in counts.items():
            self.stdout.write(f"{label}: {count} rows re-encrypted")
        for row in unreadable:
            self.stderr.write(str(row))
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} stored values could not be read with DAYFLOW_ENCRYPTION_KEYS "
                "and were left as they are: add the key they were written with and run again."
            )


def rotate_model(model, fields: list[str], batch_size: int = 500) -> tuple[int, list[Unreadable]]:
    """Decrypt with whichever key matches, write back under the newest key. A value no key
    reads is left as it is and reported; the row's other values are still rotated."""
    count, unreadable = 0, []
    stored = {f"stored_{name}": ciphertext(name) for name in fields}
    rows = model._base_manager.annotate(**stored).values("pk", *stored).order_by("pk")
    for row in rows.iterator(chunk_size=batch_size):
        plain = {}
        for name in fields:
            try:
                plain[name] = decrypt(row[f"stored_{name}"]) if row[f"stored_{name}"] else ""
            except DecryptionError:
                unreadable.append(Unreadable(model._meta.label, row["pk"], name))
        if plain:
            with transaction.atomic():
                model._base_manager.filter(pk=row["pk"]).update(**plain)
            count += 1
    return count, unreadable
