"""Storing a delivery in the inbox once: one `INSERT … ON CONFLICT DO NOTHING RETURNING id`.

The unique constraint on (service, delivery id) decides whether a delivery is new. Asking the
database to skip a conflicting row (instead of raising IntegrityError from `save()`) costs one
round trip either way, needs no savepoint inside a transaction, and skips the model
save machinery, which is most of the receiver's ORM time. PostgreSQL and SQLite (3.35+) both
speak this dialect. Delivery has no save() override and no signal receivers, so nothing is
bypassed.
"""

from __future__ import annotations

from functools import cache

from django.db import connections, router

from webhooks.models import Delivery

# Every concrete column except the primary key, in model order.
_FIELDS = [f for f in Delivery._meta.concrete_fields if not f.primary_key]


@cache
def _sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    table = quote(Delivery._meta.db_table)
    columns = ", ".join(quote(f.column) for f in _FIELDS)
    placeholders = ", ".join(["%s"] * len(_FIELDS))
    conflict = ", ".join(quote(Delivery._meta.get_field(n).column) for n in _unique_fields())
    pk = quote(Delivery._meta.pk.column)
    # Only quoted names from the model's metadata are interpolated; values are parameters.
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {pk}"
    )


def _unique_fields() -> tuple[str, ...]:
    (constraint,) = [
        c for c in Delivery._meta.constraints if c.name == "one_delivery_per_service_id"
    ]
    return tuple(constraint.fields)


def insert_once(delivery: Delivery) -> bool:
    """Insert `delivery` (setting its pk) unless the inbox already holds its (service,
    delivery id); True when it was inserted. Commits at once outside a transaction."""
    connection = connections[router.db_for_write(Delivery)]
    for field in _FIELDS:
        # Defaults (received_at=now, status=received, …) are filled in by the model's
        # __init__; pre_save applies auto_now-style hooks, as save() would.
        field.pre_save(delivery, add=True)
    values = [f.get_db_prep_save(getattr(delivery, f.attname), connection) for f in _FIELDS]
    with connection.cursor() as cursor:
        cursor.execute(_sql(connection.alias), values)
        row = cursor.fetchone()
    if row is None:
        return False
    delivery.pk = row[0]
    delivery._state.adding = False
    delivery._state.db = connection.alias
    return True
