"""A person with Todoist for home and Linear for work, and two DayFlow lists: each list's new
tasks go to its own service, each service's tasks land in its own list, a list with no
destination keeps its tasks in DayFlow, and nothing is copied twice. The real providers, over
HTTP, against the sandbox's emulators."""

from __future__ import annotations

import datetime as dt

import pytest

from dayflow.models import Calendar, Event, Task, TaskList
from integrations.models import Connection, Service
from integrations.providers.google_calendar.provider import GoogleCalendarProvider
from integrations.providers.http import HttpClient
from integrations.providers.linear.provider import LinearProvider
from integrations.providers.todoist.provider import TodoistProvider
from integrations.sandbox import store
from integrations.sandbox.google_calendar import CALENDAR, EVENT
from integrations.sandbox.linear import issue_update
from integrations.sandbox.models import Item
from integrations.sandbox.todoist import apply_command
from sync import engine, links
from sync.models import ItemLink, JournalEntry, SyncJob
from tests.sandbox.conftest import account, challenge
from tests.sandbox.test_linear import PKCE

pytestmark = pytest.mark.django_db(transaction=True)


def client(key: str, token: str) -> HttpClient:
    return HttpClient(
        key,
        auth_headers=lambda: {"Authorization": f"Bearer {token}"},
        rate=(0, 1.0),
        sleep=lambda seconds: None,
    )


@pytest.fixture
def accounts(live_server, register, connect, user, use_provider, monkeypatch):
    """Todoist's "Home" project and Linear's Engineering team, connected for `user`."""
    todoist_token = connect("todoist", register("todoist"), "oauth/access_token")["access_token"]
    linear_app = register("linear")
    linear_token = connect("linear", linear_app, "oauth/token", **PKCE)["access_token"]
    monkeypatch.setattr(TodoistProvider, "api_base", f"{live_server.url}/sandbox/todoist/api/v1")
    monkeypatch.setattr(LinearProvider, "api_base", f"{live_server.url}/sandbox/linear/graphql")
    home_project = Item.objects.get(kind="project", data__name="Home").remote_id
    eng_team = Item.objects.get(kind="team", data__key="ENG").remote_id
    todoist = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="todoist"),
        external_account_id="todoist-home",
        field_mapping={"project_id": home_project, "write_id_marker": True},
    )
    linear = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="linear"),
        external_account_id="linear-work",
        field_mapping={"team_id": eng_team, "write_id_marker": True},
    )
    clients = {
        todoist.pk: client("todoist", todoist_token),
        linear.pk: client("linear", linear_token),
    }
    kinds = {todoist.pk: TodoistProvider, linear.pk: LinearProvider}
    use_provider(lambda connection: kinds[connection.pk](connection, http=clients[connection.pk]))
    yield todoist, linear, home_project, eng_team
    for http in clients.values():
        http.session.close()  # no kept-alive connection outlives the live server's database


def sync(connection: Connection) -> SyncJob:
    job = SyncJob.objects.create(connection=connection, kind=SyncJob.Kind.FULL)
    engine.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == SyncJob.Status.SUCCEEDED, job.error
    return job


def titles_at(kind: str, container: str) -> list[str]:
    """What the emulated service holds, not deleted, in one project or team."""
    items = Item.objects.filter(kind=kind, container=container, deleted=False)
    return sorted(item.data.get("content") or item.data.get("title") for item in items)


def test_each_lists_new_tasks_go_to_its_own_service_and_come_back_to_its_own_list(accounts, user):
    todoist, linear, home_project, eng_team = accounts
    home = TaskList.objects.create(user=user, name="Home")
    work = TaskList.objects.create(user=user, name="Work")
    someday = TaskList.objects.create(user=user, name="Someday")
    links.set_destination(user.pk, "task", home, todoist.sync_links.get())
    links.set_destination(user.pk, "task", work, linear.sync_links.get())
    Task.objects.create(user=user, title="Buy birthday candles", task_list=home)
    Task.objects.create(user=user, title="Ship the lists feature", task_list=work)
    Task.objects.create(user=user, title="Learn the cello", task_list=someday)

    first = {connection.pk: sync(connection) for connection in (todoist, linear)}

    home_titles = titles_at("task", home_project)
    assert "Buy birthday candles" in home_titles
    assert "Ship the lists feature" not in home_titles
    assert "Learn the cello" not in home_titles
    eng_titles = titles_at("issue", eng_team)
    assert "Ship the lists feature" in eng_titles
    assert "Buy birthday candles" not in eng_titles
    assert "Learn the cello" not in eng_titles
    assert first[todoist.pk].remote_created == first[linear.pk].remote_created == 1

    # What each service already held landed in the list its link feeds.
    assert Task.objects.get(title="Water the plants").task_list_id == home.pk
    assert Task.objects.get(title="Fix the login redirect").task_list_id == work.pk
    # A task lives at one service only: nothing crossed over.
    assert not ItemLink.objects.filter(task__title="Water the plants", connection=linear).exists()
    assert not ItemLink.objects.filter(task__title="Learn the cello").exists()

    # The Todoist link took the name Todoist gives its project.
    assert todoist.sync_links.get().container_words == "Home"

    again = [sync(connection) for connection in (todoist, linear)]
    assert [job.remote_created + job.local_created for job in again] == [0, 0]


