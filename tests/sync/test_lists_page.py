"""The lists and calendars page (/sync/lists/): a person makes, renames and deletes lists and
calendars, and chooses where each one's new items go (its destination), among their own sync
links only; bad input is a 400 that changes nothing, another person's list or link a 404."""

from __future__ import annotations

import pytest
from django.test import Client

from dayflow.models import Calendar, Event, Task, TaskList
from integrations.models import Connection
from sync.models import SyncLink
from tests.sync.conftest import connect

pytestmark = pytest.mark.django_db

PAGE = "/sync/lists/"


@pytest.fixture
def todoist(user) -> SyncLink:
    """The person's Todoist project p-1: the Inbox's destination, the first task link."""
    return connect(user, "todoist", {"project_id": "p-1"}, "alice@todoist").sync_links.get()


@pytest.fixture
def linear(user) -> SyncLink:
    return connect(user, "linear", {"team_id": "t-1"}, "alice@linear").sync_links.get()


@pytest.fixture
def google(user) -> SyncLink:
    return connect(user, "google-calendar", {}, "alice@gmail.com").sync_links.get()


@pytest.fixture
def home(user) -> TaskList:
    return TaskList.objects.create(user=user, name="Home")


@pytest.fixture
def theirs(other_user) -> dict:
    return {
        "list": TaskList.objects.create(user=other_user, name="Theirs"),
        "calendar": Calendar.objects.create(user=other_user, name="Theirs"),
        "link": connect(other_user, "todoist", {"project_id": "p-9"}, "bob").sync_links.get(),
    }


def _row(page: str, key: str) -> str:
    """One list's row of the page (its links' lines are list items of their own)."""
    return page.split(f'id="{key}"')[1].split('<li class="item list-row"')[0].split("</section>")[0]


def _destination(link: SyncLink) -> tuple:
    link.refresh_from_db()
    return (link.task_list_id or link.calendar_id, link.is_destination)


# --- the page ------------------------------------------------------------------------------
def test_the_page_shows_each_list_with_its_count_and_where_its_new_items_go(
    signed_in, user, todoist, linear, google, home
):
    Task.objects.create(user=user, title="Pay the rent")
    Task.objects.create(user=user, title="Water the plants", task_list=home)
    Task.objects.create(user=user, title="Fix the tap", task_list=home)
    Task.objects.create(user=user, title="Gone", task_list=home).soft_delete()
    Calendar.objects.create(user=user, name="Family")

    page = signed_in.get(PAGE).content.decode()

    assert "Inbox" in page
    assert "My calendar" in page
    assert "Family" in page
    inbox, rest = page.split('id="list-main"')[1].split(f'id="list-{home.pk}"')
    assert "1 task<" in inbox
    assert "New tasks go to Todoist · p-1" in inbox
    assert "2 tasks<" in rest
    assert "New tasks stay in DayFlow (no destination)" in rest.split('id="list-title"')[0]
    assert "New events go to Google Calendar · your primary calendar" in page
    assert "Todoist (alice@todoist) · p-1" in page
    assert "Linear (alice@linear) · t-1" in page
    # an event link is no choice for a list of tasks
    assert page.split('id="calendar-title"')[0].count("Google Calendar (") == 0


def test_the_page_costs_the_same_queries_with_many_lists_and_links(
    signed_in, user, django_assert_max_num_queries
):
    def grow(n: int) -> None:
        for i in range(n):
            task_list = TaskList.objects.create(user=user, name=f"List {n}-{i}")
            Calendar.objects.create(user=user, name=f"Calendar {n}-{i}")
            Task.objects.create(user=user, title="t", task_list=task_list)
            connect(user, "todoist", {"project_id": f"p-{n}-{i}"}, f"a{n}{i}")

    grow(1)
    with django_assert_max_num_queries(8) as few:
        signed_in.get(PAGE)
    grow(6)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = signed_in.get(PAGE).content.decode()
    assert page.count('class="item list-row"') == 2 + 2 * 7


