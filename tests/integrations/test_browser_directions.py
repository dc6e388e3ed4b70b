"""A person sets the direction of one field in Chromium, saves, and finds it again."""

from __future__ import annotations

import pytest

from integrations.models import Connection, Credential
from integrations.providers.base import Container, ItemType
from integrations.providers.todoist.provider import TodoistProvider
from tests.browser import assert_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def todoist(connection, monkeypatch) -> Connection:
    projects = [Container("p-1", "Inbox", "project", item_types=(ItemType.TASK,))]
    monkeypatch.setattr(TodoistProvider, "list_containers", lambda self: projects)
    Credential.objects.create(connection=connection, access_token="t")
    return connection


def test_a_direction_is_chosen_saved_and_shown_again(signed_in_page, live_server, todoist, user):
    page = signed_in_page(user)
    address = f"{live_server.url}/integrations/connections/{todoist.pk}/settings/"
    page.goto(address)

    page.get_by_label("Tasks: due date").select_option("from_service")
    page.get_by_label("Tasks: list").select_option("off")
    page.click("form.settings-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/integrations/")
    page.goto(address)

    due = page.get_by_role("row", name="Due date")
    assert due.get_by_role("combobox").input_value() == "from_service"
    assert "←" in due.inner_text()
    listed = page.get_by_role("row", name="List")
    assert listed.get_by_role("combobox").input_value() == "off"
    todoist.refresh_from_db()
    assert todoist.field_directions == {"task": {"due": "from_service", "list": "off"}}
    page.locator("fieldset.field-directions").scroll_into_view_if_needed()
    screenshot(page, "directions-phone")
    assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "directions-desktop")
