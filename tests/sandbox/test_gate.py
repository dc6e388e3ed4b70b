"""The sandbox answers only when it is switched on, and never behind an https PUBLIC_URL."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

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


@pytest.mark.parametrize(
    ("environment", "on"),
    [
        ({}, False),
        ({"DAYFLOW_SANDBOX": "1"}, True),
        ({"DAYFLOW_SANDBOX": "1", "PUBLIC_URL": "https://dayflow.example.com"}, False),
    ],
)
def test_the_settings_read_the_switch_from_the_environment(environment, on, tmp_path):
    script = (
        "import django; django.setup(); "
        "from integrations.sandbox.gate import enabled; print(enabled())"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DAYFLOW_SANDBOX", "PUBLIC_URL")}
    env |= {"DJANGO_SETTINGS_MODULE": "dayflow.settings", "DAYFLOW_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, **environment},
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )

    assert result.stdout.strip() == str(on)
