"""A person under the "ask" policy finds two deletions waiting from the dashboard, restores one
and confirms the other on a phone, in Chromium; the (fake) service and DayFlow then hold what
they chose, and the next sync has nothing to do."""

from __future__ import annotations

import pytest

from dayflow.models import Task
from integrations.models import Connection
from sync.models import ItemLink
from tests.browser import PHONE, assert_accessible, screenshot
from tests.sync.conftest import task_fields

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_restore_one_deletion_and_confirm_another_on_a_phone(
    signed_in_page, live_server, connection, remote, run_sync, user
):
    # given two items deleted on one side each, under "ask"
    connection.deletion_policy = Connection.DeletionPolicy.ASK
    connection.save()
    venue = remote.add(**task_fields("Book the venue for the spring offsite"))
    notes = remote.add(**task_fields("Old meeting notes"))
    run_sync()
    remote.remove(venue)
    Task.objects.get(title="Old meeting notes").soft_delete()
    run_sync()
    page = signed_in_page(user)

    # the dashboard card says so and leads to the list
    page.goto(f"{live_server.url}/integrations/")
    page.click("text=2 deletions wait for you")
    page.wait_for_selector("h1:has-text('Deletions waiting')")
    rows = page.locator("li.deletion-row")
    assert rows.count() == 2
    assert "Deleted at Todoist" in rows.nth(1).inner_text() or "Deleted at Todoist" in (
        rows.nth(0).inner_text()
    )
    assert no_horizontal_scroll(page)
    screenshot(page, "deletions-phone")
    assert_accessible(page)
    page.set_viewport_size(DESKTOP)
    screenshot(page, "deletions-desktop")
    assert_accessible(page)
    page.set_viewport_size(PHONE)

    # when they restore the venue at Todoist
    venue_row = page.locator("li.deletion-row", has_text="Book the venue")
    venue_row.get_by_role("button", name="Restore").click()
    page.wait_for_selector("text=Restored 1.")
    assert page.locator("li.deletion-row").count() == 1
    screenshot(page, "deletions-one-left-phone")

    # and confirm the notes' deletion
    notes_row = page.locator("li.deletion-row", has_text="Old meeting notes")
    notes_row.get_by_role("button", name="Confirm").click()
    page.wait_for_selector("text=No deletions wait for you.")
    screenshot(page, "deletions-none-phone")
    assert_accessible(page)

    # the policy is chosen on the connection's settings page, in words
    page.goto(f"{live_server.url}/integrations/connections/{connection.pk}/settings/")
    policy = page.get_by_role("group", name="When an item is deleted on one side")
    assert policy.get_by_label("Ask me before deleting").is_checked()
    assert no_horizontal_scroll(page)
    screenshot(page, "deletion-policy-settings-phone")
    assert_accessible(page)

    # then the venue is at Todoist again, the notes are gone there, and nothing waits
    assert notes not in remote.items
    assert [s.fields["title"] for s in remote.items.values()] == [
        "Book the venue for the spring offsite"
    ]
    assert not ItemLink.objects.exclude(deletion_pending="").exists()
    writes = remote.writes()
    assert run_sync().processed == 0
    assert remote.writes() == writes
