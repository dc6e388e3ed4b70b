"""A person reads a first sync's preview on a phone, unticks nothing, keeps the service's values
for one "Same item?" pair, confirms them and gets no duplicate (Django's live server in this
process, the fake service)."""

from __future__ import annotations

import datetime as dt

import pytest

from dayflow.models import Task
from sync import engine
from sync.models import ItemLink, SyncJob
from tests.browser import assert_accessible, screenshot
from tests.sync.conftest import task_fields

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_confirming_same_items_on_a_phone(signed_in_page, live_server, remote, run_sync, user):
    # given DayFlow and the service both hold "Pay rent" and a long-titled task, and one more each
    long_title = "Renew the passport before the trip " + "and book the photo booth " * 6
    Task.objects.create(user=user, title="Pay rent", due_date=dt.date(2026, 3, 1))
    Task.objects.create(user=user, title=long_title.strip())
    Task.objects.create(user=user, title="Only in DayFlow")
    remote.add(**task_fields("pay rent", due=dt.date(2026, 3, 1)))
    remote.add(**task_fields(long_title.upper()))
    remote.add(**task_fields("Only at the service"))
    preview = run_sync(kind=SyncJob.Kind.FULL, dry_run=True)

    # when the person opens the preview on a phone
    page = signed_in_page(user)
    page.goto(f"{live_server.url}/sync/jobs/{preview.pk}/")

    # then both pairs are listed as "Same item?", ticked, and nothing scrolls sideways
    page.wait_for_selector("h3:has-text('Same item?')")
    boxes = page.locator("ul.same-items input[type=checkbox]")
    assert boxes.count() == 2
    assert all(boxes.nth(i).is_checked() for i in range(2))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "first-sync-same-items")
    assert_accessible(page)

    # when they keep the service's spelling for the long one alone, confirm, and the sync runs
    long_pair = page.locator("ul.same-items li", has_text="Renew the passport")
    long_pair.locator("select").select_option("service")
    page.click("form.matching-form button:has-text('Confirm and sync')")
    page.wait_for_selector("text=Linked 2 pair(s) as the same item")
    job = SyncJob.objects.get(dry_run=False)
    engine.run_job(job.pk)

    # then each side holds 4 items: the two pairs were linked, not copied
    assert Task.objects.count() == 4
    assert len(remote.items) == 4
    assert ItemLink.objects.count() == 4
    # and each pair kept the side chosen for it: the service's capitals, DayFlow's "Pay rent"
    titles = set(Task.objects.values_list("title", flat=True))
    assert long_title.upper() in titles
    assert "Pay rent" in titles
    assert "Pay rent" in {item.fields["title"] for item in remote.items.values()}
