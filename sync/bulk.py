"""A lean multi-row INSERT for the engine's hot path, where `bulk_create` costs more in Python
than the database spends on the rows.

`insert(model, rows)` writes plain dicts (attname -> Python value) with one
`INSERT ... VALUES (...), (...) RETURNING id` per batch (on PostgreSQL, ids drawn from the
table's sequence and one `COPY ... FROM STDIN` for all the rows) and returns the new ids in row
order.
Like `bulk_create`, it sends no signals and calls no `save()`. Values are prepared by their
field's `get_db_prep_save`, except where that is known to be the identity: a str for a plain
CharField or TextField, an int for a plain integer field or integer foreign key, a bool for a
BooleanField, or None. Subclasses (encrypted, custom fields) always go through their own
preparation. Columns given are written as given (auto_now ones included: the caller chose the
time); columns left out get their field's default, or the current time for auto_now(_add).
Values are plain values, not expressions.
"""

from __future__ import annotations

import contextlib
import functools
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

from django.db import connections, models, router, transaction

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
_PLAIN_RELATIONS = {models.ForeignKey, models.OneToOneField}  # as plain as their target
# Exact field classes whose preparation of None is None (SQL NULL).
_NONE_IS_NULL = {models.DateField, models.DateTimeField, models.JSONField}
_UNSET = object()
# PostgreSQL's limit on bind parameters in one statement (SQLite's: the backend's batch size).
_MAX_PARAMS = 65535

Prepare = Callable[[Any], Any]
M = TypeVar("M", bound=models.Model)