@pytest.fixture
def two_projects(live_server, register, connect, user, use_provider, monkeypatch):
    """One Todoist connection syncing the projects Home (the Inbox's) and Work (the list
    Work's), over HTTP."""
    token = connect("todoist", register("todoist"), "oauth/access_token")["access_token"]
    monkeypatch.setattr(TodoistProvider, "api_base", f"{live_server.url}/sandbox/todoist/api/v1")
    home, work = (
        Item.objects.get(kind="project", data__name=name).remote_id for name in ("Home", "Work")
    )
    todoist = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="todoist"),
        external_account_id="todoist-both",
        field_mapping={"project_id": [home, work], "write_id_marker": True},
    )
    work_list = TaskList.objects.create(user=user, name="Work")
    links.set_destination(user.pk, "task", work_list, todoist.sync_links.get(collection=work))
    http = client("todoist", token)
    use_provider(lambda connection: TodoistProvider(connection, http=http))
    yield todoist, work_list, home, work
    http.session.close()


def test_a_task_moves_between_two_projects_of_one_connection_both_ways(two_projects, user):
    todoist, work_list, home, work = two_projects
    task = Task.objects.create(user=user, title="Book the venue")
    sync(todoist)
    link = ItemLink.objects.get(task=task)
    assert "Book the venue" in titles_at("task", home)
    assert Task.objects.get(title="Review Maria's pull request").task_list_id == work_list.pk

    task.task_list = work_list
    task.save()
    sync(todoist)

    assert "Book the venue" in titles_at("task", work)
    assert "Book the venue" not in titles_at("task", home)
    assert ItemLink.objects.get(task=task).remote_id == link.remote_id  # moved, not copied

    command = {"type": "item_move", "uuid": "move-back", "args": {"id": link.remote_id}}
    command["args"]["project_id"] = home
    assert apply_command(account("todoist"), command, {}) == "ok"
    sync(todoist)

    task.refresh_from_db()
    assert task.task_list_id is None  # Home's tasks live in the Inbox
    assert Task.objects.filter(title="Book the venue").count() == 1


@pytest.fixture
def two_calendars(live_server, register, connect, user, use_provider, monkeypatch):
    """One Google connection syncing the primary calendar (My calendar's) and Family (the
    DayFlow calendar Family's), over HTTP."""
    tokens = connect(
        "google-calendar",
        register("google-calendar"),
        "token",
        code_challenge=challenge(),
        code_challenge_method="S256",
    )
    base = f"{live_server.url}/sandbox/google-calendar/calendar/v3"
    monkeypatch.setattr(GoogleCalendarProvider, "api_base", base)
    ids = {item.data["summary"]: item.remote_id for item in Item.objects.filter(kind=CALENDAR)}
    primary = next(
        item.remote_id for item in Item.objects.filter(kind=CALENDAR) if item.data.get("primary")
    )
    google = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="google-calendar"),
        external_account_id="google-both",
        field_mapping={"calendars": [primary, ids["Family"]]},
    )
    family = Calendar.objects.create(user=user, name="Family")
    links.set_destination(user.pk, "event", family, google.sync_links.get(collection=ids["Family"]))
    http = client("google-calendar", tokens["access_token"])
    use_provider(lambda connection: GoogleCalendarProvider(connection, http=http))
    yield google, family, primary, ids["Family"]
    http.session.close()


def test_an_event_moved_to_another_calendar_in_dayflow_moves_in_google(two_calendars, user):
    google, family, primary, family_id = two_calendars
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    event = Event.objects.create(
        user=user, title="Piano lesson", start=start, end=start + dt.timedelta(hours=1)
    )
    sync(google)
    link = ItemLink.objects.get(event=event)
    event_id = link.remote_id.rpartition("/")[2]
    assert Item.objects.get(kind=EVENT, remote_id=event_id).container == primary

    event.calendar = family
    event.save()
    job = sync(google)

    assert Item.objects.get(kind=EVENT, remote_id=event_id).container == family_id
    link.refresh_from_db()
    assert (link.remote_id, link.collection) == (f"{family_id}/{event_id}", family_id)
    assert job.remote_created == 0
    assert (
        not Item.objects.filter(kind=EVENT, data__summary="Piano lesson")
        .exclude(remote_id=event_id)
        .exists()
    )
    again = sync(google)
    assert (again.remote_created, again.local_created, again.local_deleted) == (0, 0, 0)
    assert Event.objects.filter(title="Piano lesson").count() == 1


