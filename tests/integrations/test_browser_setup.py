"""Setting a connection up in Chromium: a person picks what to sync on the settings page at
phone width, and a CalDAV account connected against the real Radicale syncs by itself."""

from __future__ import annotations

import uuid

import pytest

from dayflow.models import Event
from integrations.models import Connection, Credential, Service
from integrations.providers.base import Container, ItemType
from integrations.providers.clickup.provider import ClickUpProvider
from sync import engine, jobs
from sync.models import SyncJob
from tests.browser import assert_accessible, screenshot
from tests.radicale import RadicaleCalendar, request
from tests.sync.test_e2e_caldav import ics

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TREE = [
    Container("w1", "Acme", "workspace"),
    Container("s1", "Engineering", "space", parent="w1"),
    Container("l1", "Sprint 12", "list", "s1", (ItemType.TASK,)),
    Container("l2", "Backlog with a rather long name to wrap", "list", "s1", (ItemType.TASK,)),
]


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_person_picks_clickup_lists_on_a_phone(signed_in_page, live_server, user, monkeypatch):
    # given a ClickUp account just connected, which needs a list
    monkeypatch.setattr(ClickUpProvider, "list_containers", lambda self: TREE)
    monkeypatch.setattr(jobs, "_send", lambda job_id, countdown: None)  # no broker here
    connection = Connection.objects.create(
        user=user, service=Service.objects.get(key="clickup"), external_account_id="a"
    )
    Credential.objects.create(connection=connection, access_token="t")
    page = signed_in_page(user)
    # when they open its settings, as connecting leads them there
    page.goto(f"{live_server.url}/integrations/connections/{connection.pk}/settings/?pick=1")
    assert "Needs setup: choose a ClickUp list" in page.inner_text("main")
    assert no_horizontal_scroll(page)
    screenshot(page, "settings-pick-phone")
    assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "settings-pick-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    # and tick two lists of the workspace (each its own sync link) and save
    page.check("input[name=collection][value=l1]")
    page.check("input[name=collection][value=l2]")
    page.click("form.settings-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/integrations/")
    # then it is set up, and its first sync is queued
    connection.refresh_from_db()
    assert connection.field_mapping == {"list_id": ["l1", "l2"], "team_id": "w1"}
    assert sorted(connection.sync_links.values_list("collection", flat=True)) == ["l1", "l2"]
    assert connection.setup_needed == ""
    assert SyncJob.objects.filter(connection=connection, kind="full", dry_run=False).exists()


def test_connecting_caldav_runs_the_first_sync_by_itself(
    signed_in_page, live_server, user, radicale_calendar: RadicaleCalendar, monkeypatch
):
    # given a CalDAV calendar with an event in it
    uid = f"other-{uuid.uuid4().hex[:8]}"
    status = request(
        radicale_calendar.account,
        "PUT",
        f"{radicale_calendar.url}{uid}.ics",
        ics(uid, "Dentist"),
        {"Content-Type": "text/calendar"},
    )
    assert status in (201, 204)
    sent: list[int] = []  # the first sync's message, kept for the "worker" below
    monkeypatch.setattr(jobs, "_send", lambda job_id, countdown: sent.append(job_id))
    page = signed_in_page(user)
    # when the person connects the account and presses nothing else
    page.goto(f"{live_server.url}/integrations/fastmail/connect/")
    page.fill("#id_server_url", radicale_calendar.server_url)
    page.fill("#id_username", radicale_calendar.username)
    page.fill("#id_password", radicale_calendar.password)
    # (the dashboard asks for its cards while the job runs: wait for the page, not "load")
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.click("main form button[type=submit]")
    assert page.url == f"{live_server.url}/integrations/", page.inner_text("main")[:600]
    assert "Its first sync has started." in page.inner_text("main")
    # then the first sync was queued with no click, and the worker's run of it brings the event
    job = SyncJob.objects.get(connection__user=user)
    assert sent == [job.pk]
    engine.run_job(job.pk)  # what the worker does with the queued message
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert (job.kind, job.dry_run, job.trigger) == ("full", False, "user")
    assert Event.objects.filter(user=user, title="Dentist").exists()
    page.goto(f"{live_server.url}/sync/jobs/{job.pk}/")
    assert "Dentist" in page.inner_text("main")
    screenshot(page, "first-sync-caldav")