def test_the_nav_links_to_the_page(signed_in):
    assert f'href="{PAGE}">Lists</a>' in signed_in.get("/tasks/").content.decode()


def test_the_forms_need_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    assert client.post(PAGE, {"kind": "list", "list-name": "Home"}).status_code == 403
    assert not TaskList.objects.exists()


# --- making, renaming, deleting --------------------------------------------------------------
def test_a_person_makes_a_list_and_a_calendar(signed_in, user):
    made = signed_in.post(PAGE, {"kind": "list", "list-name": "  Home   chores "})
    signed_in.post(PAGE, {"kind": "calendar", "calendar-name": "Family"})

    task_list = TaskList.objects.get(user=user)
    assert task_list.name == "Home chores"
    assert made.status_code == 302
    assert made["Location"] == f"{PAGE}#list-{task_list.pk}"
    assert Calendar.objects.get(user=user).name == "Family"
    assert "Home chores" in signed_in.get(PAGE).content.decode()


BAD_NAMES = [
    ("empty", "", "Give it a name."),
    ("only spaces", "   ", "Give it a name."),
    ("too long", "x" * 101, "at most 100 characters"),
    ("the Inbox", "inbox", "is always there"),
    ("My calendar", "MY CALENDAR", "is always there"),
    ("a name taken", "home", "You already have one named"),
]


@pytest.mark.parametrize(("case", "name", "said"), BAD_NAMES, ids=[c for c, *_ in BAD_NAMES])
def test_a_bad_new_name_is_a_400_said_next_to_the_field(signed_in, user, home, case, name, said):
    answer = signed_in.post(PAGE, {"kind": "list", "list-name": name})

    assert answer.status_code == 400
    body = answer.content.decode()
    assert said in body.split('name="list-name"')[1].split("</form>")[0]
    assert list(TaskList.objects.values_list("name", flat=True)) == ["Home"]


def test_a_calendar_name_is_checked_among_calendars(signed_in, user):
    Calendar.objects.create(user=user, name="Family")

    answer = signed_in.post(PAGE, {"kind": "calendar", "calendar-name": "FAMILY"})

    assert answer.status_code == 400
    assert Calendar.objects.count() == 1


@pytest.mark.parametrize("kind", ["", "folder", "x" * 5000])
def test_an_unknown_kind_is_a_400(signed_in, kind):
    answer = signed_in.post(PAGE, {"kind": kind, "list-name": "Home"})

    assert answer.status_code == 400
    assert not TaskList.objects.exists()
    assert not Calendar.objects.exists()


def test_at_most_so_many_lists(signed_in, user, monkeypatch):
    monkeypatch.setattr("dayflow.models.MAX_LISTS", 1)
    TaskList.objects.create(user=user, name="Home")

    answer = signed_in.post(PAGE, {"kind": "list", "list-name": "Work"})

    assert answer.status_code == 400
    assert "at most 1" in answer.content.decode()
    assert TaskList.objects.count() == 1


def test_a_person_renames_a_list(signed_in, home):
    answer = signed_in.post(f"/sync/lists/list/{home.pk}/", {f"list-{home.pk}-name": "House"})

    assert answer.status_code == 302
    home.refresh_from_db()
    assert home.name == "House"


def test_renaming_to_a_taken_or_empty_name_is_a_400(signed_in, user, home):
    TaskList.objects.create(user=user, name="Work")
    url = f"/sync/lists/list/{home.pk}/"

    taken = signed_in.post(url, {f"list-{home.pk}-name": "WORK"})
    empty = signed_in.post(url, {f"list-{home.pk}-name": ""})

    assert taken.status_code == empty.status_code == 400
    row = _row(taken.content.decode(), f"list-{home.pk}")
    assert "You already have one named" in row
    home.refresh_from_db()
    assert home.name == "Home"


