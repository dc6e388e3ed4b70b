"""The audit trail is a hash chain: verify_audit finds a changed, removed or missing event,
rows are append-only from the app and the admin, and erasure anonymizes without breaking it."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
import time_machine
from django.contrib.admin import site
from django.core.management import CommandError, call_command
from django.db import connection as db
from django.db import connections, transaction
from django.test import RequestFactory

from audit import chain
from audit.hashing import seal
from audit.models import AuditAppendOnly, AuditChainHead, AuditEvent, AuditVerification
from audit.writer import record
from dayflow.signals import user_erasing

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 5, 4, 8, 30, tzinfo=dt.UTC)


def _request(user, ip: str = "203.0.113.7"):
    request = RequestFactory().post("/x", REMOTE_ADDR=ip, HTTP_USER_AGENT="Firefox/140")
    request.user = user
    return request


def _five_events(user) -> list[AuditEvent]:
    with time_machine.travel(T0, tick=True):
        return [
            record(f"test.step{n}", request=_request(user), details={"n": n, "note": "é"})
            for n in range(5)
        ]


def _raw(sql: str, *params) -> None:
    with db.cursor() as cursor:
        cursor.execute(sql, params)


def test_each_event_links_to_the_one_before_and_the_chain_verifies(user):
    events = _five_events(user)

    assert events[0].chain_hash == chain.link("", events[0].content_hash)
    for before, after in itertools.pairwise(events):
        assert after.chain_hash == chain.link(before.chain_hash, after.content_hash)
    head = AuditChainHead.objects.get()
    assert (head.last_event_id, head.chain_hash) == (events[-1].pk, events[-1].chain_hash)
    verdict = chain.verify()
    assert (verdict.ok, verdict.rows_checked, verdict.first_bad_id) == (True, 5, None)


def test_the_migration_seals_old_rows_as_the_writer_does(user):
    events = _five_events(user)

    rows = AuditEvent.objects.order_by("id").values("id", *chain.FIELDS)
    assert list(seal(rows)) == [(e.pk, e.content_hash, e.chain_hash) for e in events]


def test_an_ipv6_address_is_hashed_as_the_database_keeps_it(user):
    record("test.v6", request=_request(user, ip="2001:0db8:0000:0000:0000:0000:0000:0001"))

    assert chain.verify().ok
    assert AuditEvent.objects.get().ip_address == "2001:db8::1"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda pk: AuditEvent.objects.filter(pk=pk).update(details={"n": 99}),
        lambda pk: AuditEvent.objects.filter(pk=pk).update(success=False),
        lambda pk: _raw("UPDATE audit_auditevent SET action = 'test.nothing' WHERE id = %s", pk),
        lambda pk: _raw(
            "UPDATE audit_auditevent SET ip_address = '198.51.100.1' WHERE id = %s", pk
        ),
    ],
    ids=["details", "success", "action-raw-sql", "ip-raw-sql"],
)
def test_a_changed_event_is_reported_with_its_id(user, tamper):
    events = _five_events(user)
    tamper(events[2].pk)

    with pytest.raises(CommandError, match=f"broken at event {events[2].pk}") as failure:
        call_command("verify_audit")

    assert "do not match its content hash" in str(failure.value)
    last = AuditVerification.objects.get()
    assert (last.ok, last.first_bad_id, last.rows_checked) == (False, events[2].pk, 3)


def test_a_removed_middle_event_is_reported_at_the_next_one(user):
    events = _five_events(user)
    _raw("DELETE FROM audit_auditevent WHERE id = %s", events[2].pk)

    verdict = chain.verify()

    assert (verdict.ok, verdict.first_bad_id) == (False, events[3].pk)
    assert f"does not follow event {events[1].pk}" in verdict.problem


def test_removed_newest_events_are_reported_by_the_chain_head(user):
    events = _five_events(user)
    _raw("DELETE FROM audit_auditevent WHERE id >= %s", events[3].pk)

    verdict = chain.verify()

    assert (verdict.ok, verdict.first_bad_id) == (False, events[4].pk)
    assert f"ends at event {events[2].pk}" in verdict.problem


def test_rehashing_one_row_still_breaks_the_next_link(user):
    events = _five_events(user)
    AuditEvent.objects.filter(pk=events[1].pk).update(action="test.forged")
    forged = AuditEvent.objects.filter(pk=events[1].pk).values("id", *chain.FIELDS).get()
    AuditEvent.objects.filter(pk=events[1].pk).update(
        content_hash=chain.content_hash(forged),
        chain_hash=chain.link(events[0].chain_hash, chain.content_hash(forged)),
    )

    assert chain.verify().first_bad_id == events[2].pk


def test_verify_audit_says_intact_and_records_it(user):
    _five_events(user)

    with time_machine.travel(T0 + dt.timedelta(days=1), tick=False):
        call_command("verify_audit")

    last = AuditVerification.objects.get()
    assert (last.ok, last.rows_checked, last.checked_at) == (True, 5, T0 + dt.timedelta(days=1))


def test_an_empty_chain_verifies():
    assert chain.verify().ok


def test_events_cannot_be_changed_or_deleted_from_the_app(user):
    event = _five_events(user)[0]

    event.action = "test.other"
    with pytest.raises(AuditAppendOnly):
        event.save()
    with pytest.raises(AuditAppendOnly):
        event.delete()
    with pytest.raises(AuditAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AuditAppendOnly):
        AuditEvent.objects.bulk_create([AuditEvent(action="test.bulk")])

    assert AuditEvent.objects.count() == 5
    assert chain.verify().ok


def test_the_admin_shows_events_read_only(admin_client, admin_user, user):
    event = _five_events(user)[0]
    model_admin = site._registry[AuditEvent]
    request = RequestFactory().get("/")
    request.user = admin_user

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)
    assert admin_client.get(f"/admin/audit/auditevent/{event.pk}/change/").status_code == 200
    assert admin_client.post(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    response = admin_client.post(
        f"/admin/audit/auditevent/{event.pk}/change/", {"action": "test.edited"}
    )
    assert response.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "test.step0"


def test_erasing_a_person_anonymizes_their_events_and_the_chain_verifies(
    user, other_user, connection
):
    with time_machine.travel(T0, tick=True):
        record("auth.login", actor=user, request=_request(user), resource=f"user:{user.pk}")
        client = RequestFactory().post("/accounts/login/", REMOTE_ADDR="192.0.2.44")
        record("auth.login_failed", request=client, success=False, details={"username": "alice"})
        record("test.other", request=_request(other_user, ip="198.51.100.9"))
        record("connection.tested", request=_request(user), details={"nested": {"email": "a@x"}})
        record("sync.job.finished", connection=connection, details={"account": "alice@work"})
    label = str(connection)
    total = AuditEvent.objects.count()  # with the connection's own `connection.created`

    user_erasing.send(sender=None, user_id=user.pk)

    verdict = chain.verify()
    assert (verdict.ok, verdict.rows_checked, verdict.anonymized) == (True, total, total - 1)
    theirs = AuditEvent.objects.exclude(action="test.other")
    assert not theirs.filter(actor=user).exists()
    assert set(theirs.values_list("ip_address", flat=True)) == {None}
    assert set(theirs.values_list("user_agent", flat=True)) == {""}
    kept = str(list(theirs.values_list("resource", "details", "connection_label")))
    for personal in (f"user:{user.pk}", "alice", "a@x", label):
        assert personal not in kept
    other = AuditEvent.objects.get(action="test.other")
    assert (other.actor, other.ip_address, other.anonymized_at) == (
        other_user,
        "198.51.100.9",
        None,
    )
    assert chain.anonymize_user(user.pk) == 0  # a second run finds nothing left of theirs
    assert chain.verify().ok


def test_deleting_a_user_anywhere_keeps_the_chain_verifiable(user):
    _five_events(user)

    user.delete()

    verdict = chain.verify()
    assert (verdict.ok, verdict.anonymized) == (True, 5)
    assert set(AuditEvent.objects.values_list("actor", flat=True)) == {None}


def test_a_tampered_anonymized_event_still_breaks_its_link(user):
    events = _five_events(user)
    chain.anonymize_user(user.pk)
    AuditEvent.objects.filter(pk=events[1].pk).update(content_hash="0" * 64)

    assert chain.verify().first_bad_id == events[1].pk


def test_verification_runs_daily_on_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["audit-verify-chain"]
    assert (entry["task"], entry["schedule"]) == ("audit.verify_chain", 86400.0)


@pytest.mark.parametrize(
    ("written", "read_back"),
    [
        ({"n": 2.0}, {"n": 2}),
        ({"big": 1e20}, {"big": 100000000000000000000}),
        ({"t": (1,)}, {"t": [1]}),
    ],
)
def test_a_value_hashes_the_same_however_the_database_gives_it_back(user, written, read_back):
    event = {name: None for name in chain.FIELDS} | {"created_at": T0}

    assert chain.content_hash(event | {"details": written}) == chain.content_hash(
        event | {"details": read_back}
    )


# Threads need a real server: SQLite's shared in-memory test database locks whole tables.
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain():
    with transaction.atomic():
        AuditChainHead.locked()  # a transactional test starts from a flushed database
    start = threading.Barrier(4)

    def write(writer: int) -> None:
        try:
            start.wait()
            for n in range(25):
                record(f"test.writer{writer}", details={"n": n})
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    verdict = chain.verify()
    assert (verdict.ok, verdict.rows_checked) == (True, 100)
    assert AuditEvent.objects.values("chain_hash").distinct().count() == 100
