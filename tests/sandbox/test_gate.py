"""The sandbox answers only when it is switched on, and never behind an https PUBLIC_URL."""

from __future__ import annotations

import pytest

from integrations.sandbox.gate import enabled

PAGE = "/sandbox/todoist/oauth/authorize"


@pytest.fixture
def registered(register):
    return register("todoist")


def test_the_sandbox_is_off_unless_switched_on(client, settings, db):
    settings.DAYFLOW_SANDBOX = False

    assert not enabled()
    assert client.get(PAGE).status_code == 404
    assert client.post("/sandbox/todoist/api/v1/sync").status_code == 404


def test_dayflow_sandbox_switches_it_on(client, registered):
    response = client.get(PAGE, {"client_id": registered.client_id})

    assert enabled()
    assert response.status_code == 200
    assert b"Sandbox \xe2\x80\x94 not the real Todoist" in response.content


def test_an_https_public_url_forces_it_off(client, registered, settings):
    settings.PUBLIC_URL = "https://dayflow.example.com"

    assert not enabled()
    assert client.get(PAGE, {"client_id": registered.client_id}).status_code == 404
    assert client.post("/sandbox/todoist/oauth/access_token").status_code == 404
