"""A person undoes a sync on its page in Chromium, sees what it left unsynced, and sends it
again (Django's live server in this process, so the engine talks to the fake service)."""

from __future__ import annotations

import pytest

from dayflow.models import Task
from sync.models import ItemLink
from tests.browser import assert_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_undo_then_send_again_from_the_job_page(
    signed_in_page, live_server, connection, remote, run_sync, user
):
    # given a sync that pushed two DayFlow tasks to the service
    Task.objects.create(user=user, title="Write the report")
    Task.objects.create(user=user, title="Call the dentist")
    job = run_sync()
    page = signed_in_page(user)
    page.goto(f"{live_server.url}/sync/jobs/{job.pk}/")
    assert "Added in Todoist\n2" in page.inner_text("dl.counters")  # words, not field names

    # when the person undoes it
    page.click("button:has-text('Undo this sync')")

    # then the page lists both tasks as not synced, and the service no longer has them
    page.wait_for_selector("h2:has-text('Not synced (undone)')")
    listed = page.inner_text("ul.undone")
    assert "Write the report" in listed
    assert "Call the dentist" in listed
    assert remote.items == {}
    screenshot(page, "job-undone")
    assert_accessible(page)

    # when they send them again
    page.click("button:has-text('Send these again')")

    # then the service has both again, and the page no longer lists anything as apart
    page.wait_for_selector("text=Sent again 2")
    assert page.locator("ul.undone").count() == 0
    assert sorted(item.fields["title"] for item in remote.items.values()) == [
        "Call the dentist",
        "Write the report",
    ]
    assert not ItemLink.objects.filter(undone_at__isnull=False).exists()
    screenshot(page, "job-sent-again")
    assert_accessible(page)