def insert(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert `rows` (all with the same keys, attnames) and return their ids in order."""
    if not rows:
        return []
    given = list(rows[0])
    return _insert_columns(model, given, [[row[name] for row in rows] for name in given])


def _insert_columns(model: type[models.Model], given: list[str], columns: list[Any]) -> list[int]:
    """`insert` of rows given column by column: `columns[i]` holds every row's `given[i]`."""
    connection = connections[router.db_for_write(model)]
    count = len(columns[0])
    fields = _fields(model, given)
    defaults = _defaults(model, fields[len(given) :], connection)
    prepared = [
        _column(values, _preparer(field, connection))
        for values, field in zip(columns, fields, strict=False)
    ]
    prepared += [[value] * count for value in defaults]
    if count > 1 and _copies(model, connection):
        return _copy(model, fields, prepared, connection)
    statements = _values(model, fields, prepared, connection)
    ids: list[int] = []
    # All or nothing, as bulk_create: SQLite may need several statements.
    with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
        for sql, params in statements:
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
    names = [field.attname for field in fields]
    # Read in C, an instance's columns at a time, then turned into columns: a first sync
    # creates two instances per item, and a dict per instance cost more than its INSERT.
    read = operator.attrgetter(*names) if len(names) > 1 else _one(names[0])
    columns = list(zip(*map(read, objs), strict=True))
    db = router.db_for_write(model)
    for obj, pk in zip(objs, _insert_columns(model, names, columns), strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, db


class Blank(Generic[M]):
    """New instances of one model, each at its fields' defaults but for the values given, made
    as Django makes the rows it reads: positional arguments, so `Model.__init__` does no
    keyword or default lookup per field (a first sync makes two instances per item). A
    callable default (`default=list`) is called for each instance, as `__init__` would; any
    other default is the same value for all, as it is for Django."""

    def __init__(self, model: type[M]) -> None:
        fields = model._meta.concrete_fields
        self.model = model
        self.position = {field.attname: index for index, field in enumerate(fields)}
        self.defaults = [field.get_default() for field in fields]
        self.factories = [
            (index, field.get_default)
            for index, field in enumerate(fields)
            if field.has_default() and callable(field.default)
        ]

    def __call__(self, **values: Any) -> M:
        """An instance with `values` (by attname: `user_id`, not `user`)."""
        args = self.defaults.copy()
        for index, make in self.factories:
            args[index] = make()
        position = self.position
        for name, value in values.items():
            args[position[name]] = value
        return self.model(*args)


@functools.cache
def blank(model: type[M]) -> Blank[M]:
    """`Blank` of `model`, made once: `bulk.blank(Event)(user_id=1, title="x")`."""
    return Blank(model)


def _one(name: str) -> Callable[[Any], tuple[Any]]:
    get = operator.attrgetter(name)
    return lambda obj: (get(obj),)


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


def _column(values: list[Any], prepare: Prepare) -> list[Any]:
    """One column's values prepared; a value repeated (the batch's time, an id) only once."""
    prepared: list[Any] = []
    last = current = _UNSET
    for value in values:
        if value is not last:
            last, current = value, prepare(value)
        prepared.append(current)
    return prepared


def _preparer(field: models.Field, connection) -> Prepare:
    prep = field.get_db_prep_save
    if type(field) is models.JSONField:
        # Most rows' lists and dicts are empty (an event's attendees and exception dates): each
        # is prepared once, not dumped again per row.
        empty = {list: prep([], connection), dict: prep({}, connection)}
        return lambda value: (
            None
            if value is None
            else empty[type(value)]
            if not value and type(value) in empty
            else prep(value, connection)
        )
    if type(field) in _NONE_IS_NULL:
        return lambda value: None if value is None else prep(value, connection)
    plain = _PLAIN.get(type(field.target_field if type(field) in _PLAIN_RELATIONS else field))
    if plain is None:
        return lambda value: prep(value, connection)
    return lambda value: value if value is None or type(value) is plain else prep(value, connection)


def _values(
    model: type[models.Model], fields: list[models.Field], columns: list[list[Any]], connection
) -> Iterator[tuple[str, list[Any]]]:
    """INSERT ... VALUES, as many rows a statement as the backend takes parameters."""
    count = len(columns[0])
    limit = min(connection.ops.bulk_batch_size(fields, columns[0]), _MAX_PARAMS // len(fields))
    per_batch = max(1, limit)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    for start in range(0, count, per_batch):
        rows = list(zip(*(column[start : start + per_batch] for column in columns), strict=True))
        values = ", ".join([placeholders] * len(rows))
        yield (
            f"{_head(model, fields, connection)}VALUES {values}{_tail(model, connection)}",
            [value for row in rows for value in row],
        )


def _copy(
    model: type[models.Model], fields: list[models.Field], columns: list[list[Any]], connection
) -> list[int]:
    """PostgreSQL: ids drawn from the table's own sequence, then one `COPY ... FROM STDIN`,
    whose rows psycopg formats in C: no statement text that grows with the rows and no
    client-side quoting of every value (Django's psycopg binds parameters on the client).
    COPY is not an `execute()`: execution wrappers and CaptureQueriesContext see only the
    SELECT that draws the ids."""
    pk, quote = model._meta.pk, connection.ops.quote_name
    table = model._meta.db_table
    names = ", ".join(quote(field.column) for field in [pk, *fields])
    with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [quote(table), pk.column, len(columns[0])],
        )
        ids = [row[0] for row in cursor.fetchall()]
        # wrap_database_errors: IntegrityError and the rest as Django's own, as execute() has.
        statement = f"COPY {quote(table)} ({names}) FROM STDIN"
        with (
            connection.wrap_database_errors,
            _without_rows(),
            cursor.cursor.copy(statement) as copy,
        ):
            for row in zip(ids, *columns, strict=True):
                copy.write_row(row)
    return ids


@contextlib.contextmanager
def _without_rows() -> Iterator[None]:
    """A failed COPY's message quotes the whole offending row (`CONTEXT: COPY t, line 3:
    "..."`): titles, notes, journal JSON. Keep the server's primary message and the
    constraint, as a failed INSERT would tell, and nothing of the row."""
    import psycopg  # only on PostgreSQL: a SQLite process never loads the driver

    try:
        yield
    except psycopg.Error as exc:
        diag = exc.diag
        message = diag.message_primary or type(exc).__name__
        if diag.constraint_name and diag.constraint_name not in message:
            message += f" (constraint {diag.constraint_name})"
        raise type(exc)(message) from None


def _head(model: type[models.Model], fields: list[models.Field], connection) -> str:
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in fields)
    # Only quoted names from the model's options go into the text; values are parameters.
    return f"INSERT INTO {quote(model._meta.db_table)} ({names}) "


def _tail(model: type[models.Model], connection) -> str:
    return f" RETURNING {connection.ops.quote_name(model._meta.pk.column)}"


def _copies(model: type[models.Model], connection) -> bool:
    """COPY on PostgreSQL, for a table whose id comes from a sequence (an auto field)."""
    return connection.vendor == "postgresql" and isinstance(model._meta.pk, models.AutoField)