def test_deleting_a_list_asks_first_then_moves_its_tasks_to_the_inbox(
    signed_in, user, home, todoist, linear
):
    task = Task.objects.create(user=user, title="Water the plants", task_list=home)
    signed_in.post("/sync/lists/list/destination/", {"side": home.pk, "link": linear.pk})
    url = f"/sync/lists/list/{home.pk}/delete/"

    asked = signed_in.get(url).content.decode()
    assert "move to Inbox" in asked
    assert "they are not deleted" in asked
    assert "Linear (alice@linear) · t-1" in asked
    assert TaskList.objects.filter(pk=home.pk).exists()

    answer = signed_in.post(url)

    assert answer.status_code == 302
    assert not TaskList.objects.filter(pk=home.pk).exists()
    task.refresh_from_db()
    assert task.task_list_id is None
    assert task.deleted_at is None
    # Linear's team now feeds the Inbox, whose destination stays Todoist's project
    assert _destination(linear) == (None, False)
    assert _destination(todoist) == (None, True)


def test_deleting_a_calendar_moves_its_events_to_my_calendar(signed_in, user):
    family = Calendar.objects.create(user=user, name="Family")
    event = Event.objects.create(user=user, title="Dinner", calendar=family)

    signed_in.post(f"/sync/lists/calendar/{family.pk}/delete/")

    event.refresh_from_db()
    assert event.calendar_id is None
    assert not Calendar.objects.exists()


def test_another_persons_list_cannot_be_renamed_or_deleted(signed_in, theirs):
    task_list, calendar = theirs["list"], theirs["calendar"]
    for kind, side in (("list", task_list), ("calendar", calendar)):
        renamed = signed_in.post(f"/sync/lists/{kind}/{side.pk}/", {f"{kind}-{side.pk}-name": "x"})
        assert renamed.status_code == 404
        assert signed_in.get(f"/sync/lists/{kind}/{side.pk}/delete/").status_code == 404
        assert signed_in.post(f"/sync/lists/{kind}/{side.pk}/delete/").status_code == 404
        side.refresh_from_db()
        assert side.name == "Theirs"


def test_a_list_id_under_the_other_kind_is_not_found(signed_in, home):
    assert signed_in.get(f"/sync/lists/calendar/{home.pk}/delete/").status_code == 404
    assert signed_in.get(f"/sync/lists/folder/{home.pk}/delete/").status_code == 404


# --- destinations ----------------------------------------------------------------------------
def test_a_person_sends_a_lists_new_tasks_to_a_link_then_keeps_them_in_dayflow(
    signed_in, home, todoist, linear
):
    url = "/sync/lists/list/destination/"

    sent = signed_in.post(url, {"side": home.pk, "link": linear.pk})

    assert sent.status_code == 302
    assert sent["Location"] == f"{PAGE}#list-{home.pk}"
    assert _destination(linear) == (home.pk, True)
    page = signed_in.get(PAGE).content.decode()
    row = _row(page, f"list-{home.pk}")
    assert "New tasks go to Linear · t-1" in row
    assert f'<option value="{linear.pk}" selected>' in row

    signed_in.post(url, {"side": home.pk, "link": ""})

    assert _destination(linear) == (home.pk, False)
    assert _destination(todoist) == (None, True)  # the Inbox's is untouched


def test_a_destination_that_does_not_sync_now_says_its_items_wait(signed_in, todoist):
    Connection.objects.filter(pk=todoist.connection_id).update(status=Connection.Status.PAUSED)

    inbox = _row(signed_in.get(PAGE).content.decode(), "list-main")

    assert "New tasks go to Todoist · p-1" in inbox
    assert "(paused: they wait in DayFlow until it syncs again)" in inbox


def test_the_inbox_destination_moves_to_another_link(signed_in, todoist, linear):
    signed_in.post("/sync/lists/list/destination/", {"side": "", "link": linear.pk})

    assert _destination(linear) == (None, True)
    assert _destination(todoist) == (None, False)


