"""A sync link's own settings page (/sync/links/<id>/settings/): what is in force (its own
rules and deletion policy, else its connection's) in words; its own rules or the connection's
again, its own policy or the connection's, saved with the model's checks and audited; a
preview of its list's items that match. Bad input is a 400 in words that changes nothing;
another person's link a 404."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client

from audit.models import AuditEvent
from dayflow.models import Task, TaskList
from integrations.models import Connection
from integrations.rules_form import MAX_TAGS_TEXT
from sync.models import ItemLink, SyncCursor, SyncLink
from sync.rules import MAX_DAYS, MAX_TAGS
from tests.sync.conftest import connect

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
# As a browser posts the page untouched: "and tasks without a due date" is ticked by default.
FOLLOW = {"rules_from": "connection", "rules-task_undated": "on", "deletion_policy": ""}
OPEN_ONLY = {"rules_from": "own", "rules-task_open_only": "on", "deletion_policy": "ask"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def todoist(user) -> SyncLink:
    """Todoist's project p-1, feeding the Inbox; its connection unlinks on a deletion."""
    connection = connect(user, "todoist", {"project_id": "p-1"}, "alice@todoist")
    Connection.objects.filter(pk=connection.pk).update(deletion_policy="unlink")
    return connection.sync_links.select_related("connection").get()


@pytest.fixture
def theirs(other_user) -> SyncLink:
    return connect(other_user, "todoist", {"project_id": "p-9"}, "bob").sync_links.get()


def url(link: SyncLink) -> str:
    return f"/sync/links/{link.pk}/settings/"


def preview_url(link: SyncLink) -> str:
    return f"/sync/links/{link.pk}/rules-preview/"


def _saved(link: SyncLink) -> tuple:
    link.refresh_from_db()
    return (link.sync_rules, link.deletion_policy)


# --- the page ------------------------------------------------------------------------------
def test_the_page_says_the_link_follows_its_connection_and_asks_in_words(signed_in, todoist):
    page = signed_in.get(url(todoist)).content.decode()

    for words in (
        "Settings of p-1",
        "feeds the DayFlow list “Inbox”",
        "All tasks (as the connection)",
        "Unlink only: keep the other copy (as the connection)",
        "As the connection: All tasks",
        "Only tasks not completed",
        "As the connection (Unlink only: keep the other copy)",
        "0 of 0 tasks in “Inbox” match.",
        preview_url(todoist),
    ):
        assert words in page
    assert 'value="connection" id="id_rules_from_0" required checked' in page
    assert "Events from" not in page  # a project holds tasks only


def test_the_page_shows_the_links_own_rules_and_policy(signed_in, todoist):
    SyncLink.objects.filter(pk=todoist.pk).update(
        sync_rules={"task": {"status": "open", "tags": ["home"]}}, deletion_policy="ask"
    )

    page = signed_in.get(url(todoist)).content.decode()

    assert "Tasks not completed, tagged “home” (its own rules)" in page
    assert "Ask me before deleting (its own)" in page
    assert 'id="id_rules-task_open_only" checked' in page
    assert 'value="home"' in page
    assert '<option value="ask" selected>' in page


def test_its_own_rules_and_policy_are_saved_audited_and_shown_on_the_lists_page(
    signed_in, user, todoist
):
    SyncCursor.objects.create(connection=todoist.connection, value="c-1", local_watermark=NOW)

    answer = signed_in.post(url(todoist), OPEN_ONLY)

    assert answer.status_code == 302
    assert answer["Location"] == "/sync/lists/#list-main"
    assert _saved(todoist) == ({"task": {"status": "open"}}, "ask")
    cursor = SyncCursor.objects.get(connection=todoist.connection)
    assert (cursor.value, cursor.local_watermark) == ("", None)  # the next sync lists all
    event = AuditEvent.objects.get(action="sync.link.settings_changed")
    assert (event.actor, event.connection_id) == (user, todoist.connection_id)
    assert event.resource == f"sync_link:{todoist.pk}"
    assert event.details["fields"] == ["deletion_policy", "sync_rules"]
    assert "Settings of a container changed" in signed_in.get("/activity/").content.decode()
    lists = signed_in.get(answer["Location"]).content.decode()
    line = lists.split(f'id="in-force-{todoist.pk}"')[1].split("</li>")[0]
    assert "Todoist · p-1: Tasks not completed; if an item is deleted: ask me" in line
    assert "(as the connection)" not in line
    assert url(todoist) in line


def test_going_back_to_the_connections_rules_and_policy(signed_in, todoist):
    SyncLink.objects.filter(pk=todoist.pk).update(sync_rules={}, deletion_policy="propagate")

    answer = signed_in.post(url(todoist), FOLLOW)

    assert answer.status_code == 302
    assert _saved(todoist) == (None, "")


