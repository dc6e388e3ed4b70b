"""Re-encrypt every stored secret under the newest key in DAYFLOW_ENCRYPTION_KEYS."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from audit.writer import record
from integrations.crypto import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt every secret under the newest DAYFLOW_ENCRYPTION_KEYS key."

    def handle(self, *args, **options) -> None:
        counts = {}
        for model in apps.get_models():
            fields = [f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)]
            if fields:
                counts[model._meta.label] = rotate_model(model, fields)
        record(
            "encryption.keys_rotated",
            details={"models": [{"model": label, "rows": n} for label, n in counts.items()]},
        )
        for label, count in counts.items():
            self.stdout.write(f"{label}: {count} rows re-encrypted")


def rotate_model(model, fields: list[str], batch_size: int = 500) -> int:
    """Decrypt with whichever key matches, write back under the newest key."""
    count = 0
    rows = model._base_manager.only("pk", *fields).order_by("pk")
    for row in rows.iterator(chunk_size=batch_size):
        with transaction.atomic():
            model._base_manager.filter(pk=row.pk).update(
                **{name: getattr(row, name) for name in fields}
            )
        count += 1
    return count
