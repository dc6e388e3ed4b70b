"""`/api/exports`: ask (202), follow, download; one at a time; another's is a 404; an expired
link is a 410 and its file goes."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
import time_machine
from rest_framework.test import APIClient

from dayflow.models import ApiToken
from privacy import tasks
from privacy.models import ExportRequest

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def script_of(user) -> APIClient:
    _, token = ApiToken.objects.create(user=user, expiry=None, name="script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def sent(monkeypatch) -> list:
    messages: list = []
    monkeypatch.setattr(
        tasks.build_export, "apply_async", lambda args, kwargs=None, **o: messages.append(args[0])
    )
    return messages


def test_an_export_is_asked_for_followed_and_downloaded(
    user, exports_in_tmp, sent, django_capture_on_commit_callbacks
):
    api = script_of(user)
    with time_machine.travel(T0, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            asked = api.post("/api/exports")
        assert asked.status_code == 202
        export_id = asked.json()["id"]
        assert asked.json()["status"] == "pending"
        assert asked.json()["download_url"] is None
        assert sent == [export_id]

        tasks.build_export(export_id)
        status = api.get(f"/api/exports/{export_id}").json()

    assert status["status"] == "ready"
    assert status["expires_at"] == "2026-03-09T09:00:00Z"
    assert status["download_url"] == f"http://testserver/api/exports/{export_id}/download"
    with time_machine.travel(T0 + dt.timedelta(days=1), tick=False):
        download = api.get(status["download_url"])
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert "tasks.json" in archive.namelist()
    assert [e["id"] for e in api.get("/api/exports").json()["results"]] == [export_id]


def test_one_export_at_a_time(user, exports_in_tmp, sent):
    api = script_of(user)
    assert api.post("/api/exports").status_code == 202
    refused = api.post("/api/exports")
    assert refused.status_code == 409
    assert ExportRequest.objects.count() == 1


def test_another_persons_export_is_not_found(user, other_user, exports_in_tmp, sent):
    mine = script_of(user).post("/api/exports").json()["id"]
    tasks.build_export(mine)
    theirs = script_of(other_user)
    assert theirs.get(f"/api/exports/{mine}").status_code == 404
    assert theirs.get(f"/api/exports/{mine}/download").status_code == 404


def test_an_expired_link_is_gone_and_so_is_its_file(user, exports_in_tmp, sent):
    api = script_of(user)
    with time_machine.travel(T0, tick=False):
        export_id = api.post("/api/exports").json()["id"]
        tasks.build_export(export_id)
    path = Path(ExportRequest.objects.get(pk=export_id).file_path)
    with time_machine.travel(T0 + dt.timedelta(days=7, seconds=1), tick=False):
        assert api.get(f"/api/exports/{export_id}").json()["download_url"] is None
        assert api.get(f"/api/exports/{export_id}/download").status_code == 410
    assert not path.exists()


def test_a_download_before_it_is_built_is_not_found(user, exports_in_tmp, sent):
    api = script_of(user)
    export_id = api.post("/api/exports").json()["id"]
    assert api.get(f"/api/exports/{export_id}/download").status_code == 404


def test_anonymous_is_refused():
    assert APIClient().post("/api/exports").status_code == 401


@pytest.mark.parametrize("body", [{"user": 2}, {"status": "ready"}, [1, 2]])
def test_a_body_is_refused_and_changes_nothing(user, exports_in_tmp, sent, body):
    answer = script_of(user).post("/api/exports", body, format="json")
    assert answer.status_code == 400
    assert not ExportRequest.objects.exists()