def test_own_rules_left_empty_sync_every_task_of_the_link(signed_in, todoist):
    Connection.objects.filter(pk=todoist.connection_id).update(sync_rules={"task": {"tags": ["x"]}})

    signed_in.post(url(todoist), {"rules_from": "own", "deletion_policy": ""})

    assert _saved(todoist) == ({}, "")


def test_a_calendar_link_asks_for_the_event_window_only(signed_in, user):
    google = connect(user, "google-calendar", {}, "alice@gmail.com").sync_links.get()
    form = {"rules_from": "own", "rules-event_past_days": "30", "deletion_policy": "propagate"}
    form["rules-task_open_only"] = "on"  # not a field of a calendar: not read

    page = signed_in.get(url(google)).content.decode()
    answer = signed_in.post(url(google), form)

    assert "Events from" in page
    assert "Only tasks not completed" not in page
    assert answer["Location"] == "/sync/lists/#calendar-main"
    assert _saved(google) == ({"event": {"past_days": 30}}, "propagate")


# --- bad input: a 400 in words, nothing changed ------------------------------------------------
BAD = [
    ("an unknown policy", {**OPEN_ONLY, "deletion_policy": "shred"}, "Choose what a deletion does"),
    ("a policy too long", {**OPEN_ONLY, "deletion_policy": "a" * 5000}, "Choose what a deletion"),
    (
        "no choice of rules",
        {"deletion_policy": "ask"},
        "follows the rules of the connection or has",
    ),
    ("an unknown choice of rules", {**OPEN_ONLY, "rules_from": "mine"}, "follows the rules of"),
    (
        "too many days",
        {**OPEN_ONLY, "rules-task_due_within_days": str(MAX_DAYS + 1)},
        f"less than or equal to {MAX_DAYS}",
    ),
    ("days below zero", {**OPEN_ONLY, "rules-task_due_within_days": "-1"}, "greater than or equal"),
    ("days not a number", {**OPEN_ONLY, "rules-task_due_within_days": "soon"}, "whole number"),
    (
        "too many tags",
        {**OPEN_ONLY, "rules-task_tags": ",".join(f"t{i}" for i in range(MAX_TAGS + 1))},
        f"At most {MAX_TAGS} tags",
    ),
    ("tags too long", {**OPEN_ONLY, "rules-task_tags": "x" * (MAX_TAGS_TEXT + 1)}, "at most"),
    ("a tag too long", {**OPEN_ONLY, "rules-task_tags": "x" * 101}, "A tag has at most"),
]


