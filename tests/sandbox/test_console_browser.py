"""A person edits a Todoist task "at the service" in the sandbox console, on a phone-sized
Chromium page: the task changes at the emulator and Todoist's webhook is queued."""

from __future__ import annotations

import json

import pytest

from integrations.sandbox.desks import DESKS
from integrations.sandbox.models import Delivery, Item
from tests.browser import assert_accessible, screenshot
from tests.sandbox.console_fixtures import connector

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def at_service(register, connect, user):
    return connector(register, connect, user)


def test_editing_a_todoist_task_at_the_service(signed_in_page, live_server, at_service, user):
    # given the person's Todoist sandbox account, connected with a webhook
    account, _ = at_service("todoist")
    task = Item.objects.get(account=account, kind="task", data__content="Call the dentist")
    page = signed_in_page(user)

    # when they open it from the console's list of their accounts
    page.goto(f"{live_server.url}/sandbox/console/")
    screenshot(page, "sandbox-console-index")
    assert_accessible(page)
    page.click(f"a:has-text('{account.login}')")
    page.wait_for_selector("text=Sandbox — you are acting as Todoist, not DayFlow")
    screenshot(page, "sandbox-console-todoist")
    assert_accessible(page)
    page.click("a:has-text('Call the dentist')")

    # and rename it, complete it and move its due date
    page.fill("input[name=title]", "Call the dentist back")
    page.check("input[name=done]")
    page.fill("input[name=due]", "2026-12-24")
    page.fill("input[name=due_time]", "11:15")
    screenshot(page, "sandbox-console-todoist-edit")
    assert_accessible(page)
    page.click("button:has-text('Save at Todoist')")

    # then the list says Todoist sends its webhook, and the task changed at the service
    page.wait_for_selector("text=Todoist now sends its webhook")
    screenshot(page, "sandbox-console-todoist-saved")
    assert_accessible(page)
    task.refresh_from_db()
    now = DESKS["todoist"].read(task)
    assert (now.title, now.done, str(now.due), str(now.due_time)) == (
        "Call the dentist back",
        True,
        "2026-12-24",
        "11:15:00",
    )
    events = [json.loads(bytes(d.body))["event_name"] for d in Delivery.objects.order_by("pk")]
    assert events == ["item:updated", "item:completed"]
