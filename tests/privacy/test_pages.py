"""/account/data/: the exports list, asking for one, downloading it; deleting the account with
the password; the staff's erase action in the users admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditEvent
from privacy import tasks
from privacy.models import ErasureRequest, ExportRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch) -> dict[str, list]:
    messages: dict[str, list] = {"export": [], "erase": []}
    monkeypatch.setattr(
        tasks.build_export,
        "apply_async",
        lambda args, kwargs=None, **o: messages["export"].append(args[0]),
    )
    monkeypatch.setattr(
        tasks.erase_account,
        "apply_async",
        lambda args, kwargs=None, **o: messages["erase"].append(args[0]),
    )
    return messages


def test_the_profile_links_to_the_data_page(client, user):
    client.force_login(user)
    assert 'href="/account/data/"' in client.get("/profile/").content.decode()


def test_the_page_needs_a_login(client):
    assert client.get("/account/data/").status_code == 302


def test_asking_for_an_export_from_the_page_then_downloading_it(
    client, user, exports_in_tmp, sent, django_capture_on_commit_callbacks
):
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/account/data/exports/", follow=True)
    assert "Your export is being built" in answer.content.decode()
    (export_id,) = sent["export"]
    assert "waiting to start" in answer.content.decode()

    tasks.build_export(export_id)
    page = client.get("/account/data/").content.decode()
    assert f'href="/account/data/exports/{export_id}/download/"' in page

    download = client.get(f"/account/data/exports/{export_id}/download/")
    assert download.status_code == 200
    assert "no-store" in download["Cache-Control"]
    assert AuditEvent.objects.filter(actor=user, action="privacy.export_downloaded").count() == 1


def test_a_second_export_while_one_is_built_is_refused(client, user, exports_in_tmp, sent):
    client.force_login(user)
    client.post("/account/data/exports/")
    answer = client.post("/account/data/exports/", follow=True)
    assert "already being built" in answer.content.decode()
    assert ExportRequest.objects.count() == 1


def test_another_persons_download_is_not_found(client, user, other_user, exports_in_tmp):
    export = ExportRequest.objects.create(user=other_user)
    tasks.build_export(export.pk)
    client.force_login(user)
    assert client.get(f"/account/data/exports/{export.pk}/download/").status_code == 404


def test_the_list_costs_the_same_queries_for_many_exports(
    client, user, exports_in_tmp, django_assert_max_num_queries
):
    client.force_login(user)
    ExportRequest.objects.create(user=user, status="failed")
    with django_assert_max_num_queries(12) as few:
        client.get("/account/data/")
    for _ in range(15):
        ExportRequest.objects.create(user=user, status="expired")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/account/data/")


def test_a_wrong_password_deletes_nothing(client, user, sent):
    client.force_login(user)
    answer = client.post("/account/data/delete/", {"password": "not-it"})
    assert answer.status_code == 400
    assert "That is not your password." in answer.content.decode()
    user.refresh_from_db()
    assert user.is_active
    assert not ErasureRequest.objects.exists()
    assert sent["erase"] == []


def test_deleting_the_account_logs_out_and_starts_the_erasure(
    client, user, sent, django_capture_on_commit_callbacks
):
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/account/data/delete/", {"password": "pw-alice-123"})
    assert answer.status_code == 302
    assert answer["Location"] == "/account/data/deleted/"
    (erasure,) = ErasureRequest.objects.all()
    assert sent["erase"] == [erasure.pk]
    user.refresh_from_db()
    assert not user.is_active
    assert client.get("/account/data/").status_code == 302  # logged out
    assert "being deleted" in client.get("/account/data/deleted/").content.decode()


def test_staff_erase_accounts_from_the_users_admin(
    client, user, sent, django_capture_on_commit_callbacks
):
    staff = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            "/admin/auth/user/",
            {"action": "erase_accounts", "_selected_action": [user.pk, staff.pk]},
            follow=True,
        )
    assert answer.status_code == 200
    (erasure,) = ErasureRequest.objects.all()
    assert (erasure.user, erasure.by_staff) == (user, True)
    assert sent["erase"] == [erasure.pk]
    assert "You cannot erase your own account here." in answer.content.decode()
