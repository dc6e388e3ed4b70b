"""Each planner item says where it is synced and when, in a constant number of queries; times
read in the person's own zone, set on their profile."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from dayflow.models import Event, Profile, Task
from sync.models import ItemLink

pytestmark = pytest.mark.django_db


def _synced(connection, item, n: int) -> None:
    kind = "task" if isinstance(item, Task) else "event"
    ItemLink.objects.create(
        connection=connection, item_type=kind, remote_id=f"r{n}", **{kind: item}
    )


@pytest.mark.parametrize("count", [3, 30])
@pytest.mark.parametrize("path", ["/", "/tasks/", "/events/"])
def test_pages_read_the_sync_links_in_constant_queries(
    client, user, connection, django_assert_max_num_queries, count, path
):
    Profile.objects.create(user=user, timezone="Europe/Berlin")
    master = Event.objects.create(
        user=user,
        title="Weekly",
        start=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
        end=dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC),
        rrule="FREQ=WEEKLY;BYDAY=MO",
        timezone="UTC",
    )
    for i in range(count):
        task = Task.objects.create(user=user, title=f"Task {i}", due_date=dt.date(2026, 3, 30))
        event = Event.objects.create(
            user=user,
            title=f"Event {i}",
            start=dt.datetime(2026, 3, 30, 10, i, tzinfo=dt.UTC),
            end=dt.datetime(2026, 3, 30, 11, tzinfo=dt.UTC),
            timezone="UTC",
        )
        exception = Event.objects.create(
            user=user,
            title=f"Moved {i}",
            series=master,
            recurrence_id=f"2026-0{4 + i % 5}-0{1 + i % 9}T09:00:00+00:00",
        )
        for n, item in enumerate((task, event, exception)):
            _synced(connection, item, 10 * i + n)
    client.force_login(user)

    now = time_machine.travel(dt.datetime(2026, 3, 30, 8, tzinfo=dt.UTC), tick=False)
    with now, django_assert_max_num_queries(8):  # 7, and the nav's open-conflicts badge
        body = client.get(path).content.decode()

    assert "Synced with Todoist (alice@todoist)" in body


def test_an_item_says_where_and_when_it_was_synced(client, user, connection):
    task = Task.objects.create(user=user, title="Synced task")
    with time_machine.travel(dt.datetime(2026, 3, 30, 8, tzinfo=dt.UTC), tick=False):
        _synced(connection, task, 1)
    Task.objects.create(user=user, title="Local task")
    client.force_login(user)

    with time_machine.travel(dt.datetime(2026, 3, 30, 10, tzinfo=dt.UTC), tick=False):
        body = client.get("/tasks/").content.decode()

    assert "Synced with Todoist (alice@todoist), 2\xa0hours ago" in body
    assert "Not synced" in body


def test_a_link_still_being_created_is_not_shown_as_synced(client, user, connection):
    task = Task.objects.create(user=user, title="Sending")
    ItemLink.objects.create(connection=connection, item_type="task", remote_id="", task=task)
    client.force_login(user)

    assert "Not synced" in client.get("/tasks/").content.decode()


# --- the person's zone ------------------------------------------------------------------
def test_times_show_in_the_default_zone_until_the_person_chooses(client, user):
    client.force_login(user)

    body = client.get("/profile/").content.decode()

    assert "Times in UTC" in body
    assert "Not chosen yet" in body
    assert '<option value="UTC" selected>' in body


def test_the_chosen_zone_is_used_on_every_page(client, user):
    client.force_login(user)
    response = client.post("/profile/", {"timezone": "Asia/Kolkata"}, follow=True)

    assert Profile.objects.get(user=user).timezone == "Asia/Kolkata"
    assert "Times now show in Asia/Kolkata." in response.content.decode()
    for path in ("/", "/tasks/", "/events/", "/profile/"):
        assert "Times in Asia/Kolkata" in client.get(path).content.decode()


@pytest.mark.parametrize("zone", ["", "Mars/Olympus", "localtime", "../../etc/passwd", "x" * 100])
def test_a_zone_that_is_not_known_is_a_form_error(client, user, zone):
    client.force_login(user)

    response = client.post("/profile/", {"timezone": zone})

    assert response.status_code == 200
    assert "timezone" in response.context["form"].errors
    assert not Profile.objects.filter(user=user).exists()


def test_a_stored_zone_the_system_no_longer_knows_falls_back_to_the_default(client, user):
    Profile.objects.create(user=user, timezone="Gone/Away")
    client.force_login(user)

    response = client.get("/tasks/")

    assert response.status_code == 200
    assert "Times in UTC" in response.content.decode()


def test_the_profile_is_read_with_the_user_in_one_query(client, user, django_assert_num_queries):
    Profile.objects.create(user=user, timezone="Europe/Berlin")
    client.force_login(user)

    # the session, the user with the profile, the lists (the filter), the tasks, which lists
    # have a destination, the nav's open-conflicts badge
    with django_assert_num_queries(6):
        client.get("/tasks/")
