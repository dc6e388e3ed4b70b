"""Matching at first sync over real HTTP, against the sandbox's Linear and Google Calendar
emulators: DayFlow already holds items, so the first sync is a preview offering the "Same
item?" pairs; confirming them links them, and the real sync that follows makes no duplicate."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dayflow.models import Event, Task
from integrations.models import Connection, Service
from integrations.providers.google_calendar.provider import GoogleCalendarProvider
from integrations.providers.linear.provider import LinearProvider
from integrations.sandbox.google_calendar import CALENDAR, EVENT, insert_event
from integrations.sandbox.linear import ISSUE, issue_create
from integrations.sandbox.models import Item
from sync import engine, matching, services
from sync.models import ItemLink, SyncJob
from tests.sandbox.conftest import account, challenge
from tests.sandbox.test_linear import PKCE
from tests.sandbox.test_where_items_go import client

pytestmark = pytest.mark.django_db(transaction=True)

BERLIN = ZoneInfo("Europe/Berlin")


def run(job: SyncJob) -> SyncJob:
    job.refresh_from_db()
    assert job.status == SyncJob.Status.QUEUED  # kept by `celery_sent`: run here, once
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == SyncJob.Status.SUCCEEDED, job.error
    return job


def first_sync_preview(connection: Connection) -> SyncJob:
    """The connection's first sync: with DayFlow holding items, a full dry run."""
    job = services.first_sync(connection.pk)
    assert job is not None
    assert (job.dry_run, job.kind) == (True, SyncJob.Kind.FULL)
    return run(job)


def offered(job: SyncJob) -> list[tuple[str, str]]:
    return sorted((p["local_title"], p["remote_title"]) for p in job.report["matching"]["pairs"])


def confirm_all(preview: SyncJob, base_from: str) -> SyncJob:
    """Confirm every offered pair, keeping `base_from`'s values; the queued real job, run."""
    keys = [matching.pair_key(p) for p in preview.report["matching"]["pairs"]]
    new_job, linked = services.confirm_preview(preview, keys, base_from)
    assert (linked.linked, linked.skipped) == (2, 0)
    assert (new_job.dry_run, new_job.kind) == (False, SyncJob.Kind.FULL)
    return run(new_job)


def unchanged(job: SyncJob) -> tuple[int, ...]:
    return (
        job.local_created,
        job.local_updated,
        job.local_deleted,
        job.remote_created,
        job.remote_updated,
        job.remote_deleted,
    )


# --- Linear (tasks) ---------------------------------------------------------------------------
@pytest.fixture
def linear(live_server, register, connect, user, use_provider, monkeypatch, celery_sent):
    """A Linear connection to the Engineering team, whose seeded issues are gone: an empty team."""
    token = connect("linear", register("linear"), "oauth/token", **PKCE)["access_token"]
    monkeypatch.setattr(LinearProvider, "api_base", f"{live_server.url}/sandbox/linear/graphql")
    team = Item.objects.get(kind="team", data__key="ENG").remote_id
    Item.objects.filter(kind=ISSUE).delete()
    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="linear"),
        external_account_id="linear-work",
        field_mapping={"team_id": team, "write_id_marker": True},
    )
    http = client("linear", token)
    use_provider(lambda c: LinearProvider(c, http=http))
    yield connection, team
    http.session.close()


def issues_at(team: str) -> dict[str, dict]:
    """The team's live issues at the emulated Linear, by id."""
    items = Item.objects.filter(kind=ISSUE, container=team, deleted=False)
    return {item.remote_id: item.data for item in items}


def test_linear_the_same_tasks_are_linked_not_copied(linear, user):
    connection, team = linear
    # given two tasks on both sides (one respelled, one with another description), one more each
    owner = account("linear")
    milk = issue_create(owner, {"teamId": team, "title": "Buy milk"})["issue"]["id"]
    passport = issue_create(
        owner, {"teamId": team, "title": "Renew passport", "description": "at the town hall"}
    )["issue"]["id"]
    issue_create(owner, {"teamId": team, "title": "Only in Linear"})
    Task.objects.create(user=user, title="buy  MILK")
    Task.objects.create(user=user, title="Renew passport", notes="online")
    Task.objects.create(user=user, title="Only in DayFlow")

    # when the first sync's preview runs
    preview = first_sync_preview(connection)

    # then it offers exactly the two pairs and wrote nothing anywhere
    assert offered(preview) == [("Renew passport", "Renew passport"), ("buy  MILK", "Buy milk")]
    assert sorted(p["remote_id"] for p in preview.report["matching"]["pairs"]) == sorted(
        [milk, passport]
    )
    assert len(issues_at(team)) == 3
    assert Task.objects.count() == 3
    assert not ItemLink.objects.exists()

    # when the person confirms both, keeping Linear's values, and the real sync runs
    confirm_all(preview, "service")

    # then each side holds 4 tasks (2 linked + 1 from each side), the pairs with Linear's values
    at_linear = issues_at(team)
    assert sorted(issue["title"] for issue in at_linear.values()) == [
        "Buy milk",
        "Only in DayFlow",
        "Only in Linear",
        "Renew passport",
    ]
    assert sorted(Task.objects.values_list("title", flat=True)) == sorted(
        issue["title"] for issue in at_linear.values()
    )
    assert Task.objects.get(title="Renew passport").notes == "at the town hall"
    assert at_linear[passport]["description"].startswith("at the town hall")
    assert "online" not in at_linear[passport]["description"]
    assert ItemLink.objects.get(remote_id=milk).task.title == "Buy milk"

    # and a further sync changes nothing
    issues = {k: v["updatedAt"] for k, v in issues_at(team).items()}
    versions = sorted(Task.objects.values_list("version", flat=True))
    again = run(SyncJob.objects.create(connection=connection, kind=SyncJob.Kind.FULL))
    assert unchanged(again) == (0, 0, 0, 0, 0, 0)
    assert {k: v["updatedAt"] for k, v in issues_at(team).items()} == issues
    assert sorted(Task.objects.values_list("version", flat=True)) == versions


