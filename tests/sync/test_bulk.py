"""sync/bulk.py: the engine's multi-row INSERT writes what save() would, and returns ids in order.

Runs on SQLite, and on PostgreSQL in the services tier (DATABASE_URL), where multi-row inserts
go through COPY.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, models
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dayflow.models import Event, Task
from integrations.models import Connection, Credential
from sync import bulk
from sync.models import ItemLink, JournalEntry

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
# Characters that need quoting or escaping in SQL and in PostgreSQL's array literals.
AWKWARD = "quote' dquote\" back\\slash {brace}, comma NULL\nnewline \u00e9t\u00e9 \U0001f600"


def event_row(user, i: int, **extra) -> dict:
    start = dt.datetime(2026, 3, 20, 9, 30, tzinfo=PARIS) + dt.timedelta(hours=i)
    row = {
        "user_id": user.pk,
        "version": 1,
        "title": f"event {i}",
        "description": AWKWARD,
        "all_day": i % 2 == 0,
        "start": start,
        "end": None,
        "start_date": dt.date(2026, 3, 1 + i % 28),
        "end_date": None,
        "exdates": ["2026-04-05", AWKWARD],
        "series_id": None,
        "recurrence_id": "",
    }
    row.update(extra)
    return row


def journal_row(connection, i: int, **extra) -> dict:
    row = {
        "connection_id": connection.pk,
        "job_id": None,
        "link_id": None,
        "item_type": "task",
        "side": "local",
        "op": "create",
        "local_id": 10**12 + i,
        "remote_id": f"r{i}",
        "before": None,
        "after": {"title": f"t{i}", "tags": [AWKWARD, None, 1.5, True], "nested": {"a": []}},
        "version_after": str(i),
        "reason": "applied",
    }
    row.update(extra)
    return row


def test_rows_read_back_as_written_with_ids_in_order(user):
    rows = [event_row(user, i) for i in range(5)]

    ids = bulk.insert(Event, rows)

    assert len(ids) == 5
    assert ids == sorted(ids)
    for pk, row in zip(ids, rows, strict=True):
        event = Event.all_objects.get(pk=pk)
        for name, value in row.items():
            assert getattr(event, name) == value, name
    assert Event.all_objects.get(pk=ids[0]).start.utcoffset() is not None


def test_aware_datetimes_keep_their_instant_and_nulls_stay_null(user):
    # The hour that happens twice: Python never calls it equal to another zone's time.
    paris = dt.datetime(2026, 10, 25, 2, 30, tzinfo=PARIS)
    instant = paris.astimezone(dt.UTC)
    rows = [
        event_row(user, 0, start=paris, end=paris.astimezone(dt.UTC)),
        event_row(user, 1, start=None, start_date=None, title=""),
    ]

    first, second = bulk.insert(Event, rows)

    event = Event.all_objects.get(pk=first)
    assert event.start == instant
    assert event.end == instant
    empty = Event.all_objects.get(pk=second)
    assert (empty.start, empty.start_date, empty.end, empty.series_id) == (None,) * 4
    assert Event.all_objects.filter(pk=second, start__isnull=True, title="").exists()


def test_json_none_is_sql_null_and_values_round_trip(connection):
    rows = [journal_row(connection, 0), journal_row(connection, 1, after=[], before={})]

    first, second = bulk.insert(JournalEntry, rows)

    assert JournalEntry.objects.filter(pk=first, before__isnull=True).exists()
    assert JournalEntry.objects.get(pk=first).after == rows[0]["after"]
    assert JournalEntry.objects.filter(after__tags__0=AWKWARD).count() == 1
    entry = JournalEntry.objects.get(pk=second)
    assert (entry.before, entry.after) == ({}, [])


@pytest.mark.parametrize("count", [1, 3])
def test_left_out_columns_get_their_default_and_the_current_time(connection, user, count):
    tasks = [Task.objects.create(user=user, title=f"t{i}") for i in range(count)]
    before = timezone.now()

    ids = bulk.insert(
        ItemLink,
        [{"connection_id": connection.pk, "item_type": "task", "task_id": t.pk} for t in tasks],
    )

    for pk, task in zip(ids, tasks, strict=True):
        link = ItemLink.objects.get(pk=pk)
        assert (link.base, link.remote_id, link.local_version, link.last_error) == ({}, "", 0, "")
        assert (link.task_id, link.event_id) == (task.pk, None)
        assert before <= link.synced_at <= timezone.now()


def test_json_scalars_stay_apart_from_sql_null(connection):
    values = [None, "null", 0, False, "", [], {}, [None]]
    rows = [journal_row(connection, i, after=value) for i, value in enumerate(values)]

    ids = bulk.insert(JournalEntry, rows)

    assert [JournalEntry.objects.get(pk=pk).after for pk in ids] == values
    assert list(JournalEntry.objects.filter(after__isnull=True).values_list("pk", flat=True)) == [
        ids[0]
    ]


def test_batches_beyond_the_variable_limit_keep_every_row_and_the_order(connection):
    limit = db.features.max_query_params or 65535  # SQLite's 999; PostgreSQL's 65535
    count = 2 * limit // len(journal_row(connection, 0)) + 7

    ids = bulk.insert(JournalEntry, [journal_row(connection, i) for i in range(count)])

    assert len(set(ids)) == count
    stored = dict(JournalEntry.objects.values_list("pk", "remote_id"))
    assert [stored[pk] for pk in ids] == [f"r{i}" for i in range(count)]


@pytest.mark.django_db(transaction=True)
def test_batches_are_all_or_nothing(connection):
    count = 2 * (db.features.max_query_params or 65535) // len(journal_row(connection, 0))
    rows = [journal_row(connection, i) for i in range(count)]
    rows[-1]["connection_id"] = None  # NOT NULL: the last batch fails

    with pytest.raises(IntegrityError) as caught:
        bulk.insert(JournalEntry, rows)

    assert not JournalEntry.objects.exists()
    # and the error names the column, never the content of the row (PostgreSQL's COPY quotes it)
    assert "connection_id" in str(caught.value)
    assert "quote'" not in str(caught.value)
    assert "tags" not in str(caught.value)


def test_one_statement_per_batch(connection):
    rows = [journal_row(connection, i) for i in range(300)]
    columns = len(JournalEntry._meta.concrete_fields) - 1  # all but the id
    per_batch = (db.features.max_query_params or 65535) // columns
    expected = 1 if db.vendor == "postgresql" else -(-300 // per_batch)

    with CaptureQueriesContext(db) as queries:
        bulk.insert(JournalEntry, rows)

    assert len(queries) == expected


@pytest.mark.services
def test_postgresql_copies_many_rows_with_ids_from_the_sequence_and_one_row_by_values(
    connection,
):
    with CaptureQueriesContext(db) as queries:
        copied = bulk.insert(JournalEntry, [journal_row(connection, i) for i in range(3)])
        (single,) = bulk.insert(JournalEntry, [journal_row(connection, 3)])

    # ids drawn from the table's sequence (COPY itself is not an execute(): not captured)
    assert "nextval(pg_get_serial_sequence(" in queries[0]["sql"]
    assert "VALUES" in queries[1]["sql"]
    assert single > max(copied)  # the sequence moved past the copied ids
    stored = dict(JournalEntry.objects.values_list("pk", "remote_id"))
    assert [stored[pk] for pk in [*copied, single]] == ["r0", "r1", "r2", "r3"]
    assert JournalEntry.objects.filter(after__tags__0=AWKWARD).count() == 4
    # and a later ordinary save takes the next free id
    assert JournalEntry.objects.create(**journal_row(connection, 4)).pk > single


def test_custom_fields_are_prepared_by_their_own_field(connection, service, user):
    other = Connection.objects.create(user=user, service=service, external_account_id="b")
    rows = [
        {"connection_id": c.pk, "access_token": f"secret-{c.pk}", "scopes": ""}
        for c in (connection, other)
    ]

    ids = bulk.insert(Credential, rows)

    for pk, row in zip(ids, rows, strict=True):
        credential = Credential.objects.get(pk=pk)
        assert credential.access_token == row["access_token"]
        stored = _raw_column(Credential, "access_token", pk)  # ciphertext, as save() writes
        assert stored
        assert row["access_token"] not in stored


def test_plain_values_skip_preparation_and_other_types_do_not():
    class Shout(models.TextField):
        def get_prep_value(self, value):
            return value.upper()

    plain = bulk._preparer(models.TextField(), db)
    custom = bulk._preparer(Shout(), db)

    assert plain("abc") == "abc"
    assert custom("abc") == "ABC"
    assert bulk._preparer(models.IntegerField(), db)("7") == 7


def test_create_saves_instances_like_save_would(user):
    tasks = [Task(user=user, title=f"t{i}", due_date=dt.date(2026, 3, i + 1)) for i in range(3)]
    before = timezone.now()

    bulk.create(tasks)

    assert all(not task._state.adding and task.pk for task in tasks)
    for task in tasks:
        stored = Task.objects.get(pk=task.pk)
        assert (stored.title, stored.due_date, stored.version) == (task.title, task.due_date, 1)
        assert before <= stored.created_at <= timezone.now()
        assert stored.updated_at == task.updated_at


def test_create_refuses_saved_instances_and_insert_unknown_columns(user):
    task = Task.objects.create(user=user, title="saved")

    with pytest.raises(ValueError, match="saved already"):
        bulk.create([task])
    with pytest.raises(ValueError, match="no column nope"):
        bulk.insert(Task, [{"user_id": user.pk, "nope": 1}])


def test_nothing_to_insert_is_no_query():
    with CaptureQueriesContext(db) as queries:
        assert bulk.insert(Task, []) == []
        bulk.create([])

    assert len(queries) == 0


def _raw_column(model, column: str, pk: int) -> str:
    table = db.ops.quote_name(model._meta.db_table)
    with db.cursor() as cursor:
        cursor.execute(f"SELECT {db.ops.quote_name(column)} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    ("model", "values"),
    [
        (Task, {"version": 1, "title": "t", "due_date": dt.date(2026, 3, 1)}),
        (Event, {"version": 1, "title": "e", "exdates": ["2026-04-05"], "all_day": True}),
        (ItemLink, {"item_type": "event", "remote_id": "r1", "base": {"title": "e"}}),
        (JournalEntry, {"item_type": "task", "side": "local", "op": "create", "after": {}}),
    ],
)
def test_blank_makes_what_the_constructor_makes(model, values):
    made, expected = bulk.blank(model)(**values), model(**values)

    for field in model._meta.concrete_fields:
        assert getattr(made, field.attname) == getattr(expected, field.attname), field.attname
    assert made._state.adding
    assert made.pk is None


def test_blank_calls_a_callable_default_for_each_instance():
    first, second = bulk.blank(Event)(), bulk.blank(Event)()

    assert first.exdates == second.exdates == []
    assert first.exdates is not second.exdates  # not one list shared by every event
    with pytest.raises(KeyError):
        bulk.blank(Event)(user=None)  # by attname (user_id), as the rows read from the database


@pytest.mark.parametrize("value", [[], ["a"], {"a": []}, [AWKWARD]])
def test_json_reads_back_as_written_and_an_empty_one_is_prepared_once(user, value):
    rows = [event_row(user, i, exdates=value) for i in range(2)]

    ids = bulk.insert(Event, rows)

    assert [e.exdates for e in Event.objects.filter(pk__in=ids).order_by("pk")] == [value] * 2
    prepare = bulk._preparer(Event._meta.get_field("exdates"), db)
    assert (prepare(list(value)) is prepare(list(value))) == (not value)
