"""A person reads their sync history in Chromium: the list and its charts, a filter, a job's
page with the items it changed; on a phone with no sideways scrolling, and on a desktop."""

from __future__ import annotations

import re

import pytest

from dayflow.models import Task
from sync.models import Conflict, ItemLink, SyncJob
from tests.browser import assert_accessible, screenshot
from tests.sync.conftest import task_fields

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}


def fits_the_width(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


@pytest.fixture
def synced(connection, remote, run_sync, user) -> SyncJob:
    """Two syncs that changed things both ways, and a failed one."""
    Task.objects.create(user=user, title="Write the report")
    remote.add(**task_fields("Buy a very long list of groceries for the whole family weekend"))
    first = run_sync(kind="full")
    task = Task.objects.get(title="Write the report")
    task.title = "Write the quarterly report"
    task.save()
    run_sync()
    SyncJob.objects.create(connection=connection, status="failed", error="worker lost")
    link = ItemLink.objects.filter(connection=connection).first()
    Conflict.objects.create(link=link, local={"title": "a"}, remote={"title": "b"})
    return first


def test_history_then_a_job_and_its_changed_items(signed_in_page, live_server, user, synced):
    page = signed_in_page(user)
    page.goto(f"{live_server.url}/")

    # given the navigation, the person opens their history
    page.click("nav >> text=History")
    page.wait_for_selector("h1:has-text('Sync history')")
    # the count is read out in words (the badge's digits are hidden from screen readers)
    assert page.get_by_role("link", name=re.compile(r"^Conflicts\s*, 1 open$")).count() == 1
    assert page.locator("ul.jobs li").count() == 3
    assert fits_the_width(page)
    screenshot(page, "history-phone")
    assert_accessible(page)

    # when they keep only the failed ones
    page.select_option("#filter-result", "failed")
    page.click("form.filters button")
    page.wait_for_url("**result=failed**")
    assert page.locator("ul.jobs li").count() == 1
    assert "It stopped" not in page.inner_text("ul.jobs")
    assert "Failed" in page.inner_text("ul.jobs")

    # and open the first sync from the whole list
    page.click("text=Show all")
    page.locator(f"a[href='/sync/jobs/{synced.pk}/']").click()

    # then its page says what it did and lists the items it changed, with their fields
    page.wait_for_selector("h2:has-text('Items it changed')")
    assert "Imported 1 task, sent 1 change to Todoist" in page.inner_text(".job-status")
    items = page.inner_text("ol.journal")
    assert "Write the report" in items
    assert "Buy a very long list of groceries" in items
    assert "Added in Todoist" in items
    assert "Added in DayFlow" in items
    assert fits_the_width(page)
    screenshot(page, "job-phone")
    assert_accessible(page)


def test_the_second_sync_shows_its_before_and_after(signed_in_page, live_server, user, synced):
    job = SyncJob.objects.filter(status="succeeded").order_by("-pk").first()
    page = signed_in_page(user)
    page.goto(f"{live_server.url}/sync/jobs/{job.pk}/")

    diff = page.inner_text("table.diff")
    assert "Write the report" in diff
    assert "Write the quarterly report" in diff
    assert fits_the_width(page)
    screenshot(page, "job-diff-phone")
    assert_accessible(page)


@pytest.mark.parametrize("path", ["/sync/jobs/", "job"])
def test_history_and_a_job_on_a_desktop(signed_in_page, live_server, user, synced, path):
    page = signed_in_page(user)
    page.set_viewport_size(DESKTOP)
    url = f"/sync/jobs/{synced.pk}/" if path == "job" else path
    page.goto(f"{live_server.url}{url}")

    assert fits_the_width(page)
    screenshot(page, "history-desktop" if path != "job" else "job-desktop")
    assert_accessible(page)


def test_a_failed_job_says_what_to_do_on_a_phone(signed_in_page, live_server, user, synced):
    job = SyncJob.objects.get(status="failed")
    page = signed_in_page(user)
    page.goto(f"{live_server.url}/sync/jobs/{job.pk}/")

    assert "Sync again" in page.inner_text(".problem")
    assert fits_the_width(page)
    screenshot(page, "job-failed-phone")
    assert_accessible(page)
