"""`/api/sync-links`: the containers a person's connections sync, the DayFlow list (or
calendar) each feeds, and which is a list's destination; changed only through `sync.links`,
bad input a 400 that changes nothing, another person's link a 404."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from dayflow.models import Calendar, TaskList
from integrations.models import Connection
from sync.models import ItemType, SyncCursor, SyncLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox_link(connection) -> SyncLink:
    """The Todoist project the connection syncs: the Inbox's destination, as reconcile made it."""
    return SyncLink.objects.get(connection=connection, item_type=ItemType.TASK)


@pytest.fixture
def second_link(user, connection) -> SyncLink:
    return SyncLink.objects.create(
        connection=connection, user=user, item_type=ItemType.TASK, collection="p-2", name="Work"
    )


@pytest.fixture
def event_link(user, connection) -> SyncLink:
    return SyncLink.objects.create(
        connection=connection, user=user, item_type=ItemType.EVENT, collection="cal-1"
    )


@pytest.fixture
def work(user) -> TaskList:
    return TaskList.objects.create(user=user, name="Work")


def state(*links: SyncLink) -> list[tuple[int | None, int | None, bool]]:
    rows = SyncLink.objects.filter(pk__in=[link.pk for link in links]).order_by("pk")
    return [(row.task_list_id, row.calendar_id, row.is_destination) for row in rows]


# --- reading -------------------------------------------------------------------------------------
def test_a_link_says_its_container_and_the_dayflow_list_it_feeds(api, inbox_link, connection):
    data = api.get(f"/api/sync-links/{inbox_link.pk}").json()

    assert data == {
        "id": inbox_link.pk,
        "connection": connection.pk,
        "service": "Todoist",
        "item_type": "task",
        "collection": "p-1",
        "name": "",
        "container": "p-1",
        "task_list": None,
        "calendar": None,
        "dayflow": "Inbox",
        "is_destination": True,
        "sync_rules": None,
        "deletion_policy": "",
        "rules_in_force": {},
        "policy_in_force": "propagate",
        "created_at": data["created_at"],
    }


def test_links_are_filtered_by_connection_and_kind(
    api, user, service, inbox_link, second_link, event_link
):
    other = Connection.objects.create(
        user=user, service=service, external_account_id="acct-2", field_mapping={"project_id": "x"}
    )

    def ids(query: str) -> list[int]:
        return sorted(row["id"] for row in api.get(f"/api/sync-links?{query}").json()["results"])

    assert ids(f"connection={inbox_link.connection_id}&item_type=task") == sorted(
        [inbox_link.pk, second_link.pk]
    )
    assert ids("item_type=event") == [event_link.pk]
    assert ids(f"connection={other.pk}") == [other.sync_links.get().pk]