def test_a_calendars_destination(signed_in, user, google):
    family = Calendar.objects.create(user=user, name="Family")

    signed_in.post("/sync/lists/calendar/destination/", {"side": family.pk, "link": google.pk})

    assert _destination(google) == (family.pk, True)


def test_another_persons_list_or_link_is_not_found_and_nothing_changes(
    signed_in, home, todoist, theirs
):
    url = "/sync/lists/list/destination/"

    their_list = signed_in.post(url, {"side": theirs["list"].pk, "link": todoist.pk})
    their_link = signed_in.post(url, {"side": home.pk, "link": theirs["link"].pk})

    assert their_list.status_code == their_link.status_code == 404
    assert _destination(todoist) == (None, True)
    assert _destination(theirs["link"]) == (None, True)


@pytest.mark.parametrize(
    ("side", "link"),
    [("abc", ""), ("", "1.5"), ("-1", ""), ("9" * 13, ""), ("", "9" * 5000)],
    ids=["letters", "decimal", "negative", "too long", "far too long"],
)
def test_a_malformed_id_is_a_400(signed_in, todoist, side, link):
    answer = signed_in.post("/sync/lists/list/destination/", {"side": side, "link": link})

    assert answer.status_code == 400
    assert _destination(todoist) == (None, True)


def test_an_id_too_big_for_the_database_is_not_found(signed_in, todoist):
    answer = signed_in.post("/sync/lists/list/destination/", {"side": "", "link": "9" * 12})

    assert answer.status_code == 404


def test_an_event_link_is_refused_for_a_list_of_tasks(signed_in, home, google):
    answer = signed_in.post("/sync/lists/list/destination/", {"side": home.pk, "link": google.pk})

    assert answer.status_code == 400
    assert "events" in answer.content.decode()
    assert _destination(google) == (None, True)


# --- the connection's settings page: where its items go ---------------------------------------
def test_the_settings_page_lists_the_connections_links_with_their_list(signed_in, todoist, home):
    url = f"/integrations/connections/{todoist.connection_id}/settings/"

    page = signed_in.get(url).content.decode()

    section = page.split('id="where-title"')[1].split("</section>")[0]
    assert f'action="/sync/links/{todoist.pk}/"' in section
    assert '<option value="" selected>Inbox</option>' in section
    assert f'<option value="{home.pk}">Home</option>' in section
    assert f'id="link-{todoist.pk}-destination" checked' in section


def test_a_link_feeds_a_list_and_becomes_its_destination_from_the_settings_page(
    signed_in, todoist, home
):
    url = f"/sync/links/{todoist.pk}/"

    answer = signed_in.post(url, {"side": home.pk, "destination": "on"})

    assert answer.status_code == 302
    assert answer["Location"].endswith(f"/settings/#link-{todoist.pk}")
    assert _destination(todoist) == (home.pk, True)

    signed_in.post(url, {"side": home.pk})  # unticked

    assert _destination(todoist) == (home.pk, False)


def test_a_link_moved_to_a_list_with_a_destination_stops_being_one(
    signed_in, todoist, linear, home
):
    signed_in.post(f"/sync/links/{linear.pk}/", {"side": home.pk, "destination": "on"})

    signed_in.post(f"/sync/links/{todoist.pk}/", {"side": home.pk})

    assert _destination(todoist) == (home.pk, False)
    assert _destination(linear) == (home.pk, True)


def test_the_link_form_refuses_another_persons_link_or_list_and_bad_input(
    signed_in, todoist, theirs
):
    assert signed_in.post(f"/sync/links/{theirs['link'].pk}/", {"side": ""}).status_code == 404
    url = f"/sync/links/{todoist.pk}/"
    assert signed_in.post(url, {"side": theirs["list"].pk}).status_code == 404
    assert signed_in.post(url, {"side": "home"}).status_code == 400
    assert signed_in.get(url).status_code == 405
    assert _destination(todoist) == (None, True)
    assert _destination(theirs["link"]) == (None, True)