def test_an_event_moved_to_another_calendar_at_google_moves_in_dayflow(two_calendars, user):
    google, family, _, family_id = two_calendars
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    event = Event.objects.create(
        user=user, title="Piano lesson", start=start, end=start + dt.timedelta(hours=1)
    )
    sync(google)
    link = ItemLink.objects.get(event=event)
    event_id = link.remote_id.rpartition("/")[2]
    moved = Item.objects.get(kind=EVENT, remote_id=event_id)
    moved.container = family_id  # what events.move does at Google: the same id, elsewhere
    store.save(moved)

    job = sync(google)

    event.refresh_from_db()
    link.refresh_from_db()
    assert event.calendar_id == family.pk
    assert not event.is_deleted
    link.refresh_from_db()
    assert (link.remote_id, link.collection) == (f"{family_id}/{event_id}", family_id)
    assert (job.local_created, job.local_deleted, job.remote_created) == (0, 0, 0)
    assert Event.objects.filter(title="Piano lesson").count() == 1
    assert JournalEntry.objects.filter(job=job, op=JournalEntry.Op.MOVE, link=link).exists()


def test_one_linear_connection_syncs_two_teams_each_into_its_own_list(
    live_server, register, connect, user, use_provider, monkeypatch
):
    token = connect("linear", register("linear"), "oauth/token", **PKCE)["access_token"]
    monkeypatch.setattr(LinearProvider, "api_base", f"{live_server.url}/sandbox/linear/graphql")
    eng, design = (Item.objects.get(kind="team", data__key=key).remote_id for key in ("ENG", "DES"))
    linear = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="linear"),
        external_account_id="linear-both",
        field_mapping={"team_id": [eng, design], "write_id_marker": True},
    )
    design_list = TaskList.objects.create(user=user, name="Design")
    links.set_destination(user.pk, "task", design_list, linear.sync_links.get(collection=design))
    http = client("linear", token)
    use_provider(lambda connection: LinearProvider(connection, http=http))
    Task.objects.create(user=user, title="Draw the lists icon", task_list=design_list)
    Task.objects.create(user=user, title="Profile the sync engine")  # the Inbox: ENG

    try:
        sync(linear)
        again = sync(linear)
    finally:
        http.session.close()

    assert "Draw the lists icon" in titles_at("issue", design)
    assert "Profile the sync engine" in titles_at("issue", eng)
    assert "Draw the lists icon" not in titles_at("issue", eng)
    design_titles = set(titles_at("issue", design)) - {"Draw the lists icon"}
    assert design_titles  # the team held issues already: they landed in Design
    landed = Task.objects.filter(title__in=design_titles)
    assert {task.task_list_id for task in landed} == {design_list.pk}
    assert Task.objects.get(title="Fix the login redirect").task_list_id is None
    assert (again.remote_created, again.local_created) == (0, 0)


def test_a_task_moves_between_two_linear_teams_both_ways(
    live_server, register, connect, user, use_provider, monkeypatch
):
    token = connect("linear", register("linear"), "oauth/token", **PKCE)["access_token"]
    monkeypatch.setattr(LinearProvider, "api_base", f"{live_server.url}/sandbox/linear/graphql")
    eng, design = (Item.objects.get(kind="team", data__key=key).remote_id for key in ("ENG", "DES"))
    linear = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="linear"),
        external_account_id="linear-both",
        field_mapping={"team_id": [eng, design], "write_id_marker": True},
    )
    design_list = TaskList.objects.create(user=user, name="Design")
    links.set_destination(user.pk, "task", design_list, linear.sync_links.get(collection=design))
    http = client("linear", token)
    use_provider(lambda connection: LinearProvider(connection, http=http))
    task = Task.objects.create(user=user, title="Profile the sync engine", status="done")
    try:
        sync(linear)
        link = ItemLink.objects.get(task=task)
        issue = Item.objects.get(kind="issue", remote_id=link.remote_id)
        assert (issue.container, issue.data["identifier"][:4]) == (eng, "ENG-")

        task.task_list = design_list
        task.save()
        moved = sync(linear)

        issue.refresh_from_db()
        assert (issue.container, issue.data["identifier"][:4]) == (design, "DES-")
        design_done = next(
            s["id"]
            for s in Item.objects.get(remote_id=design).data["states"]["nodes"]
            if s["type"] == "completed"
        )
        assert issue.data["state"]["id"] == design_done  # the new team's own Done
        link.refresh_from_db()
        assert (link.remote_id, link.collection) == (issue.remote_id, design)
        assert moved.remote_created == moved.remote_deleted == 0
        assert Item.objects.filter(kind="issue", data__title=task.title).count() == 1

        issue_update(account("linear"), issue.remote_id, {"teamId": eng})  # moved back at Linear
        back = sync(linear)
    finally:
        http.session.close()

    task.refresh_from_db()
    assert task.task_list_id is None  # ENG's tasks live in the Inbox
    assert (back.local_created, back.local_deleted) == (0, 0)
    assert Task.objects.filter(title="Profile the sync engine").count() == 1
    assert ItemLink.objects.get(task=task).collection == eng
