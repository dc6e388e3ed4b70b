"""The page tour: every page a person can reach, signed in with synced data (connections, jobs,
a conflict, tasks, a weekly series) or signed out, at desktop and phone width. Each page is
screenshotted (var/screenshots/tour/<page>-<width>.png, kept as CI artifacts), passes axe, and
fits a phone without sideways scrolling.

A new page is one line in `TOUR`; `test_the_tour_visits_every_page` fails until it is there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from dayflow.models import Event, Profile, Task, TaskList
from integrations.models import Connection, Service
from sync import engine
from sync.models import Conflict, ItemLink, SyncJob
from tests.browser import PHONE, assert_accessible
from tests.sync.conftest import task_fields
from tests.sync.fakes import FakeProvider, FakeService

DESKTOP = {"width": 1280, "height": 900}
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}
NOW = dt.datetime(2026, 3, 23, 9, 30, tzinfo=dt.UTC)  # a Monday, 10:30 in Berlin


@dataclasses.dataclass(frozen=True)
class Stop:
    """One page of the tour: its URL name (what the coverage check counts), the path with the
    seeded objects' ids in {braces}, and words the page shows (so a redirect is noticed)."""

    name: str
    route: str
    path: str
    shows: str
    signed_in: bool = True


TOUR = [
    # Signed out first: each width's browser signs in after these.
    Stop("login", "login", "/accounts/login/", "Log in to DayFlow", signed_in=False),
    Stop(
        "password-reset",
        "password_reset",
        "/accounts/password_reset/",
        "Forgot your password?",
        signed_in=False,
    ),
    Stop(
        "password-reset-done",
        "password_reset_done",
        "/accounts/password_reset/done/",
        "Check your email",
        signed_in=False,
    ),
    Stop(
        "password-reset-confirm",
        "password_reset_confirm",
        "/accounts/reset/{uid}/{token}/",
        "Choose a new password",
        signed_in=False,
    ),
    Stop(
        "password-reset-expired",
        "password_reset_confirm",
        "/accounts/reset/{uid}/0-0/",
        "This link no longer works",
        signed_in=False,
    ),
    Stop(
        "password-reset-complete",
        "password_reset_complete",
        "/accounts/reset/done/",
        "Password set",
        signed_in=False,
    ),
    Stop("account-deleted", "privacy:erased", "/account/data/deleted/", "being deleted", False),
    # Signed in.
    Stop("today", "home", "/", "Due today"),
    Stop("tasks", "task-list", "/tasks/", "Pay the rent"),
    Stop("task-new", "task-new", "/tasks/new/", "New task"),
    Stop("task-edit", "task-edit", "/tasks/{task}/edit/", "Pay the rent"),
    Stop("task-delete", "task-delete", "/tasks/{task}/delete/", "Pay the rent"),
    Stop("events", "event-list", "/events/", "Standup"),
    Stop("event-new", "event-new", "/events/new/", "New event"),
    Stop("event-detail", "event-detail", "/events/{series}/", "Every week"),
    Stop("event-edit", "event-edit", "/events/{series}/edit/", "Standup"),
    Stop("event-delete", "event-delete", "/events/{series}/delete/", "Standup"),
    Stop("occurrence-edit", "occurrence-edit", "/events/{series}/occurrence/?at={at}", "Standup"),
    Stop("occurrence-skip", "occurrence-skip", "/events/{series}/occurrence/skip/?at={at}", "Skip"),
    Stop("integrations", "integrations:index", "/integrations/", "Todoist"),
    Stop(
        "connection-settings",
        "integrations:settings",
        "/integrations/connections/{todoist}/settings/",
        "Todoist",
    ),
    Stop(
        "disconnect",
        "integrations:disconnect",
        "/integrations/connections/{todoist}/disconnect/",
        "Disconnect",
    ),
    Stop("caldav-connect", "integrations:connect", "/integrations/fastmail/connect/", "Fastmail"),
    Stop("lists", "sync:lists", "/sync/lists/", "New tasks go to Todoist"),
    Stop("list-delete", "sync:list-delete", "/sync/lists/list/{home}/delete/", "move to Inbox"),
    Stop("link-settings", "sync:link-settings", "/sync/links/{link}/settings/", "Which items sync"),
    Stop("sync-history", "sync:jobs", "/sync/jobs/", "Todoist"),
    Stop("job", "sync:job", "/sync/jobs/{job}/", "Todoist"),
    Stop(
        "deletions",
        "sync:deletions",
        "/sync/connections/{todoist}/deletions/",
        "Deletions waiting",
    ),
    Stop("conflicts", "sync:conflicts", "/sync/conflicts/", "Todoist"),
    Stop("conflict", "sync:conflict", "/sync/conflicts/{conflict}/", "mine"),
    Stop("activity", "activity", "/activity/", "Todoist"),
    Stop("notifications", "notifications:list", "/notifications/", "Todoist"),
    Stop("notification-emails", "notifications:settings", "/notifications/settings/", "email"),
    Stop("profile", "profile", "/profile/", "Change your password"),
    Stop("api-tokens", "api-tokens", "/account/tokens/", "Make a token"),
    Stop("your-data", "privacy:data", "/account/data/", "Download your data"),
    Stop(
        "password-change", "password_change", "/accounts/password_change/", "Change your password"
    ),
    Stop(
        "password-change-done",
        "password_change_done",
        "/accounts/password_change/done/",
        "Password changed",
    ),
]

