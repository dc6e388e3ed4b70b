"""A person connects Todoist through the sandbox in Chromium: "Connect (sandbox)" on the
integrations page, "Allow" on the emulator's authorize page, and back to a connection."""

from __future__ import annotations

import pytest

from integrations.models import Connection
from tests.browser import assert_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_sandbox_goes_through_the_emulators_allow_page(sandboxed, signed_in_page, user):
    page = signed_in_page(user)
    page.goto(f"{sandboxed.url}/integrations/")
    screenshot(page, "integrations-sandbox")
    assert_accessible(page)

    page.click("#service-todoist button:has-text('Connect (sandbox)')")
    assert "Sandbox — not the real Todoist" in page.inner_text("body")
    page.click("button:has-text('Allow')")

    # A task service syncs one project: the person is taken to choose it (issue 15).
    page.wait_for_url(lambda at: at.endswith("/settings/?pick=1"))
    connection = Connection.objects.get(user=user, service__key="todoist")
    assert page.url == f"{sandboxed.url}/integrations/connections/{connection.pk}/settings/?pick=1"
    assert "Needs setup" in page.inner_text("main")
    assert connection.status == Connection.Status.CONNECTED
    assert connection.setup_needed == "choose a Todoist project"