@pytest.mark.parametrize(
    "query", ["connection=abc", f"connection={2**70}", "connection=0", "item_type=note"]
)
def test_a_bad_filter_is_a_400_naming_it(api, inbox_link, query):
    response = api.get(f"/api/sync-links?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_another_persons_links_are_not_listed(others_api, inbox_link):
    assert others_api.get("/api/sync-links").json()["results"] == []


def test_listing_links_takes_as_many_queries_for_many_as_for_one(
    api, user, connection, inbox_link, django_assert_max_num_queries
):
    with django_assert_max_num_queries(30) as one:  # the token and throttles: ~20
        api.get("/api/sync-links")
    for n in range(30):
        task_list = TaskList.objects.create(user=user, name=f"List {n}")
        SyncLink.objects.create(
            connection=connection,
            user=user,
            item_type="task",
            collection=f"c{n}",
            task_list=task_list,
        )

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = api.get("/api/sync-links")

    assert {row["dayflow"] for row in response.json()["results"]} >= {"List 0", "List 29"}


# --- changing ------------------------------------------------------------------------------------
def test_a_destination_link_fed_into_a_list_becomes_that_lists_destination(
    api, user, inbox_link, work
):
    response = api.patch(f"/api/sync-links/{inbox_link.pk}", {"task_list": work.pk}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["dayflow"], response.json()["is_destination"]) == ("Work", True)
    assert state(inbox_link) == [(work.pk, None, True)]
    event = AuditEvent.objects.get(action="synclink.changed")
    assert event.details == {"id": inbox_link.pk, "fields": ["task_list"]}


def test_a_second_destination_for_a_list_takes_it_from_the_first(
    api, inbox_link, second_link, work
):
    api.patch(f"/api/sync-links/{inbox_link.pk}", {"task_list": work.pk}, format="json")

    response = api.patch(
        f"/api/sync-links/{second_link.pk}",
        {"task_list": work.pk, "is_destination": True},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert state(inbox_link, second_link) == [(work.pk, None, False), (work.pk, None, True)]


def test_is_destination_false_leaves_the_lists_new_items_in_dayflow(api, user, inbox_link):
    response = api.patch(
        f"/api/sync-links/{inbox_link.pk}", {"is_destination": False}, format="json"
    )

    assert response.status_code == 200
    assert state(inbox_link) == [(None, None, False)]
    inbox = api.get("/api/destinations").json()[0]
    assert (inbox["name"], inbox["destination"]) == ("Inbox", None)


def test_the_inbox_destination_moves_to_another_link(api, inbox_link, second_link):
    response = api.patch(
        f"/api/sync-links/{second_link.pk}", {"is_destination": True}, format="json"
    )

    assert response.status_code == 200
    assert state(inbox_link, second_link) == [(None, None, False), (None, None, True)]


def test_an_event_link_feeds_a_calendar(api, user, event_link):
    family = Calendar.objects.create(user=user, name="Family")

    response = api.patch(
        f"/api/sync-links/{event_link.pk}",
        {"calendar": family.pk, "is_destination": True},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert state(event_link) == [(None, family.pk, True)]


# --- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"task_list": "theirs"}, "task_list", "No such list."),
        ({"task_list": "mine", "colour": "red"}, "colour", "Unknown or read-only field."),
        ({"item_type": "event"}, "item_type", "Unknown or read-only field."),
        ({"collection": "p-9"}, "collection", "Unknown or read-only field."),
        ({"calendar": "my calendar"}, "calendar", "A task link feeds a list."),
        ({"task_list": "7"}, "task_list", "Give an id: a whole number."),
        ({"task_list": 1.5}, "task_list", "Give an id: a whole number."),
        ({"task_list": 2**70}, "task_list", "No such list."),
        ({"task_list": -3}, "task_list", "No such list."),
        ({"is_destination": "false"}, "is_destination", "Say true or false."),
        ({"is_destination": 0}, "is_destination", "Say true or false."),
        ({"is_destination": None}, "is_destination", "This field may not be null."),
        ({"deletion_policy": "shred"}, "deletion_policy", '"shred" is not a valid choice.'),
        ({"deletion_policy": None}, "deletion_policy", "This field may not be null."),
        ({"sync_rules": [1]}, "sync_rules", "must be an object of item kinds (task, event)"),
        (
            {"sync_rules": {"event": {"past_days": 1}}},
            "sync_rules",
            "event: not a kind of item this service syncs (task)",
        ),
        (
            {"sync_rules": {"task": {"due_within_days": 4000}}},
            "sync_rules",
            "task.due_within_days: must be from 0 to 3650 days",
        ),
        (
            {"sync_rules": {"task": {"tags": ["x"] * 51}}},
            "sync_rules",
            "task.tags: at most 50 (there are 51)",
        ),
        (
            {"sync_rules": {"task": {"status": {"a": [1]}}}},
            "sync_rules",
            "task.status: must be text",
        ),
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(
    api, user, other_user, inbox_link, work, body, field, message
):
    theirs = TaskList.objects.create(user=other_user, name="Secret")
    mine = Calendar.objects.create(user=user, name="Family")
    values = {"theirs": theirs.pk, "mine": work.pk, "my calendar": mine.pk}
    body = {
        key: values.get(value, value) if isinstance(value, str) else value
        for key, value in body.items()
    }

    response = api.patch(f"/api/sync-links/{inbox_link.pk}", body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()[field] == [message]
    assert state(inbox_link) == [(None, None, True)]
    inbox_link.refresh_from_db()
    assert (inbox_link.sync_rules, inbox_link.deletion_policy) == (None, "")
    assert not AuditEvent.objects.filter(action="synclink.changed").exists()


def test_a_task_list_on_an_event_link_is_refused(api, user, event_link, work):
    response = api.patch(f"/api/sync-links/{event_link.pk}", {"task_list": work.pk}, format="json")

    assert response.status_code == 400
    assert response.json() == {"task_list": ["An event link feeds a calendar."]}
    assert state(event_link) == [(None, None, False)]


@pytest.mark.parametrize("method", ["get", "patch"])
def test_another_persons_link_is_not_found_and_stays(others_api, other_user, inbox_link, method):
    theirs = TaskList.objects.create(user=other_user, name="Mine")

    send = getattr(others_api, method)
    response = send(f"/api/sync-links/{inbox_link.pk}", {"task_list": theirs.pk}, format="json")

    assert response.status_code == 404
    assert state(inbox_link) == [(None, None, True)]


@pytest.mark.parametrize("pk", ["abc", "9" * 19, "0"])
def test_a_malformed_or_huge_link_id_is_a_404(api, pk):
    assert api.patch(f"/api/sync-links/{pk}", {}, format="json").status_code == 404


@pytest.mark.parametrize("method", ["put", "post", "delete"])
def test_links_are_not_made_replaced_or_deleted_here(api, inbox_link, method):
    path = "/api/sync-links" if method == "post" else f"/api/sync-links/{inbox_link.pk}"

    response = getattr(api, method)(path, {"is_destination": False}, format="json")

    assert response.status_code == 405
    assert state(inbox_link) == [(None, None, True)]


def test_an_empty_change_changes_and_audits_nothing(api, inbox_link):
    response = api.patch(f"/api/sync-links/{inbox_link.pk}", {}, format="json")

    assert response.status_code == 200
    assert state(inbox_link) == [(None, None, True)]
    assert not AuditEvent.objects.filter(action="synclink.changed").exists()


# --- a container's own rules and deletion policy ---------------------------------------------
def test_a_link_takes_its_own_rules_and_policy_and_gives_them_back(api, inbox_link, connection):
    body = {"sync_rules": {"task": {"status": "open"}}, "deletion_policy": "ask"}

    data = api.patch(f"/api/sync-links/{inbox_link.pk}", body, format="json").json()

    assert (data["sync_rules"], data["rules_in_force"]) == ({"task": {"status": "open"}},) * 2
    assert (data["deletion_policy"], data["policy_in_force"]) == ("ask", "ask")
    inbox_link.refresh_from_db()
    assert (inbox_link.sync_rules, inbox_link.deletion_policy) == (body["sync_rules"], "ask")
    event = AuditEvent.objects.get(action="synclink.changed")
    assert event.details["fields"] == ["deletion_policy", "sync_rules"]


def test_null_rules_and_an_empty_policy_follow_the_connection_again(api, inbox_link, connection):
    connection.sync_rules = {"task": {"due_within_days": 7, "undated": True}}
    connection.deletion_policy = "unlink"
    connection.save()
    SyncLink.objects.filter(pk=inbox_link.pk).update(sync_rules={}, deletion_policy="ask")

    data = api.patch(
        f"/api/sync-links/{inbox_link.pk}",
        {"sync_rules": None, "deletion_policy": ""},
        format="json",
    ).json()

    assert (data["sync_rules"], data["deletion_policy"]) == (None, "")
    assert data["rules_in_force"] == {"task": {"due_within_days": 7, "undated": True}}
    assert data["policy_in_force"] == "unlink"


def test_new_rules_through_the_api_make_the_next_sync_list_everything(api, inbox_link, connection):
    cursor = SyncCursor.objects.create(connection=connection, value="seq:9")

    api.patch(
        f"/api/sync-links/{inbox_link.pk}",
        {"sync_rules": {"task": {"tags": ["home"]}}},
        format="json",
    )

    cursor.refresh_from_db()
    assert cursor.value == ""


def test_a_links_rules_preview_counts_its_list_only_and_saves_nothing(
    api, user, inbox_link, connection, work
):
    from dayflow.models import Task

    Task.objects.create(user=user, title="open, Inbox")
    Task.objects.create(user=user, title="done, Inbox", status="done")
    Task.objects.create(user=user, title="done, Work", status="done", task_list=work)
    body = {"sync_rules": {"task": {"status": "open"}}}

    response = api.post(f"/api/sync-links/{inbox_link.pk}/rules-preview", body, format="json")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "counts": [{"kind": "task", "matching": 1, "total": 2, "let_go": 0}],
        "sentence": "1 of 2 tasks in DayFlow matches.",
    }
    inbox_link.refresh_from_db()
    assert inbox_link.sync_rules is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "This field is required."),
        ({"sync_rules": {"event": {"past_days": 1}}}, "event: not a kind of item"),
        ({"sync_rules": {"task": {"due_within_days": -1}}}, "must be from 0 to 3650 days"),
        ({"sync_rules": {"task": {}}, "extra": 1}, "Unknown or read-only field."),
    ],
)
def test_a_bad_rules_preview_is_a_400(api, inbox_link, body, message):
    response = api.post(f"/api/sync-links/{inbox_link.pk}/rules-preview", body, format="json")

    assert response.status_code == 400
    assert message in str(response.json())


def test_another_persons_link_has_no_preview(others_api, inbox_link):
    body = {"sync_rules": {}}
    response = others_api.post(
        f"/api/sync-links/{inbox_link.pk}/rules-preview", body, format="json"
    )
    assert response.status_code == 404
