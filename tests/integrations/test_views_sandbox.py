"""The integrations page offers "Connect (sandbox)" for each sandboxed service, labelled so
nobody mistakes it for the real one; a service with a real client keeps its plain button."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db
LOCAL = "http://127.0.0.1:8000"
RADICALE = "http://127.0.0.1:5232/"


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def sandbox(settings):
    settings.DAYFLOW_SANDBOX = True
    settings.PUBLIC_URL = LOCAL
    settings.DAYFLOW_SERVICE_URLS = {
        "todoist": f"{LOCAL}/sandbox/todoist",
        "apple-calendar": RADICALE,
    }
    settings.DAYFLOW_OAUTH_CLIENTS = {
        "todoist": {"client_id": "sandbox-todoist", "client_secret": "s"},
        "notion": {"client_id": "real-notion", "client_secret": "real"},
    }
    return settings


def card(page: str, key: str) -> str:
    return re.search(rf'<li id="service-{key}">(.*?)</li>', page, re.S).group(1)


def test_a_sandboxed_service_offers_connect_sandbox(logged_in, sandbox):
    page = logged_in.get("/integrations/").content.decode()

    todoist = card(page, "todoist")
    assert "Connect (sandbox)" in todoist
    assert "not the real Todoist" in todoist
    assert 'action="/integrations/todoist/connect/"' in todoist


def test_a_service_with_a_real_client_offers_the_real_connect(logged_in, sandbox):
    page = logged_in.get("/integrations/").content.decode()

    notion = card(page, "notion")
    assert "Connect</button>" in notion
    assert "sandbox" not in notion
    assert "not configured" in card(page, "clickup")  # neither real nor sandboxed


def test_a_sandboxed_caldav_service_names_the_sandbox_server(logged_in, sandbox):
    page = logged_in.get("/integrations/").content.decode()

    assert "Connect (sandbox server)" in card(page, "apple-calendar")
    assert "sandbox" not in card(page, "fastmail")


def test_the_caldav_form_is_filled_in_for_the_sandbox_server(logged_in, sandbox, user):
    form = logged_in.get("/integrations/apple-calendar/connect/")

    assert form.context["form"].initial["server_url"] == RADICALE
    assert form.context["form"].initial["username"] == user.get_username()
    assert "not the real Apple Calendar" in form.content.decode()


def test_with_the_sandbox_off_nothing_says_sandbox(logged_in, sandbox):
    sandbox.DAYFLOW_SANDBOX = False

    assert "sandbox" not in logged_in.get("/integrations/").content.decode().lower()


def test_the_page_links_to_the_sandbox_console_while_a_service_is_sandboxed(logged_in, sandbox):
    page = logged_in.get("/integrations/").content.decode()

    assert 'href="/sandbox/console/">Sandbox console</a>' in page


def test_no_sandbox_console_link_when_the_sandbox_is_off(logged_in, settings):
    settings.DAYFLOW_SANDBOX = False
    settings.DAYFLOW_SERVICE_URLS = {}

    assert "Sandbox console" not in logged_in.get("/integrations/").content.decode()
