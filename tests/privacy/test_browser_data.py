"""In Chromium at phone width: a person asks for an export of their data, it is built, they
download it; then they delete their account and land on the page saying it is under way."""

from __future__ import annotations

import zipfile

import pytest

from privacy import tasks
from privacy.models import ErasureRequest, ExportRequest
from tests.browser import assert_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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


def test_export_download_then_delete_the_account(
    signed_in_page, live_server, user, sent, exports_in_tmp, tmp_path
):
    from dayflow.models import Task

    Task.objects.create(user=user, title="Water the plants")
    page = signed_in_page(user)
    page.goto(f"{live_server.url}/profile/")
    page.get_by_role("link", name="Your data").click()
    page.get_by_role("button", name="Request an export").click()

    assert page.get_by_text("Your export is being built").is_visible()
    assert page.get_by_text("waiting to start").is_visible()
    assert_accessible(page)
    screenshot(page, "your-data-export-asked-phone")

    (export_id,) = sent["export"]
    tasks.build_export(export_id)
    page.reload()
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download").click()
    saved = tmp_path / "export.zip"
    waiting.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert b"Water the plants" in archive.read("tasks.json")
    assert_accessible(page)
    screenshot(page, "your-data-export-ready-phone")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_label("Your password").fill("wrong")
    page.get_by_role("button", name="Delete my account").click()
    assert page.get_by_text("That is not your password.").is_visible()
    assert_accessible(page)
    page.get_by_label("Your password").fill("pw-alice-123")
    page.get_by_role("button", name="Delete my account").click()

    page.wait_for_url(f"{live_server.url}/account/data/deleted/")
    assert page.get_by_role("heading", name="Your account is being deleted").is_visible()
    assert_accessible(page)
    screenshot(page, "your-data-account-deleted-phone")
    (erasure,) = ErasureRequest.objects.all()
    assert sent["erase"] == [erasure.pk]
    assert ExportRequest.objects.get(pk=export_id).status == "ready"
    page.goto(f"{live_server.url}/account/data/")
    assert "/accounts/login/" in page.url  # logged out
