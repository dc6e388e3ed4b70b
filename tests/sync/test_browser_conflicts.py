"""A person finds a conflict in the inbox and settles it with a per-field merge on a phone, in
Chromium; both DayFlow and the (fake) service then hold the merge, and the next sync has
nothing to do (Django's live server in this process, so the engine talks to the fake service)."""

from __future__ import annotations

import pytest

from dayflow.models import Profile, Task
from sync.models import Conflict
from tests.browser import PHONE, assert_accessible, screenshot
from tests.sync.conftest import task_fields

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
DUE = "2026-03-05T08:00:00+00:00"
LATER = "2026-03-05T10:00:00+00:00"


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_settle_a_conflict_with_a_per_field_merge_on_a_phone(
    signed_in_page, live_server, connection, remote, run_sync, user
):
    # given a task renamed on both sides, prioritised in DayFlow and re-timed at the service
    Profile.objects.update_or_create(user=user, defaults={"timezone": "Europe/Berlin"})
    remote_id = remote.add(**task_fields("Report", notes="Draft", due=DUE))
    run_sync()
    task = Task.objects.get()
    task.title, task.notes, task.priority = "Write the report", "Outline first", 3
    task.save()
    remote.edit(remote_id, title="Report (draft)", notes="Send to Ana", due=LATER)
    run_sync()
    conflict = Conflict.objects.get(status="open")
    page = signed_in_page(user)

    # the inbox, grouped by connection, says what clashed in words
    page.goto(f"{live_server.url}/sync/conflicts/")
    row = page.locator("li.conflict-row")
    assert "Title and Notes changed on both sides" in row.inner_text()
    assert no_horizontal_scroll(page)
    screenshot(page, "conflicts-inbox-phone")
    assert_accessible(page)
    page.set_viewport_size(DESKTOP)
    screenshot(page, "conflicts-inbox-desktop")
    page.set_viewport_size(PHONE)

    # the conflict's page: clashes marked in words, one-side changes merged automatically
    page.click(f"a[href='/sync/conflicts/{conflict.pk}/']")
    page.wait_for_selector("h2:has-text('Field by field')")
    title = page.locator("#field-title")
    assert "Changed on both sides" in title.inner_text()
    assert "Merged automatically (from Todoist)" in page.locator("#field-due").inner_text()
    assert "Thu 5 Mar 2026, 11:00" in page.locator("#field-due").inner_text()  # Berlin
    assert "Merged automatically (from DayFlow)" in page.locator("#field-priority").inner_text()
    assert no_horizontal_scroll(page)
    screenshot(page, "conflict-detail-phone")
    assert_accessible(page)
    page.set_viewport_size(DESKTOP)
    screenshot(page, "conflict-detail-desktop")
    assert_accessible(page)
    page.set_viewport_size(PHONE)

    # when they keep the service's title and type their own notes, then merge
    title.get_by_label("Todoist's: Report (draft)").check()
    notes = page.locator("#field-notes")
    notes.get_by_label("Another value:").check()
    notes.get_by_label("Another value for notes").fill("Outline first, then send to Ana")
    page.click("button:has-text('Merge with my choices')")

    # then the inbox is empty and both sides hold the merge
    page.wait_for_selector("text=No conflicts: both sides agree.")
    screenshot(page, "conflicts-settled-phone")
    task.refresh_from_db()
    stored = remote.items[remote_id].fields
    merged = ("Report (draft)", "Outline first, then send to Ana", 3, LATER)
    assert (task.title, task.notes, task.priority, task.due_at.isoformat()) == merged
    assert (
        stored["title"],
        stored["notes"],
        stored["priority"],
        stored["due"].isoformat(),
    ) == merged
    writes = remote.writes()
    assert run_sync().conflicts == 0
    assert remote.writes() == writes
