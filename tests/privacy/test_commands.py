"""The privacy commands: `export_user_data` queues or builds a person's export, `erase_account`
asks to confirm, then queues or runs the erasure. Both reuse what the pages use."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
import responses
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from dayflow.celery import app as celery_app
from dayflow.models import Task
from privacy.models import ErasureRequest, ExportRequest
from tests.privacy.conftest import GOOGLE_STOP, REVOKE

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch) -> list[tuple[str, tuple]]:
    """The Celery messages sent by name (the export and erasure tasks), run here when
    `run_them` is set: what a worker would do with them."""
    sent: list[tuple[str, tuple]] = []

    class Signature:
        def __init__(self, name: str, args: tuple) -> None:
            self.name, self.args = name, args

        def apply_async(self, **options: Any) -> None:
            sent.append((self.name, self.args))
            celery_app.tasks[self.name](*self.args)

    monkeypatch.setattr(celery_app, "signature", lambda name, args=(), **o: Signature(name, args))
    return sent


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- export_user_data -----------------------------------------------------------------------
def test_export_now_builds_the_archive_and_prints_its_path(
    user, exports_in_tmp, queued, django_capture_on_commit_callbacks
):
    Task.objects.create(user=user, title="Water the plants")

    with django_capture_on_commit_callbacks(execute=True):
        printed = run("export_user_data", "alice", "--now").strip()

    export = ExportRequest.objects.get(user=user)
    assert export.status == ExportRequest.Status.READY
    assert printed == export.file_path
    assert printed.startswith(str(exports_in_tmp))
    with zipfile.ZipFile(printed) as archive:
        assert "Water the plants" in archive.read("tasks.json").decode()
    # The message queued on commit reached a "worker", which found the export built.
    assert queued == [("privacy.build_export", (export.pk,))]
    export.refresh_from_db()
    assert export.file_path == printed


def test_export_without_now_is_queued_for_a_worker(
    user, exports_in_tmp, monkeypatch, django_capture_on_commit_callbacks
):
    sent: list = []
    monkeypatch.setattr(
        celery_app, "signature", lambda name, args=(), **o: sent.append((name, args)) or _Nothing()
    )

    with django_capture_on_commit_callbacks(execute=True):
        printed = run("export_user_data", "alice")

    export = ExportRequest.objects.get(user=user)
    assert printed == f"export {export.pk} queued: a worker builds it\n"
    assert export.status == ExportRequest.Status.PENDING
    assert sent == [("privacy.build_export", (export.pk,))]


class _Nothing:
    def apply_async(self, **options: Any) -> None:
        pass


def test_one_export_at_a_time(user, exports_in_tmp):
    ExportRequest.objects.create(user=user)

    with pytest.raises(CommandError, match="already being built"):
        run("export_user_data", "alice", "--now")

    assert ExportRequest.objects.count() == 1


@pytest.mark.parametrize("username", ["nobody", "x" * 151, ""])
def test_an_unknown_person_is_refused(user, username):
    with pytest.raises(CommandError):
        run("export_user_data", username)
    with pytest.raises(CommandError):
        run("erase_account", username, "--yes")

    assert ExportRequest.objects.count() == ErasureRequest.objects.count() == 0


# --- erase_account --------------------------------------------------------------------------
@pytest.fixture
def services():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for url in REVOKE.values():
            mock.post(url, body="")
        mock.post(GOOGLE_STOP, status=204)
        yield mock


def test_erase_now_revokes_the_grants_and_removes_the_person(
    holdings, services, queued, django_capture_on_commit_callbacks
):
    user_id = holdings.user.pk

    with django_capture_on_commit_callbacks(execute=True):
        printed = run("erase_account", "alice", "--yes", "--now")

    erasure = ErasureRequest.objects.get()
    assert erasure.status == ErasureRequest.Status.DONE
    assert erasure.by_staff
    assert printed.startswith(f"erasure {erasure.pk} done (")
    assert "grants_revoked: 3" in printed
    assert not get_user_model().objects.filter(pk=user_id).exists()
    assert not Task.all_objects.filter(user_id=user_id).exists()
    assert {call.request.url for call in services.calls} >= set(REVOKE.values())
    # The message queued on commit found the erasure done: nothing was called again.
    calls = len(services.calls)
    assert queued == [("privacy.erase_account", (erasure.pk,))]
    assert len(services.calls) == calls
    with pytest.raises(CommandError, match="no user named 'alice'"):
        run("erase_account", "alice", "--yes", "--now")


def test_erase_without_now_stops_the_sign_in_and_queues_it(
    user, monkeypatch, django_capture_on_commit_callbacks
):
    sent: list = []
    monkeypatch.setattr(
        celery_app, "signature", lambda name, args=(), **o: sent.append((name, args)) or _Nothing()
    )

    with django_capture_on_commit_callbacks(execute=True):
        printed = run("erase_account", "alice", "--yes")

    erasure = ErasureRequest.objects.get(user=user)
    user.refresh_from_db()
    assert printed == f"erasure {erasure.pk} queued: alice can no longer log in\n"
    assert erasure.status == ErasureRequest.Status.PENDING
    assert not user.is_active
    assert sent == [("privacy.erase_account", (erasure.pk,))]


def test_erase_asks_for_the_username_again(user, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "bob")

    with pytest.raises(CommandError, match="not confirmed"):
        run("erase_account", "alice")

    user.refresh_from_db()
    assert user.is_active
    assert not ErasureRequest.objects.exists()

    monkeypatch.setattr("builtins.input", lambda prompt: "alice")
    run("erase_account", "alice")
    assert ErasureRequest.objects.filter(user=user).exists()


def test_erase_with_nobody_to_answer_needs_yes(user, monkeypatch):
    def no_terminal(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", no_terminal)

    with pytest.raises(CommandError, match="give --yes"):
        run("erase_account", "alice")

    assert not ErasureRequest.objects.exists()
