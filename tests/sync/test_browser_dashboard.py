"""A person follows a sync from the integrations dashboard in Chromium: Sync now on a card,
the card showing the job's phase and progress as the real engine moves, without the page
reloading; then Pause and Resume from the card, and the job read from the history. On a phone
with no sideways scrolling, and on a desktop."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from dayflow.models import Task
from sync import engine
from sync.models import SyncJob
from tests.browser import assert_accessible, screenshot
from tests.sync.conftest import task_fields
from tests.sync.fakes import FakeProvider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}


def fits_the_width(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


class Watched(FakeProvider):
    """The fake service, pausing the engine at a call while the test looks at the page."""

    hooks: dict[str, Callable[[], None]] = {}

    def _call(self, operation: str) -> None:
        hook = self.hooks.pop(operation, None)
        if hook is not None:
            hook()
        super()._call(operation)


@pytest.fixture
def watched(use_provider, remote):
    Watched.hooks = {}
    use_provider(lambda connection: Watched(connection, remote))
    yield Watched.hooks
    Watched.hooks = {}


def test_sync_now_from_a_card_follows_the_job_live_then_pause_resume_and_history(
    signed_in_page, live_server, user, connection, remote, watched, celery_sent
):
    # given a task in DayFlow and another at the service, both new
    Task.objects.create(user=user, title="Write the report")
    remote.add(**task_fields("Buy groceries for the weekend"))
    page = signed_in_page(user)
    page.goto(f"{live_server.url}/integrations/")
    card = f"#connection-{connection.pk}"
    assert "Never" in page.inner_text(card)
    page.evaluate("window.__marker = 1")

    # when the person clicks Sync now on the connection's card
    page.click(f"{card} button:has-text('Sync now')")

    # then the card, swapped in place, says the sync is waiting, and follows it
    page.wait_for_selector(f"{card} .card-note:has-text('started')")
    assert "Sync: Waiting to start" in page.inner_text(f"{card} .card-progress")
    assert page.locator(f"{card} progress").count() == 1
    assert page.evaluate("window.__marker") == 1
    assert len(celery_sent) == 1
    job = SyncJob.objects.get(connection=connection)

    # and as the engine runs the job (here, in the test: no worker), the card shows each
    # phase by itself
    seen = []

    def while_pulling() -> None:
        page.wait_for_selector(f"{card} label:has-text('Pulling changes from Todoist')")
        seen.append("pulling")

    def while_writing() -> None:
        page.wait_for_selector(f"{card} label:has-text('Writing to Todoist')")
        assert page.get_attribute(f"{card} progress", "max") == "2"
        screenshot(page, "dashboard-syncing-phone")
        seen.append("writing")

    watched["pull"] = while_pulling
    watched["create"] = while_writing
    engine.run_job(job.pk)
    assert seen == ["pulling", "writing"]

    # once it has ended the card says so, and stops asking
    page.wait_for_selector(f"{card} .result:has-text('Succeeded')")
    assert "Imported 1 task, sent 1 change to Todoist" in page.inner_text(card)
    assert "2 tasks" in page.inner_text(f"{card} .card-facts")
    assert page.locator(f"{card} progress").count() == 0
    assert page.get_attribute(card, "hx-trigger") is None
    assert page.evaluate("window.__marker") == 1  # never reloaded
    assert fits_the_width(page)
    screenshot(page, "dashboard-phone")
    assert_accessible(page)

    # when they pause it from the card, and resume it
    page.click(f"{card} button:has-text('Pause')")
    page.wait_for_selector(f"{card} .badge.paused")
    assert "None while paused" in page.inner_text(card)
    assert page.locator(f"{card} button:has-text('Sync now')").count() == 0
    assert_accessible(page)
    page.click(f"{card} button:has-text('Resume')")
    page.wait_for_selector(f"{card} .badge.connected")
    assert page.evaluate("window.__marker") == 1
    connection.refresh_from_db()
    assert connection.status == "connected"

    # and open the job from the connection's history
    page.click(f"{card} a:has-text('History')")
    page.wait_for_url(f"**/sync/jobs/?connection={connection.pk}")
    page.locator(f"a[href='/sync/jobs/{job.pk}/']").first.click()
    page.wait_for_selector("h2:has-text('Items it changed')")
    items = page.inner_text("ol.journal")
    assert "Write the report" in items
    assert "Buy groceries for the weekend" in items


def test_the_job_page_follows_a_running_job_without_reloading(
    signed_in_page, live_server, user, connection, remote, watched
):
    remote.add(**task_fields("Buy groceries for the weekend"))
    job = SyncJob.objects.create(connection=connection)
    page = signed_in_page(user)
    page.goto(f"{live_server.url}/sync/jobs/{job.pk}/")
    assert "Waiting to start" in page.inner_text(".job-status")
    page.evaluate("window.__marker = 1")

    def while_pulling() -> None:
        page.wait_for_selector("#job-live label:has-text('Pulling changes from Todoist')")

    watched["pull"] = while_pulling
    engine.run_job(job.pk)

    page.wait_for_selector(".job-status:has-text('Succeeded')")
    page.wait_for_selector("ol.journal:has-text('Buy groceries for the weekend')")
    assert page.evaluate("window.__marker") == 1
    assert page.get_attribute("#job-live", "hx-trigger") is None
    assert fits_the_width(page)
    assert_accessible(page)


def test_the_dashboard_on_a_desktop(signed_in_page, live_server, user, connection, run_sync):
    Task.objects.create(user=user, title="Write the report")
    run_sync(kind="full")
    SyncJob.objects.create(
        connection=connection, status="running", phase="writing_local", planned=40, processed=12
    )
    page = signed_in_page(user)
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/integrations/")

    assert "Writing to DayFlow" in page.inner_text(f"#connection-{connection.pk}")
    assert fits_the_width(page)
    screenshot(page, "dashboard-desktop")
    assert_accessible(page)


def test_a_card_says_how_soon_changes_arrived_on_a_phone(
    signed_in_page, live_server, user, connection
):
    # given syncs that a DayFlow edit and the service's webhook started, each taking 2 s
    for trigger in (SyncJob.Trigger.LOCAL, SyncJob.Trigger.WEBHOOK):
        job = SyncJob.objects.create(connection=connection, status="succeeded", trigger=trigger)
        SyncJob.objects.filter(pk=job.pk).update(
            finished_at=job.created_at + dt.timedelta(seconds=2)
        )
    page = signed_in_page(user)  # phone-sized

    page.goto(f"{live_server.url}/integrations/")

    said = page.inner_text(f"#connection-{connection.pk}")
    assert "Changes arrive" in said
    assert "DayFlow → Todoist: about 2.0 s" in said
    assert "Todoist → DayFlow: about 2.0 s" in said
    assert fits_the_width(page)
    assert_accessible(page)
    screenshot(page, "dashboard-lag-phone")
