"""Export: every kind of row the person has is in the archive; no secret is."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pytest
import time_machine

from privacy.models import ExportRequest
from privacy.parts import PARTS, register
from privacy.tasks import build_export, remove_expired_exports

pytestmark = pytest.mark.django_db

EVERY_KIND = [
    "profile.json",
    "profile_settings.json",
    "email_preferences.json",
    "connections.json",
    "consents.json",
    "tasks.json",
    "events.json",
    "lists.json",
    "calendars.json",
    "sync_links.json",
    "links.json",
    "journal.json",
    "conflicts.json",
    "jobs.json",
    "audit_events.json",
    "notifications.json",
    "security_alerts.json",
    "api_tokens.json",
    "exports.json",
]


def built(user) -> ExportRequest:
    export = ExportRequest.objects.create(user=user)
    build_export(export.pk)
    export.refresh_from_db()
    return export


def members(path: str) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_archive_has_every_kind_of_row_and_no_secret(holdings, other_user):
    export = built(holdings.user)

    assert export.status == "ready"
    files = members(export.file_path)
    assert set(EVERY_KIND) <= set(files)
    rows = {name: json.loads(body) for name, body in files.items()}
    for name in EVERY_KIND:
        assert rows[name], f"{name} is empty"
    assert len(rows["connections.json"]) == 4
    assert len(rows["consents.json"]) == 4
    assert {t["title"] for t in rows["tasks.json"]} == {"Buy oat milk", "Old soft-deleted task"}
    assert rows["api_tokens.json"] == [
        {
            "id": rows["api_tokens.json"][0]["id"],
            "name": "my script",
            "created": rows["api_tokens.json"][0]["created"],
            "expiry": None,
            "last_used_at": None,
        }
    ]
    assert "password" not in rows["profile.json"][0]

    text = b"".join(files.values())
    for value in holdings.readable:  # the search finds what is there...
        assert value.encode() in text, value
    raw = Path(export.file_path).read_bytes()
    for secret in holdings.secrets:  # ...and no secret is, compressed or not
        assert secret.encode() not in text, secret
        assert secret.encode() not in raw, secret
    assert b"bob" not in text


def test_lists_calendars_and_sync_links_say_what_feeds_what(holdings):
    export = built(holdings.user)

    files = members(export.file_path)
    rows = {name: json.loads(body) for name, body in files.items()}
    (groceries,) = rows["lists.json"]
    (family,) = rows["calendars.json"]
    assert (groceries["name"], family["name"]) == ("Groceries", "Family dinners")
    (task,) = [t for t in rows["tasks.json"] if t["title"] == "Buy oat milk"]
    (event,) = rows["events.json"]
    assert (task["task_list_id"], event["calendar_id"]) == (groceries["id"], family["id"])
    by_connection = {row["connection_id"]: row for row in rows["sync_links.json"]}
    assert set(by_connection) == {
        holdings.connections[key].pk for key in ("todoist", "google-calendar", "fastmail")
    }
    todoist = by_connection[holdings.connections["todoist"].pk]
    assert {key: todoist[key] for key in ("item_type", "collection", "name")} == {
        "item_type": "task",
        "collection": "2203306141",
        "name": "Shopping project",
    }
    assert (todoist["task_list_id"], todoist["is_destination"]) == (groceries["id"], True)
    assert all(row["user_id"] == holdings.user.pk for row in rows["sync_links.json"])
    text = b"".join(files[name] for name in ("lists.json", "calendars.json", "sync_links.json"))
    for secret in holdings.secrets:
        assert secret.encode() not in text, secret


def test_the_file_is_private_and_not_under_a_served_directory(holdings, settings):
    export = built(holdings.user)

    path = Path(export.file_path)
    assert path.parent == settings.DAYFLOW_EXPORT_DIR
    assert not path.is_relative_to(Path(settings.STATIC_ROOT))
    assert path.stat().st_mode & 0o077 == 0


def test_exports_are_kept_under_var_dir_by_default():
    from django.conf import settings

    assert Path(settings.DAYFLOW_EXPORT_DIR) == Path(settings.VAR_DIR) / "exports"
    assert not Path(settings.DAYFLOW_EXPORT_DIR).is_relative_to(Path(settings.STATIC_ROOT))


def test_an_app_adds_a_part_through_the_registry(holdings):
    from dayflow.models import Task

    register("alerts.json", lambda user: Task.all_objects.filter(user=user, title="Dentist"))
    try:
        export = built(holdings.user)
    finally:
        del PARTS["alerts.json"]

    assert json.loads(members(export.file_path)["alerts.json"]) == []


def test_a_part_never_writes_a_secret_looking_field(holdings):
    from integrations.models import Credential

    register("credentials.json", lambda user: Credential.objects.filter(connection__user=user))
    try:
        export = built(holdings.user)
    finally:
        del PARTS["credentials.json"]

    body = members(export.file_path)["credentials.json"]
    assert b"REFRESH" not in body
    assert b"access_token" not in body
    assert b"app_password" not in body


def test_a_part_with_a_bad_file_name_is_refused():
    with pytest.raises(ValueError):
        register("../etc/passwd", lambda user: None)


def test_expired_exports_lose_their_file(holdings):
    with time_machine.travel(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), tick=False):
        export = built(holdings.user)
    with time_machine.travel(dt.datetime(2026, 3, 7, 23, tzinfo=dt.UTC), tick=False):
        assert remove_expired_exports() == 0
    assert Path(export.file_path).exists()
    with time_machine.travel(dt.datetime(2026, 3, 8, 1, tzinfo=dt.UTC), tick=False):
        assert remove_expired_exports() == 1
    assert not Path(export.file_path).exists()
    export.refresh_from_db()
    assert (export.status, export.file_path) == ("expired", "")


def test_a_task_for_a_gone_or_started_export_does_nothing(user, exports_in_tmp):
    build_export(999_999)
    export = ExportRequest.objects.create(user=user, status="running")
    build_export(export.pk)
    export.refresh_from_db()
    assert export.status == "running"
    assert not export.file_path


def test_the_archive_is_a_valid_zip(holdings):
    export = built(holdings.user)
    assert zipfile.ZipFile(io.BytesIO(Path(export.file_path).read_bytes())).testzip() is None


def test_an_export_stuck_building_is_failed_so_its_owner_can_ask_again(user, exports_in_tmp):
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), tick=False):
        stuck = ExportRequest.objects.create(user=user, status="running")
    with time_machine.travel(dt.datetime(2026, 3, 1, 14, tzinfo=dt.UTC), tick=False):
        remove_expired_exports()
        stuck.refresh_from_db()
        assert stuck.status == "running"
    with time_machine.travel(dt.datetime(2026, 3, 1, 15, 1, tzinfo=dt.UTC), tick=False):
        remove_expired_exports()
    stuck.refresh_from_db()
    assert stuck.status == "failed"
