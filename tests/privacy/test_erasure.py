"""Erasure: every grant revoked, every webhook subscription removed, nothing of the person left
in any table, a receipt sent; a second run changes nothing; a service down is retried."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import responses
from axes.models import AccessAttempt, AccessFailureLog
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core import mail
from django.db.models import CharField, JSONField, TextField

from dayflow.models import Event, Task
from dayflow.signals import user_erasing
from integrations.models import Connection
from privacy import tasks
from privacy.erasure import request_erasure
from privacy.models import ErasureRequest
from tests.privacy.conftest import GOOGLE_STOP, REVOKE

pytestmark = pytest.mark.django_db

# The audit app anonymizes its own events on `user_erasing` (its receiver is tested there).
# Audit events are anonymized in place by audit's receiver of `user_erasing` (the chain keeps
# their hashes, audit.chain.anonymize_user): what they keep is checked like any other row.
ANONYMIZED_ELSEWHERE: set[str] = set()


@pytest.fixture
def services():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for url in REVOKE.values():
            mock.post(url, body="")
        mock.post(GOOGLE_STOP, status=204)
        yield mock


@pytest.fixture
def erasing_signals():
    sent: list[dict[str, Any]] = []
    handler = lambda sender, **kw: sent.append(kw)  # noqa: E731
    user_erasing.connect(handler, weak=False, dispatch_uid="test-erasing")
    yield sent
    user_erasing.disconnect(dispatch_uid="test-erasing")


@pytest.fixture
def retries(monkeypatch) -> list:
    sent: list = []
    monkeypatch.setattr(
        tasks.erase_account, "apply_async", lambda args, countdown=None: sent.append(countdown)
    )
    return sent


def calls_to(mock, url: str) -> list:
    return [call for call in mock.calls if call.request.url == url]


def leftovers(holdings, user_id: int) -> list[str]:
    """Every row, in every table, that points at the person or one of their things, or holds
    their name, address or titles."""
    user_model = get_user_model()
    connection_ids = [c.pk for c in holdings.connections.values()]
    owned = {user_model: [user_id], Connection: connection_ids}
    owned[Task] = list(holdings.ids["tasks"])
    owned[Event] = list(holdings.ids["events"])
    words = re.compile(
        r"alice|Buy oat milk|Dentist|Groceries|Family dinners|Shopping project|203\.0\.113\.7"
    )
    found = []
    for model in apps.get_models():
        label = model._meta.label
        if label in ANONYMIZED_ELSEWHERE:
            continue
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model in owned:
                hits = model._base_manager.filter(**{f"{f.attname}__in": owned[f.related_model]})
                found += [f"{label}.{f.name}={row.pk}" for row in hits]
        texts = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, CharField | TextField | JSONField)
        ]
        for row in model._base_manager.values("pk", *texts):
            if words.search(json.dumps(row, default=str)):
                found.append(f"{label} {row['pk']} holds personal text")
    for session in Session.objects.all():
        if str(session.get_decoded().get("_auth_user_id")) == str(user_id):
            found.append(f"session {session.pk}")
    return found


def snapshot() -> dict[str, int]:
    return {m._meta.label: m._base_manager.count() for m in apps.get_models()}


def note_ids(holdings) -> None:
    user = holdings.user
    holdings.ids["tasks"] = list(Task.all_objects.filter(user=user).values_list("pk", flat=True))
    holdings.ids["events"] = list(Event.all_objects.filter(user=user).values_list("pk", flat=True))


def test_erasure_revokes_every_grant_and_leaves_nothing_of_the_person(
    holdings, services, erasing_signals, client
):
    client.force_login(holdings.user)
    note_ids(holdings)
    user_id = holdings.user.pk
    # The sign-in guard's own rows (django-axes) name the person and their address.
    seen = {"username": "alice", "ip_address": "203.0.113.7", "user_agent": "", "path_info": "/"}
    AccessAttempt.objects.create(**seen, get_data="", post_data="", failures_since_start=2)
    AccessFailureLog.objects.create(**seen)
    before = leftovers(holdings, user_id)  # the check finds what is there, field history too
    assert any(found.startswith("auditlog.LogEntry") for found in before)
    assert any(found.startswith("dayflow.Task.user") for found in before)
    for kind in ("dayflow.TaskList.user", "dayflow.Calendar.user", "sync.SyncLink.connection"):
        assert any(found.startswith(kind) for found in before), kind

    erasure = request_erasure(holdings.user)
    tasks.erase_account(erasure.pk)

    for key, url in REVOKE.items():
        (call,) = calls_to(services, url)
        body = call.request.body
        # Google revokes the refresh token (which ends the whole grant), the others the access one.
        assert f"-{key}-s3cr3t" in (body.decode() if isinstance(body, bytes) else body)
    assert len(calls_to(services, GOOGLE_STOP)) == 1  # the webhook channel stopped
    assert leftovers(holdings, user_id) == []
    assert erasing_signals == [{"signal": user_erasing, "user_id": user_id}]
    erasure.refresh_from_db()
    assert erasure.status == "done"
    assert erasure.user_id is None
    assert erasure.counts["grants_revoked"] == 3
    assert erasure.counts["connections_closed"] == 4
    assert erasure.counts["tasks"] == 2  # the soft-deleted one too
    assert erasure.counts["api_tokens"] == 1
    # Lists and calendars have steps of their own, not the user's cascade; the sync links went
    # with the connections' disconnect (a disconnected connection syncs no container).
    assert (erasure.counts["lists"], erasure.counts["calendars"]) == (1, 1)
    (receipt,) = mail.outbox
    assert receipt.to == ["alice@example.com"]
    assert "tasks: 2" in receipt.body
    assert not re.search(
        r"alice|oat milk", json.dumps(list(ErasureRequest.objects.values()), default=str)
    )

    before, calls = snapshot(), len(services.calls)
    tasks.erase_account(erasure.pk)
    request_again = ErasureRequest.objects.get(pk=erasure.pk)
    assert snapshot() == before
    assert len(services.calls) == calls
    assert len(mail.outbox) == 1
    assert request_again.steps_done == erasure.steps_done


def test_a_service_down_is_retried_later_and_the_rest_completes(
    holdings, services, retries, settings
):
    note_ids(holdings)
    services.replace(responses.POST, REVOKE["notion"], status=503)
    erasure = request_erasure(holdings.user)

    tasks.erase_account(erasure.pk)

    erasure.refresh_from_db()
    assert erasure.status == "waiting"
    assert erasure.attempts == 1
    closed = {f"connection:{c.pk}" for k, c in holdings.connections.items() if k != "notion"}
    assert closed <= set(erasure.steps_done)  # the other services were done in the same run
    assert f"connection:{holdings.connections['notion'].pk}" not in erasure.steps_done
    assert len(retries) == 1
    assert retries[0] >= settings.DAYFLOW_ERASURE_RETRY_SECONDS / 2
    assert get_user_model().objects.filter(pk=holdings.user.pk).exists()

    services.replace(responses.POST, REVOKE["notion"], body="")
    tasks.erase_account(erasure.pk)

    erasure.refresh_from_db()
    assert erasure.status == "done"
    assert len(calls_to(services, REVOKE["todoist"])) == 1  # a step done is not done again
    assert len(calls_to(services, REVOKE["notion"])) == 2
    assert erasure.counts["grants_revoked"] == 3
    assert leftovers(holdings, holdings.user.pk) == []


def test_a_service_that_never_answers_is_given_up_after_the_last_attempt(
    holdings, services, retries, settings
):
    settings.DAYFLOW_ERASURE_MAX_ATTEMPTS = 2
    services.replace(responses.POST, REVOKE["notion"], status=503)
    erasure = request_erasure(holdings.user)

    tasks.erase_account(erasure.pk)
    tasks.erase_account(erasure.pk)

    erasure.refresh_from_db()
    assert len(retries) == 1
    assert erasure.status == "done"
    assert erasure.counts["grants_not_confirmed"] == 1
    assert erasure.counts["grants_revoked"] == 2


def test_asking_twice_reuses_the_erasure_under_way(user):
    first = request_erasure(user)
    assert request_erasure(user).pk == first.pk
    user.refresh_from_db()
    assert not user.is_active


def test_a_grant_the_service_already_refused_is_not_waited_for(holdings, services, retries):
    notion = holdings.connections["notion"]
    notion.status = Connection.Status.NEEDS_REAUTH
    notion.save(update_fields=["status"])
    services.replace(responses.POST, REVOKE["notion"], status=400)
    erasure = request_erasure(holdings.user)

    tasks.erase_account(erasure.pk)

    erasure.refresh_from_db()
    assert retries == []
    assert erasure.status == "done"
    assert len(calls_to(services, REVOKE["notion"])) == 1  # tried once, by disconnect
    assert erasure.counts["grants_revoked"] == 2


def test_an_erasure_running_elsewhere_is_not_run_twice(holdings, services):
    from integrations import locks

    erasure = request_erasure(holdings.user)
    with locks.exclusive(f"privacy:erasure:{erasure.pk}", ttl=60, wait=0):
        tasks.erase_account(erasure.pk)

    erasure.refresh_from_db()
    assert erasure.status == "pending"
    assert len(services.calls) == 0


def test_an_erasure_nobody_touched_for_hours_is_sent_again(user, monkeypatch):
    import datetime as dt

    import time_machine

    sent: list = []
    monkeypatch.setattr(tasks.erase_account, "delay", sent.append)
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), tick=False):
        erasure = request_erasure(user)
    with time_machine.travel(dt.datetime(2026, 3, 1, 15, 59, tzinfo=dt.UTC), tick=False):
        assert tasks.resume_erasures() == 0
    with time_machine.travel(dt.datetime(2026, 3, 1, 16, 1, tzinfo=dt.UTC), tick=False):
        assert tasks.resume_erasures() == 1
    assert sent == [erasure.pk]
