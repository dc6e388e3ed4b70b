"""A connection's "Deletions waiting" page, its card's count, and the policy on the settings
page: owner only, POST with CSRF, hostile ids refused with a 4xx and nothing changed."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from dayflow.models import Task
from integrations.models import Connection
from integrations.providers.errors import Permanent
from sync.models import ItemLink
from tests.sync.conftest import task_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def waiting(connection, remote, run_sync) -> dict[str, ItemLink]:
    """Under "ask": "Old notes" deleted in DayFlow, "Book the venue" at the service; "Kept"
    still linked."""
    connection.deletion_policy = Connection.DeletionPolicy.ASK
    connection.save()
    titles = ("Old notes", "Book the venue", "Kept")
    ids = {title: remote.add(**task_fields(title)) for title in titles}
    run_sync()
    Task.objects.get(title="Old notes").soft_delete()
    remote.remove(ids["Book the venue"])
    run_sync()
    return {link.task.title: link for link in ItemLink.objects.select_related("task")}


def page(connection) -> str:
    return f"/sync/connections/{connection.pk}/deletions/"


def settle(connection) -> str:
    return f"/sync/connections/{connection.pk}/deletions/settle/"


def test_the_page_lists_each_deletion_with_its_side_and_buttons(logged_in, connection, waiting):
    response = logged_in.get(page(connection))

    text = response.content.decode()
    assert response.status_code == 200
    assert "Old notes" in text
    assert "Deleted in DayFlow" in text
    assert "Book the venue" in text
    assert "Deleted at Todoist" in text
    assert "Kept" not in text
    assert "Confirm all" in text
    assert "Restore all" in text


def test_restore_one_then_confirm_another(logged_in, connection, remote, waiting):
    response = logged_in.post(
        settle(connection), {"action": "restore", "link": waiting["Book the venue"].pk}
    )
    assert response.status_code == 302
    assert remote.calls["create"] == 1

    logged_in.post(settle(connection), {"action": "confirm", "link": waiting["Old notes"].pk})

    assert not ItemLink.objects.exclude(deletion_pending="").exists()
    assert not ItemLink.objects.filter(task__title="Old notes").exists()
    assert AuditEvent.objects.filter(action="sync.deletion.confirmed").count() == 1
    assert "No deletions wait for you" in logged_in.get(page(connection)).content.decode()


def test_restore_all(logged_in, connection, remote, waiting):
    logged_in.post(settle(connection), {"action": "restore", "all": "1"})

    assert not ItemLink.objects.exclude(deletion_pending="").exists()
    assert not Task.all_objects.get(title="Old notes").is_deleted


@pytest.mark.parametrize(
    ("post", "status"),
    [
        ({"action": "confirm", "link": "abc"}, 400),
        ({"action": "confirm", "link": str(2**63)}, 400),
        ({"action": "confirm", "link": "-1"}, 400),
        ({"action": "shred"}, 400),
        ({"link": "1"}, 400),
        ({"action": "confirm"}, 400),
        ({"action": "confirm", "all": "1", "link": "1"}, 400),
        ({"action": "confirm", "link": str(10**15)}, 404),
    ],
    ids=[
        *("text id", "huge id", "negative id", "unknown action", "no action"),
        *("neither one nor all", "both one and all", "unknown id"),
    ],
)
def test_hostile_posts_are_refused_and_change_nothing(logged_in, connection, waiting, post, status):
    response = logged_in.post(settle(connection), post)

    assert response.status_code == status
    assert ItemLink.objects.exclude(deletion_pending="").count() == 2


def test_a_link_that_waits_for_nothing_is_a_409(logged_in, connection, waiting):
    response = logged_in.post(settle(connection), {"action": "confirm", "link": waiting["Kept"].pk})

    assert response.status_code == 409
    assert Task.objects.filter(title="Kept").exists()


def test_another_persons_links_and_connection_are_404(
    client, other_user, service, connection, waiting
):
    theirs = Connection.objects.create(user=other_user, service=service, external_account_id="b")
    client.force_login(other_user)

    assert client.get(page(connection)).status_code == 404
    assert client.post(settle(connection), {"action": "confirm"}).status_code == 404
    link = waiting["Old notes"].pk
    assert client.post(settle(theirs), {"action": "confirm", "link": link}).status_code == 404
    assert ItemLink.objects.exclude(deletion_pending="").count() == 2


def test_huge_connection_ids_are_404(logged_in):
    assert logged_in.get("/sync/connections/99999999999999999999/deletions/").status_code == 404


def test_settling_needs_post_and_csrf(user, connection, waiting):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    assert browser.get(settle(connection)).status_code == 405
    assert browser.post(settle(connection), {"action": "confirm"}).status_code == 403
    assert ItemLink.objects.exclude(deletion_pending="").count() == 2


def make_waiting(connection, count: int) -> None:
    for n in range(count):
        task = Task.objects.create(user=connection.user, title=f"t{n}")
        ItemLink.objects.create(
            connection=connection,
            item_type="task",
            task=task,
            remote_id=f"r{n}",
            deletion_pending="remote",
            deletion_pending_at=timezone.now(),
        )


@pytest.mark.parametrize("count", [2, 30])
def test_the_list_costs_the_same_queries_for_2_or_30(
    logged_in, connection, count, django_assert_max_num_queries
):
    make_waiting(connection, count)

    # session, user, connection, whether a container asks, count, page, the nav's one
    with django_assert_max_num_queries(7):
        response = logged_in.get(page(connection))

    assert response.content.decode().count('class="deletion-row"') == count


def test_the_dashboard_card_counts_the_waiting_deletions(logged_in, connection, waiting):
    text = logged_in.get("/integrations/").content.decode()

    assert "2 deletions wait for you" in text
    assert page(connection) in text


def test_the_card_says_nothing_when_none_wait(logged_in, connection):
    assert "wait for you" not in logged_in.get("/integrations/").content.decode()


# --- the policy on the settings page -------------------------------------------------------------
SETTINGS = {
    "auto_sync": "on",
    "sync_interval": "15",
    "sync_direction": "two_way",
    "sync_tasks": "on",
    "conflict_resolution": "manual",
    "field_mapping": '{"project_id": "p-1"}',
}


def test_the_settings_page_offers_the_policy_in_words(logged_in, connection):
    text = logged_in.get(f"/integrations/connections/{connection.pk}/settings/").content.decode()

    assert "When an item is deleted on one side" in text
    assert "Ask me before deleting" in text
    assert 'type="radio" name="deletion_policy" value="propagate"' in text


def test_the_settings_page_saves_the_policy(logged_in, connection):
    logged_in.post(
        f"/integrations/connections/{connection.pk}/settings/",
        {**SETTINGS, "deletion_policy": "ask"},
    )

    connection.refresh_from_db()
    assert connection.deletion_policy == "ask"


def test_an_unknown_policy_is_a_form_error(logged_in, connection):
    response = logged_in.post(
        f"/integrations/connections/{connection.pk}/settings/",
        {**SETTINGS, "deletion_policy": "shred"},
    )

    assert response.status_code == 200
    assert "deletion_policy" in response.context["form"].errors
    connection.refresh_from_db()
    assert connection.deletion_policy == "propagate"


def test_under_another_policy_the_page_says_which(logged_in, connection):
    connection.deletion_policy = Connection.DeletionPolicy.UNLINK
    connection.save()

    text = logged_in.get(page(connection)).content.decode()

    assert "This connection's settings say: <strong>Unlink only: keep the other copy" in text
    assert "No deletions wait for you." in text


def test_a_services_refusal_is_said_without_the_secret_it_quotes(
    logged_in, connection, remote, waiting
):
    secret = "ya29.a0AfH6SMBx-very-secret-token"
    remote.fail_next("create", Permanent(f"refused: Bearer {secret}", status=403, service="fake"))
    link = waiting["Book the venue"]

    response = logged_in.post(
        settle(connection), {"action": "restore", "link": link.pk}, follow=True
    )

    text = response.content.decode()
    assert "refused one" in text
    assert secret not in text
    assert secret not in ItemLink.objects.get(pk=link.pk).last_error
    assert ItemLink.objects.get(pk=link.pk).deletion_pending == "remote"
