"""A lean multi-row INSERT for the engine's hot path, where `bulk_create` costs more in Python
than the database spends on the rows.

`insert(model, rows)` writes plain dicts (attname -> Python value) with one
`INSERT ... VALUES (...), (...) RETURNING id` per batch and returns the new ids in row order.
Like `bulk_create`, it sends no signals and calls no `save()`. Values are prepared by their
field's `get_db_prep_save`, except where that is known to be the identity: a str for a plain
CharField or TextField, an int for a plain integer field or integer foreign key, a bool for a
BooleanField, or None. Subclasses (encrypted, custom fields) always go through their own
preparation. Columns given are written as given (auto_now ones included: the caller chose the
time); columns left out get their field's default, or the current time for auto_now(_add).
Values are plain values, not expressions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from django.db import connections, models, router
from django.utils import timezone

# Exact field classes whose preparation of a value of this exact type changes nothing.
_PLAIN: dict[type[models.Field], type] = {
    models.CharField: str,
    models.TextField: str,
    models.BooleanField: bool,
    models.AutoField: int,
    models.BigAutoField: int,
    models.SmallAutoField: int,
    models.IntegerField: int,
    models.BigIntegerField: int,
    models.SmallIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.PositiveSmallIntegerField: int,
}
# PostgreSQL's limit on bind parameters in one statement (SQLite's is the backend's own).
_MAX_PARAMS = 65535

Prepare = Callable[[Any], Any]


def insert(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert `rows` (all with the same keys, attnames) and return their ids in order."""
    if not rows:
        return []
    connection = connections[router.db_for_write(model)]
    given = list(rows[0])
    fields = _fields(model, given)
    values = _prepared(rows, given, fields, connection)
    ids: list[int] = []
    with connection.cursor() as cursor:
        for sql, params in _statements(model, fields, values, connection):
            cursor.execute(sql, params)
            ids.extend(row[0] for row in cursor.fetchall())
    return ids


def create(objs: Sequence[models.Model]) -> None:
    """`bulk_create` for new instances of one model, leaner: every concrete column, auto_now
    and auto_now_add set as `save()` would, ids and saved state set on the instances."""
    if not objs:
        return
    model = type(objs[0])
    fields = [field for field in model._meta.concrete_fields if field is not model._meta.pk]
    auto = [field for field in fields if _is_auto_time(field)]
    rows = []
    for obj in objs:
        if obj.pk is not None:
            raise ValueError(f"{obj!r} is saved already")
        for field in auto:
            field.pre_save(obj, add=True)
        rows.append({field.attname: getattr(obj, field.attname) for field in fields})
    db = router.db_for_write(model)
    for obj, pk in zip(objs, insert(model, rows), strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, db


def _is_auto_time(field: models.Field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


def _fields(model: type[models.Model], given: list[str]) -> list[models.Field]:
    """The given columns first, in order, then every other concrete column but the id."""
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    unknown = [name for name in given if name not in by_attname]
    if unknown:
        raise ValueError(f"{model.__name__} has no column {', '.join(unknown)}")
    pk = model._meta.pk
    rest = [f for f in model._meta.concrete_fields if f.attname not in given and f is not pk]
    return [by_attname[name] for name in given] + rest


def _defaults(fields: list[models.Field], given: list[str], connection) -> list[Any]:
    """Prepared values of the columns the rows leave out: one value for the whole insert."""
    now = timezone.now()
    values = []
    for field in fields[len(given) :]:
        value = now if _is_auto_time(field) else field.get_default()
        values.append(field.get_db_prep_save(value, connection))
    return values


def _preparer(field: models.Field, connection) -> Prepare:
    plain = _PLAIN.get(type(field))
    if isinstance(field, models.ForeignKey):
        plain = _PLAIN.get(type(field.target_field))
    prep = field.get_db_prep_save
    if plain is None:
        return lambda value: prep(value, connection)
    return lambda value: value if value is None or type(value) is plain else prep(value, connection)


def _prepared(
    rows: Sequence[Mapping[str, Any]], given: list[str], fields: list[models.Field], connection
) -> list[list[Any]]:
    columns = list(zip(given, [_preparer(field, connection) for field in fields], strict=False))
    defaults = _defaults(fields, given, connection)
    return [[prepare(row[name]) for name, prepare in columns] + defaults for row in rows]


def _statements(
    model: type[models.Model], fields: list[models.Field], values: list[list[Any]], connection
) -> Iterator[tuple[str, list[Any]]]:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    # Only quoted names from the model's options go into the text; values are parameters.
    head = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "
    tail = f" RETURNING {quote(model._meta.pk.column)}"
    if len(values) > 1 and _unnests(fields, connection):
        # One array per column, as Django's bulk_create does on PostgreSQL: the statement's
        # text no longer grows with the rows, so neither does its parsing and planning.
        types = [field.db_type(connection).split("(")[0] for field in fields]
        arrays = ", ".join(f"(%s)::{db_type}[]" for db_type in types)
        sql = f"{head}SELECT * FROM UNNEST({arrays}){tail}"  # noqa: S608
        yield sql, [list(column) for column in zip(*values, strict=True)]
        return
    per_batch = max(1, (connection.features.max_query_params or _MAX_PARAMS) // len(fields))
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    for start in range(0, len(values), per_batch):
        batch = values[start : start + per_batch]
        sql = f"{head}VALUES {', '.join([row] * len(batch))}{tail}"
        yield sql, [value for row_values in batch for value in row_values]


def _unnests(fields: list[models.Field], connection) -> bool:
    """Django's own conditions for inserting through UNNEST (its PostgreSQL compiler)."""
    return connection.vendor == "postgresql" and not any(
        hasattr(field, "get_placeholder")
        or (field.target_field if field.is_relation else field).get_internal_type()
        not in connection.data_types
        for field in fields
    )
