"""A person with a Todoist and a Linear connection, in Chromium on a phone: makes the lists
"Home" and "Work" on the lists page, sends Home's new tasks to Todoist and Work's to Linear,
makes a task in Work from the task form, and reads the lists page; then the same page on a
desktop, and a connection's "Where its items go" on its settings page. Each fits the width,
passes axe, and is screenshotted."""

from __future__ import annotations

import pytest

from dayflow.models import Task, TaskList
from integrations.models import Connection
from sync.models import SyncLink
from tests.browser import assert_accessible, screenshot
from tests.sync.conftest import connect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}


def fits_the_width(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


@pytest.fixture
def connections(user) -> dict[str, Connection]:
    return {
        "todoist": connect(user, "todoist", {"project_id": "p-1"}, "alice@todoist"),
        "linear": connect(user, "linear", {"team_id": "t-1"}, "alice@linear"),
    }


def _make_list(page, name: str) -> None:
    page.fill("#id_list-name", name)
    page.click("button:has-text('Make list')")
    page.wait_for_selector(f".messages :text('List “{name}” made.')")


def _send(page, name: str, destination: str) -> None:
    task_list = TaskList.objects.get(name=name)
    row = f"#list-{task_list.pk}"
    page.select_option(f"{row} select[name=link]", label=destination)
    page.click(f"{row} .destination-form button")
    page.wait_for_selector(f".messages :text('New tasks of “{name}” go to {destination}.')")


def test_a_person_sends_each_lists_new_tasks_to_a_service_and_makes_a_task_in_one(
    signed_in_page, live_server, user, connections
):
    page = signed_in_page(user)  # phone-sized
    page.goto(f"{live_server.url}/tasks/")
    page.click("nav a:has-text('Lists')")
    page.wait_for_selector("h1:has-text('Lists and calendars')")
    assert "New tasks go to Todoist · p-1" in page.inner_text("#list-main")

    # a reserved name is refused next to its field
    page.fill("#id_list-name", "inbox")
    page.click("button:has-text('Make list')")
    page.wait_for_selector(".new-list .errorlist:has-text('is always there')")
    assert page.get_attribute("#id_list-name", "aria-invalid") == "true"
    assert_accessible(page)
    screenshot(page, "lists-refused-phone")

    # when they make Home and Work, and send Home's new tasks to Todoist and Work's to Linear
    _make_list(page, "Home")
    _make_list(page, "Work")
    _send(page, "Home", "Todoist (alice@todoist) · p-1")
    _send(page, "Work", "Linear (alice@linear) · t-1")

    # and make a task in Work from the task form
    page.goto(f"{live_server.url}/tasks/new/")
    page.fill("#id_title", "Send the invoice")
    page.select_option("#id_task_list", label="Work")
    page.click("button:has-text('Save task')")
    page.wait_for_selector(".messages :text('Task “Send the invoice” added.')")
    work = TaskList.objects.get(name="Work")
    assert Task.objects.get(title="Send the invoice").task_list == work
    row = page.inner_text("li.item:has-text('Send the invoice')")
    assert "in Work" in row
    assert "Stays in DayFlow" not in row  # Work's new tasks go to Linear
    assert fits_the_width(page)
    assert_accessible(page)
    screenshot(page, "lists-tasks-phone")

    # then the lists page says where each list's new tasks go, and how many it holds
    page.goto(f"{live_server.url}/sync/lists/")
    home = TaskList.objects.get(name="Home")
    assert "New tasks stay in DayFlow (no destination)" in page.inner_text("#list-main")
    assert "New tasks go to Todoist · p-1" in page.inner_text(f"#list-{home.pk}")
    work_row = page.inner_text(f"#list-{work.pk}")
    assert "1 task" in work_row
    assert "New tasks go to Linear · t-1" in work_row
    linear = SyncLink.objects.get(connection=connections["linear"])
    assert (linear.task_list, linear.is_destination) == (work, True)
    assert fits_the_width(page)
    assert_accessible(page)
    screenshot(page, "lists-phone")

    # and on a desktop
    page.set_viewport_size(DESKTOP)
    page.reload()
    assert fits_the_width(page)
    assert_accessible(page)
    screenshot(page, "lists-desktop")


def test_a_connections_settings_say_where_its_items_go(
    signed_in_page, live_server, user, connections
):
    home = TaskList.objects.create(user=user, name="Home")
    todoist = connections["todoist"]
    link = todoist.sync_links.get()
    page = signed_in_page(user)
    page.goto(f"{live_server.url}/integrations/connections/{todoist.pk}/settings/")

    # the project p-1 feeds the Inbox, whose new tasks go there; they move it to Home
    assert page.is_checked(f"#link-{link.pk}-destination")
    page.select_option(f"#link-{link.pk}-side", label="Home")
    page.click(f"#link-{link.pk} button")
    page.wait_for_selector(".messages :text('p-1 feeds “Home”; new tasks of “Home” go here.')")

    link.refresh_from_db()
    assert (link.task_list, link.is_destination) == (home, True)
    assert page.input_value(f"#link-{link.pk}-side") == str(home.pk)
    assert fits_the_width(page)
    assert_accessible(page)
    page.locator(".where-items-go").scroll_into_view_if_needed()
    screenshot(page, "where-items-go-phone")


def test_a_person_gives_a_project_rules_of_its_own_from_the_lists_page(
    signed_in_page, live_server, user, connections
):
    Task.objects.create(user=user, title="Call the plumber")
    Task.objects.create(user=user, title="Paid the rent", status="done")
    link = SyncLink.objects.get(connection=connections["todoist"])
    page = signed_in_page(user)  # phone-sized
    page.goto(f"{live_server.url}/sync/lists/")
    line = f"#in-force-{link.pk}"
    assert "p-1: All tasks (as the connection)" in page.inner_text(line)

    # from the Inbox's row, to the project's settings: it follows the connection
    page.click(f"{line} a")
    page.wait_for_selector("h1:has-text('Settings of p-1')")
    preview = page.locator("#rules-preview")
    preview.get_by_text("2 of 2 tasks in “Inbox” match.").wait_for()

    # its own rules: only tasks not completed; the count changes before saving
    page.get_by_label("Its own rules").check()
    page.get_by_label("Only tasks not completed").check()
    preview.get_by_text("1 of 2 tasks in “Inbox” matches.").wait_for()
    page.select_option("#id_deletion_policy", label="Ask me before deleting")
    link.refresh_from_db()
    assert link.sync_rules is None  # counted, not saved
    assert fits_the_width(page)
    assert_accessible(page)
    screenshot(page, "link-settings-phone")
    page.set_viewport_size(DESKTOP)
    assert fits_the_width(page)
    screenshot(page, "link-settings-desktop")

    # saved, the lists page says so in words
    page.click("form.link-settings button[type=submit]")
    page.wait_for_selector(".messages :text('Settings of p-1 are saved.')")
    link.refresh_from_db()
    assert (link.sync_rules, link.deletion_policy) == ({"task": {"status": "open"}}, "ask")
    said = page.inner_text(line)
    assert "p-1: Tasks not completed; if an item is deleted: ask me before deleting." in said
    assert "as the connection" not in said
    assert fits_the_width(page)
    assert_accessible(page)
    screenshot(page, "link-in-force-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits_the_width(page)
    screenshot(page, "link-in-force-phone")
