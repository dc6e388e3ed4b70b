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
# Exact field classes whose preparation of None is None (SQL NULL).
_NONE_IS_NULL = {models.DateField, models.DateTimeField, models.JSONField}
_UNSET = object()
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
    columns = [
        _column([row[name] for row in rows], field, connection)
        for name, field in zip(given, fields, strict=False)
    ]
    columns += [[value] * len(rows) for value in _defaults(model, fields[len(given) :], connection)]
    ids: list[int] = []
    with connection.cursor() as cursor:
        for sql, params in _statements(model, fields, columns, connection):
            cursor.execute(sql, params)
            ids.extend(row[0] for row in cursor.fetchall())
    return ids


def create(objs: Sequence[models.Model]) -> None:
    """`bulk_create` for new instances of one model, leaner: every concrete column, auto_now
    and auto_now_add set as `save()` would (one time for the whole insert), ids and saved
    state set on the instances."""
    if not objs:
        return
    model = type(objs[0])
    fields = [field for field in model._meta.concrete_fields if field is not model._meta.pk]
    if any(obj.pk is not None for obj in objs):
        raise ValueError(f"{model.__name__}: some instances are saved already")
    auto = {field.attname: field.pre_save(objs[0], add=True) for field in fields if _auto(field)}
    for obj in objs:
        for name, value in auto.items():
            setattr(obj, name, value)
    rows = [{field.attname: getattr(obj, field.attname) for field in fields} for obj in objs]
    db = router.db_for_write(model)
    for obj, pk in zip(objs, insert(model, rows), strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, db


def _auto(field: models.Field) -> bool:
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


def _defaults(model: type[models.Model], fields: list[models.Field], connection) -> list[Any]:
    """Prepared values of the columns the rows leave out: one value for the whole insert."""
    blank = model()  # what save() would find on a new instance, and the time it would set
    return [field.get_db_prep_save(field.pre_save(blank, add=True), connection) for field in fields]


def _column(values: list[Any], field: models.Field, connection) -> list[Any]:
    """One column's values prepared; a value repeated (the batch's time, an id) only once."""
    prepare = _preparer(field, connection)
    prepared: list[Any] = []
    last = current = _UNSET
    for value in values:
        if value is not last:
            last, current = value, prepare(value)
        prepared.append(current)
    return prepared


def _preparer(field: models.Field, connection) -> Prepare:
    prep = field.get_db_prep_save
    if type(field) in _NONE_IS_NULL:
        return lambda value: None if value is None else prep(value, connection)
    plain = _PLAIN.get(type(field.target_field if field.is_relation else field))
    if plain is None:
        return lambda value: prep(value, connection)
    return lambda value: value if value is None or type(value) is plain else prep(value, connection)


def _statements(
    model: type[models.Model], fields: list[models.Field], columns: list[list[Any]], connection
) -> Iterator[tuple[str, list[Any]]]:
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in fields)
    # Only quoted names from the model's options go into the text; values are parameters.
    head = f"INSERT INTO {quote(model._meta.db_table)} ({names}) "
    tail = f" RETURNING {quote(model._meta.pk.column)}"
    count = len(columns[0])
    if count > 1 and _unnests(fields, connection):
        # One array per column, as Django's bulk_create does on PostgreSQL: the statement's
        # text no longer grows with the rows, so neither does its parsing and planning.
        types = [field.db_type(connection).split("(")[0] for field in fields]
        arrays = ", ".join(f"(%s)::{db_type}[]" for db_type in types)
        yield f"{head}SELECT * FROM UNNEST({arrays}){tail}", columns  # noqa: S608
        return
    per_batch = max(1, (connection.features.max_query_params or _MAX_PARAMS) // len(fields))
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    for start in range(0, count, per_batch):
        rows = list(zip(*(column[start : start + per_batch] for column in columns), strict=True))
        sql = f"{head}VALUES {', '.join([placeholders] * len(rows))}{tail}"
        yield sql, [value for row in rows for value in row]


def _unnests(fields: list[models.Field], connection) -> bool:
    """Django's own conditions for inserting through UNNEST (its PostgreSQL compiler)."""
    return connection.vendor == "postgresql" and not any(
        hasattr(field, "get_placeholder")
        or (field.target_field if field.is_relation else field).get_internal_type()
        not in connection.data_types
        for field in fields
    )