# What is not a page a person reads, or not ours to check: actions a form posts to (each
# redirects to a page above), the OAuth callback, the API and its docs (Swagger UI's own
# page), the admin, the emulated services, webhooks, health and the icon. Log out is visited at
# the end of each width (a POST: its page is the answer).
NOT_PAGES = {
    *("task-complete", "revoke-api-token", "logout", "favicon", "healthz", "metrics"),
    "api-schema",
    *("api-docs", "integrations:callback", "integrations:reconnect", "integrations:pause"),
    *("integrations:resume", "sync:start", "sync:job-control", "sync:conflict-resolve"),
    "sync:conflicts-bulk",
    "sync:deletions-settle",  # POST only: confirms or restores, then back to the list
    # POST only: rename a list, choose its destination, the settings page's link form
    *("sync:list-rename", "sync:list-destination", "sync:link"),
    *("integrations:card", "sync:job-live"),  # htmx parts of the dashboard and the job page
    "integrations:rules-preview",  # htmx part of the settings page (a POST)
    "sync:link-rules-preview",  # htmx part of a sync link's settings page (a POST)
    *("privacy:export-new", "privacy:export-download", "privacy:delete-account"),
    *(
        "notifications:read",
        "notifications:read-all",
    ),  # POST only  # POST only: settles the ticked conflicts, then back to the inbox
}
NOT_PAGE_PREFIXES = ("admin", "sandbox", "webhooks", "api/")


def _routes(patterns, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    """(path prefix, qualified URL name) of every named route."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            space = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern), space)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield prefix + str(pattern.pattern), namespace + pattern.name


def test_the_tour_visits_every_page():
    pages = {
        name
        for path, name in _routes(get_resolver().url_patterns)
        if not path.lstrip("^").startswith(NOT_PAGE_PREFIXES) and name not in NOT_PAGES
    }

    assert pages - {stop.route for stop in TOUR} == set(), "add these pages to TOUR"
    assert {stop.route for stop in TOUR} - pages == set(), "these routes are gone"


# --- the tour ----------------------------------------------------------------------------
@pytest.fixture
def seeded(user, connection, use_provider) -> dict[str, str]:
    """A person with a Todoist connection synced twice both ways (a job with changes, a
    conflict left to them), a paused Fastmail connection, tasks and a weekly series."""
    service = FakeService()
    use_provider(lambda conn: FakeProvider(conn, service))
    with time_machine.travel(NOW - dt.timedelta(hours=2), tick=True):
        return _seed(user, connection, service)


def _seed(user, connection, service) -> dict[str, str]:

    def sync() -> SyncJob:
        job = SyncJob.objects.create(connection=connection, kind=SyncJob.Kind.INCREMENTAL)
        engine.run_job(job.pk)
        return job

    Profile.objects.create(user=user, timezone="Europe/Berlin")
    remote_id = service.add(**task_fields("Call the plumber about the kitchen sink"))
    home = TaskList.objects.create(user=user, name="Home")
    task = Task.objects.create(
        user=user, title="Pay the rent", due_date=NOW.date(), priority=3, task_list=home
    )
    series = Event.objects.create(
        user=user,
        title="Standup",
        start=dt.datetime(2026, 3, 16, 8, tzinfo=dt.UTC),
        end=dt.datetime(2026, 3, 16, 8, 15, tzinfo=dt.UTC),
        timezone="Europe/Berlin",
        rrule="FREQ=WEEKLY;BYDAY=MO,WE",
        location="Room 4",
    )
    job = sync()
    plumber = Task.objects.get(title__startswith="Call the plumber")
    plumber.title = "mine"
    plumber.save()
    service.edit(remote_id, title="theirs")
    sync()
    ItemLink.objects.filter(task=task).update(web_url="https://app.todoist.com/app/task/1")
    Connection.objects.create(
        user=user,
        service=Service.objects.get(key="fastmail"),
        external_account_id="alice@fastmail.com",
        label="alice@fastmail.com",
        status=Connection.Status.PAUSED,
    )
    return {
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
        "task": str(task.pk),
        "series": str(series.pk),
        "at": "2026-03-25T09:00:00%2B01:00",  # Wed 25 Mar, 09:00 in Berlin
        "todoist": str(connection.pk),
        "link": str(connection.sync_links.get().pk),
        "home": str(home.pk),
        "job": str(job.pk),
        "conflict": str(Conflict.objects.get(status=Conflict.Status.OPEN).pk),
    }


def _sign_in(context, user, url: str) -> None:
    client = Client()
    client.force_login(user)  # a session of its own: logging out ends only this one
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": url}])


def _visit(page, url: str, stop: Stop, width: str) -> list[str]:
    """What is wrong with the page (nothing, if it passes)."""
    answer = page.goto(url)
    problems = []
    if answer is None or answer.status != 200:
        problems.append(f"answered {answer and answer.status}")
    if stop.shows not in page.inner_text("body"):
        problems.append(f"does not show {stop.shows!r} (at {page.url})")
    folder = Path(settings.VAR_DIR) / "screenshots" / "tour"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{stop.name}-{width}.png"), full_page=True)
    if width == "phone":
        sizes = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if sizes[0] > sizes[1]:
            problems.append(f"scrolls sideways at {sizes[1]} px: {sizes[0]} px wide")
    try:
        assert_accessible(page)
    except AssertionError as failure:
        problems.append(str(failure))
    return problems


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_is_accessible_and_fits(browser, live_server, user, seeded, width):
    problems: dict[str, list[str]] = {}
    with time_machine.travel(NOW, tick=True):
        context = browser.new_context(viewport=WIDTHS[width])
        page = context.new_page()
        signed_in = False
        for stop in TOUR:
            if stop.signed_in and not signed_in:
                _sign_in(context, user, live_server.url)
                signed_in = True
            url = live_server.url + stop.path.format(**seeded)
            problems[stop.name] = _visit(page, url, stop, width)
        context.close()

    failing = {name: found for name, found in problems.items() if found}
    assert not failing, "\n\n".join(
        f"{name}:\n" + "\n".join(found) for name, found in failing.items()
    )