@pytest.mark.parametrize(("form", "said"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_refused_in_words_and_changes_nothing(signed_in, todoist, form, said):
    answer = signed_in.post(url(todoist), form)

    assert answer.status_code == 400
    assert said in answer.content.decode()
    assert _saved(todoist) == (None, "")
    assert not AuditEvent.objects.filter(action="sync.link.settings_changed").exists()


def test_rules_changed_while_following_the_connection_are_a_slip_told_of(signed_in, todoist):
    slip = {**FOLLOW, "rules-task_open_only": "on"}

    answer = signed_in.post(url(todoist), slip)
    preview = signed_in.post(preview_url(todoist), slip)

    assert answer.status_code == 400
    assert "To use the rules you changed, choose “Its own rules”." in answer.content.decode()
    assert "choose “Its own rules”" in preview.content.decode()
    assert _saved(todoist) == (None, "")


def test_rules_the_model_refuses_are_shown_in_words_and_not_saved(signed_in, todoist, monkeypatch):
    # The form and the model check the same bounds; should they ever part, the model's words
    # are shown and nothing is saved (the page still says what is in force).
    monkeypatch.setattr(
        "integrations.rules_form.RulesForm.rules", lambda self: {"task": {"status": "later"}}
    )

    answer = signed_in.post(url(todoist), OPEN_ONLY)

    assert answer.status_code == 400
    page = answer.content.decode()
    assert "status: must be one of any, open" in page
    assert "All tasks (as the connection)" in page
    assert _saved(todoist) == (None, "")


def test_another_persons_link_is_not_found(signed_in, theirs):
    assert signed_in.get(url(theirs)).status_code == 404
    assert signed_in.post(url(theirs), OPEN_ONLY).status_code == 404
    assert signed_in.post(preview_url(theirs), OPEN_ONLY).status_code == 404
    assert _saved(theirs) == (None, "")


def test_signed_out_is_sent_to_log_in(client, todoist):
    assert client.get(url(todoist))["Location"].startswith("/accounts/login/")
    assert client.post(url(todoist), OPEN_ONLY).status_code == 302
    assert _saved(todoist) == (None, "")


def test_saving_needs_the_csrf_token(user, todoist):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    assert client.post(url(todoist), OPEN_ONLY).status_code == 403
    assert client.post(preview_url(todoist), OPEN_ONLY).status_code == 403
    assert _saved(todoist) == (None, "")


def test_the_preview_is_a_post_only(signed_in, todoist):
    assert signed_in.get(preview_url(todoist)).status_code == 405
    assert signed_in.delete(url(todoist)).status_code == 405


# --- the preview -------------------------------------------------------------------------------
@pytest.fixture
def home_tasks(user, todoist) -> TaskList:
    """Home, fed by p-1: an open task and a done one synced with Todoist; the Inbox a done task."""
    home = TaskList.objects.create(user=user, name="Home")
    SyncLink.objects.filter(pk=todoist.pk).update(task_list=home)
    Task.objects.create(user=user, title="Fix the tap", task_list=home)
    done = Task.objects.create(user=user, title="Paid", task_list=home, status="done")
    ItemLink.objects.create(
        connection=todoist.connection, item_type="task", task=done, remote_id="1"
    )
    Task.objects.create(user=user, title="Called", status="done")
    return home


def test_the_preview_counts_the_links_list_with_the_rules_being_chosen(
    signed_in, todoist, home_tasks
):
    own = signed_in.post(preview_url(todoist), OPEN_ONLY).content.decode()
    following = signed_in.post(preview_url(todoist), FOLLOW).content.decode()

    assert "1 of 2 tasks in “Home” matches." in own
    assert "1 synced task would stop syncing" in own
    assert "2 of 2 tasks in “Home” match." in following
    assert "would stop" not in following
    assert _saved(todoist) == (None, "")  # counted, never saved


def test_the_preview_follows_the_connections_rules_when_following(signed_in, todoist, home_tasks):
    Connection.objects.filter(pk=todoist.connection_id).update(
        sync_rules={"task": {"status": "open"}}
    )

    shown = {**FOLLOW, "rules-task_open_only": "on"}  # the connection's rules, as the page shows

    following = signed_in.post(preview_url(todoist), shown).content.decode()

    assert "1 of 2 tasks in “Home” matches." in following


def test_the_preview_asks_to_correct_bad_rules(signed_in, todoist):
    bad = {**OPEN_ONLY, "rules-task_due_within_days": "-3"}

    answer = signed_in.post(preview_url(todoist), bad)

    assert answer.status_code == 200
    assert "Correct the rules above" in answer.content.decode()


@pytest.mark.parametrize("many", [2, 30])
def test_the_page_and_its_preview_cost_the_same_queries_however_many_items(
    signed_in, user, todoist, home_tasks, django_assert_max_num_queries, many
):
    for i in range(many):
        task = Task.objects.create(user=user, title=f"t{i}", task_list=home_tasks)
        ItemLink.objects.create(
            connection=todoist.connection, item_type="task", task=task, remote_id=f"r{i}"
        )

    with django_assert_max_num_queries(12):
        page = signed_in.get(url(todoist)).content.decode()
    with django_assert_max_num_queries(8):
        preview = signed_in.post(preview_url(todoist), OPEN_ONLY).content.decode()

    assert f"{many + 2} of {many + 2} tasks in “Home” match." in page
    assert f"{many + 1} of {many + 2} tasks in “Home” match" in preview


# --- where it is linked from ---------------------------------------------------------------
def test_the_connections_settings_page_links_to_each_links_settings(signed_in, todoist):
    page = signed_in.get(f"/integrations/connections/{todoist.connection_id}/settings/")

    section = page.content.decode().split('id="where-title"')[1].split("</section>")[0]
    assert f'href="{url(todoist)}"' in section
    assert "p-1: All tasks (as the connection)" in section


@pytest.mark.parametrize("many", [2, 30])
def test_the_lists_page_says_each_links_rules_in_the_same_queries_however_many_links(
    signed_in, user, django_assert_max_num_queries, many
):
    home = TaskList.objects.create(user=user, name="Home")
    for i in range(many):
        link = connect(user, "todoist", {"project_id": f"p-{i}"}, f"a{i}").sync_links.get()
        SyncLink.objects.filter(pk=link.pk).update(
            task_list=home,
            is_destination=False,
            sync_rules={"task": {"status": "open"}},
            deletion_policy="ask",
        )

    with django_assert_max_num_queries(10):
        page = signed_in.get("/sync/lists/").content.decode()

    assert page.count("Tasks not completed; if an item is deleted: ask me") == many
    assert page.count('href="/sync/links/') == many
