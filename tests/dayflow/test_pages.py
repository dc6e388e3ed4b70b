"""The planner's plain pages: login required, each user sees only their own, no N+1."""

import pytest

from dayflow.models import Event, Task

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/", "/tasks/", "/events/"])
def test_pages_require_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_task_list_shows_only_my_live_tasks(client, user, other_user):
    Task.objects.create(user=user, title="Mine")
    Task.objects.create(user=other_user, title="Theirs")
    Task.objects.create(user=user, title="Deleted").soft_delete()
    client.force_login(user)

    body = client.get("/tasks/").content.decode()

    assert "Mine" in body
    assert "Theirs" not in body
    assert "Deleted" not in body


@pytest.mark.parametrize("count", [5, 50])
def test_event_list_queries_do_not_grow(client, user, django_assert_max_num_queries, count):
    master = Event.objects.create(user=user, title="Weekly", rrule="FREQ=WEEKLY")
    for i in range(count):
        Event.objects.create(
            user=user,
            title=f"Moved {i}",
            series=master,
            recurrence_id=f"2026-01-{i % 28 + 1:02d}T09:00:00+00:00",
        )
    client.force_login(user)

    # the session, the user with their profile, the events, their links to services, the
    # calendars with a destination, and the nav's open-conflicts badge: six, whatever the count
    with django_assert_max_num_queries(6):
        response = client.get("/events/")

    assert "exception of Weekly" in response.content.decode()