# --- Google Calendar (events) -----------------------------------------------------------------
@pytest.fixture
def google(live_server, register, connect, user, use_provider, monkeypatch, celery_sent):
    """A Google connection to the primary calendar, whose seeded events are gone: empty."""
    tokens = connect(
        "google-calendar",
        register("google-calendar"),
        "token",
        code_challenge=challenge(),
        code_challenge_method="S256",
    )
    base = f"{live_server.url}/sandbox/google-calendar/calendar/v3"
    monkeypatch.setattr(GoogleCalendarProvider, "api_base", base)
    primary = next(c for c in Item.objects.filter(kind=CALENDAR) if c.data.get("primary"))
    Item.objects.filter(kind=EVENT).delete()
    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="google-calendar"),
        external_account_id="google-primary",
        field_mapping={"calendars": [primary.remote_id]},
    )
    http = client("google-calendar", tokens["access_token"])
    use_provider(lambda c: GoogleCalendarProvider(c, http=http))
    yield connection, primary
    http.session.close()


# Fixed days, years ahead: no sync rule is set, so no window depends on today.
STANDUP = dt.datetime(2031, 3, 10, 9, tzinfo=BERLIN)
REVIEW = dt.datetime(2031, 3, 11, 14, tzinfo=BERLIN)


def at_google(primary: Item, title: str, start: dt.datetime, **extra: str) -> str:
    end = start + dt.timedelta(hours=1)
    body = {
        "summary": title,
        "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Berlin"},
        "end": {"dateTime": end.isoformat(), "timeZone": "Europe/Berlin"},
        **extra,
    }
    return insert_event(account("google-calendar"), primary, body).remote_id


def in_dayflow(user, title: str, start: dt.datetime, **extra: str) -> Event:
    return Event.objects.create(
        user=user,
        title=title,
        start=start,
        end=start + dt.timedelta(hours=1),
        timezone="Europe/Berlin",
        **extra,
    )


def events_at(primary: Item) -> dict[str, dict]:
    """The primary calendar's live events at the emulated Google, by id."""
    items = Item.objects.filter(kind=EVENT, container=primary.remote_id, deleted=False)
    return {item.remote_id: item.data for item in items if item.data["status"] != "cancelled"}


def test_google_the_same_events_are_linked_not_copied(google, user):
    connection, primary = google
    # given two events on both sides (one respelled, one with another description), one more each
    standup = at_google(primary, "Team standup", STANDUP)
    review = at_google(primary, "Design review", REVIEW, description="Agenda in the doc")
    at_google(primary, "Only at Google", dt.datetime(2031, 3, 12, 10, tzinfo=BERLIN))
    in_dayflow(user, "TEAM   standup!", STANDUP)
    in_dayflow(user, "Design review", REVIEW, description="Bring the mockups")
    in_dayflow(user, "Only in DayFlow", dt.datetime(2031, 3, 13, 16, tzinfo=BERLIN))

    # when the first sync's preview runs
    preview = first_sync_preview(connection)

    # then it offers exactly the two pairs and wrote nothing anywhere
    assert offered(preview) == [
        ("Design review", "Design review"),
        ("TEAM   standup!", "Team standup"),
    ]
    pairs = preview.report["matching"]["pairs"]
    assert all(p["confidence"] >= matching.HIGH for p in pairs)
    assert sorted(p["remote_id"].rpartition("/")[2] for p in pairs) == sorted([standup, review])
    assert len(events_at(primary)) == 3
    assert Event.objects.count() == 3
    assert not ItemLink.objects.exists()

    # when the person confirms both, keeping DayFlow's values, and the real sync runs
    confirm_all(preview, "dayflow")

    # then each side holds 4 events (2 linked + 1 from each side), the pairs with DayFlow's values
    at_google_now = events_at(primary)
    assert sorted(e["summary"] for e in at_google_now.values()) == [
        "Design review",
        "Only at Google",
        "Only in DayFlow",
        "TEAM   standup!",
    ]
    assert sorted(Event.objects.values_list("title", flat=True)) == sorted(
        e["summary"] for e in at_google_now.values()
    )
    assert at_google_now[review]["description"] == "Bring the mockups"
    assert Event.objects.get(title="Design review").description == "Bring the mockups"
    assert at_google_now[standup]["summary"] == "TEAM   standup!"
    linked_standup = ItemLink.objects.get(remote_id__endswith=standup).event
    assert (linked_standup.title, linked_standup.start) == ("TEAM   standup!", STANDUP)

    # and a further sync changes nothing
    etags = {k: v["etag"] for k, v in events_at(primary).items()}
    versions = sorted(Event.objects.values_list("version", flat=True))
    again = run(SyncJob.objects.create(connection=connection, kind=SyncJob.Kind.FULL))
    assert unchanged(again) == (0, 0, 0, 0, 0, 0)
    assert {k: v["etag"] for k, v in events_at(primary).items()} == etags
    assert sorted(Event.objects.values_list("version", flat=True)) == versions
