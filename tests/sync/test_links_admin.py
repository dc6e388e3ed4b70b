"""Staff change a sync link's list (or calendar) and destination in the admin, through
`sync.links`: the owner's lists only, a refusal a form error, and a second destination of a
list takes it over rather than breaking the one-destination rule. Lists and calendars have
admin pages of their own, named by the model's rules."""

from __future__ import annotations

import pytest

from dayflow.models import Calendar, TaskList
from integrations.mapping_field import MAX_JSON_TEXT
from sync.models import ItemType, SyncCursor, SyncLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("staff", "staff@example.com", "pw-staff-1")
    client.force_login(admin)
    return client


@pytest.fixture
def inbox_link(connection) -> SyncLink:
    return SyncLink.objects.get(connection=connection, item_type=ItemType.TASK)


@pytest.fixture
def work(user) -> TaskList:
    return TaskList.objects.create(user=user, name="Work")


def change(staff_client, link: SyncLink, **fields):
    body = {key: value for key, value in fields.items() if value is not None}
    if body.pop("is_destination", False):
        body["is_destination"] = "on"
    return staff_client.post(f"/admin/sync/synclink/{link.pk}/change/", body)


def state(*links: SyncLink) -> list[tuple[int | None, int | None, bool]]:
    rows = SyncLink.objects.filter(pk__in=[link.pk for link in links]).order_by("pk")
    return [(row.task_list_id, row.calendar_id, row.is_destination) for row in rows]


def test_the_change_page_offers_only_the_owners_lists(
    staff_client, user, other_user, inbox_link, work
):
    TaskList.objects.create(user=other_user, name="Bob's secret list")

    page = staff_client.get(f"/admin/sync/synclink/{inbox_link.pk}/change/")

    body = page.content.decode()
    assert page.status_code == 200
    assert "Work" in body
    assert "Bob&#x27;s secret list" not in body
    assert "Bob's secret list" not in body
    assert 'name="calendar"' not in body  # a task link feeds a list


def test_staff_make_a_link_the_destination_of_a_list(staff_client, inbox_link, work):
    response = change(staff_client, inbox_link, task_list=work.pk, is_destination=True)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert state(inbox_link) == [(work.pk, None, True)]


def test_staff_clear_a_destination(staff_client, inbox_link):
    response = change(staff_client, inbox_link, task_list="", is_destination=False)

    assert response.status_code == 302
    assert state(inbox_link) == [(None, None, False)]


def test_another_persons_list_is_a_form_error_and_nothing_changes(
    staff_client, other_user, inbox_link
):
    theirs = TaskList.objects.create(user=other_user, name="Bob's")

    response = change(staff_client, inbox_link, task_list=theirs.pk, is_destination=True)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["task_list"]
    assert state(inbox_link) == [(None, None, True)]


def test_a_second_destination_for_a_list_takes_it_over(
    staff_client, user, connection, inbox_link, work
):
    second = SyncLink.objects.create(
        connection=connection, user=user, item_type=ItemType.TASK, collection="p-2"
    )
    change(staff_client, inbox_link, task_list=work.pk, is_destination=True)

    response = change(staff_client, second, task_list=work.pk, is_destination=True)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert state(inbox_link, second) == [(work.pk, None, False), (work.pk, None, True)]


def test_a_link_refused_by_sync_links_is_a_form_error(staff_client, monkeypatch, inbox_link, work):
    from sync import links

    def refuse(*args, **kwargs):
        raise links.LinkRefused("That link syncs events.")

    monkeypatch.setattr(links, "set_destination", refuse)

    response = change(staff_client, inbox_link, task_list=work.pk, is_destination=True)

    assert response.status_code == 200
    assert "That link syncs events." in response.content.decode()
    assert state(inbox_link) == [(None, None, True)]


def test_an_event_link_feeds_one_of_the_owners_calendars(staff_client, user, connection):
    link = SyncLink.objects.create(
        connection=connection, user=user, item_type=ItemType.EVENT, collection="cal-1"
    )
    family = Calendar.objects.create(user=user, name="Family")

    response = change(staff_client, link, calendar=family.pk, is_destination=True)

    assert response.status_code == 302
    assert state(link) == [(None, family.pk, True)]


def test_links_are_not_added_in_the_admin(staff_client, inbox_link):
    assert staff_client.get("/admin/sync/synclink/add/").status_code == 403


def test_a_connection_deleted_in_the_admin_takes_its_links_along(
    staff_client, connection, inbox_link
):
    response = staff_client.post(
        f"/admin/integrations/connection/{connection.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    assert not SyncLink.objects.filter(pk=inbox_link.pk).exists()


def test_the_link_list_takes_as_many_queries_for_many_rows(
    staff_client, user, connection, django_assert_max_num_queries
):
    def add(count: int) -> None:
        start = SyncLink.objects.count()
        for n in range(start, start + count):
            task_list = TaskList.objects.create(user=user, name=f"List {n}")
            SyncLink.objects.create(
                connection=connection,
                user=user,
                item_type="task",
                collection=f"c{n}",
                task_list=task_list,
            )

    add(1)
    with django_assert_max_num_queries(40) as few:
        staff_client.get("/admin/sync/synclink/")
    add(30)

    with django_assert_max_num_queries(len(few.captured_queries)):
        page = staff_client.get("/admin/sync/synclink/")

    assert "List 30" in page.content.decode()


@pytest.mark.parametrize(("path", "model"), [("tasklist", TaskList), ("calendar", Calendar)])
def test_a_list_named_inbox_or_taken_is_refused_in_the_admin(staff_client, user, path, model):
    model.objects.create(user=user, name="Home")

    taken = staff_client.post(f"/admin/dayflow/{path}/add/", {"user": user.pk, "name": "home"})
    reserved = staff_client.post(f"/admin/dayflow/{path}/add/", {"user": user.pk, "name": "Inbox"})
    fine = staff_client.post(f"/admin/dayflow/{path}/add/", {"user": user.pk, "name": "Work"})

    assert (taken.status_code, reserved.status_code, fine.status_code) == (200, 200, 302)
    assert sorted(model.objects.values_list("name", flat=True)) == ["Home", "Work"]


# --- a container's own rules and deletion policy ---------------------------------------------
def test_staff_give_a_link_its_own_rules_and_policy(staff_client, inbox_link, connection):
    cursor = SyncCursor.objects.create(connection=connection, value="seq:4")

    response = change(
        staff_client,
        inbox_link,
        task_list="",
        is_destination=True,
        sync_rules='{"task": {"status": "open"}}',
        deletion_policy="unlink",
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    inbox_link.refresh_from_db()
    assert (inbox_link.sync_rules, inbox_link.deletion_policy) == (
        {"task": {"status": "open"}},
        "unlink",
    )
    cursor.refresh_from_db()
    assert cursor.value == ""  # the next sync lists everything by the new rules


def test_empty_rules_and_policy_follow_the_connection(staff_client, inbox_link):
    SyncLink.objects.filter(pk=inbox_link.pk).update(sync_rules={}, deletion_policy="ask")

    response = change(staff_client, inbox_link, task_list="", is_destination=True)

    assert response.status_code == 302
    inbox_link.refresh_from_db()
    assert (inbox_link.sync_rules, inbox_link.deletion_policy) == (None, "")


@pytest.mark.parametrize(
    ("rules", "policy", "message"),
    [
        ('{"event": {"past_days": 2}}', "", "not a kind of item this service syncs"),
        ('{"task": {"due_within_days": -1}}', "", "must be from 0 to 3650 days"),
        ("[" * 5000 + "]" * 5000, "", "nested too deeply"),
        ('"' + "x" * MAX_JSON_TEXT + '"', "", "too long"),
        ("{not json", "", "Enter a valid JSON."),
        ("", "shred", "Select a valid choice."),
    ],
)
def test_bad_rules_or_policy_are_form_errors_and_change_nothing(
    staff_client, inbox_link, rules, policy, message
):
    response = change(
        staff_client,
        inbox_link,
        task_list="",
        is_destination=True,
        sync_rules=rules,
        deletion_policy=policy,
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    inbox_link.refresh_from_db()
    assert (inbox_link.sync_rules, inbox_link.deletion_policy) == (None, "")
