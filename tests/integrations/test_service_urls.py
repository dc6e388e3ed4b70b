"""A sandboxed service's provider and OAuth backend reach the emulator; the others the real
service. Only the base URLs change (integrations/service_urls.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from integrations.oauth.backends import BACKENDS
from integrations.providers import PROVIDERS
from integrations.providers.todoist.provider import TodoistProvider

BASE = "http://127.0.0.1:8000/sandbox/todoist"


@pytest.fixture
def todoist_sandboxed(settings):
    settings.DAYFLOW_SANDBOX = True
    settings.PUBLIC_URL = "http://127.0.0.1:8000"
    settings.DAYFLOW_SERVICE_URLS = {"todoist": BASE}
    return settings


def test_a_sandboxed_provider_declares_the_emulators_urls_with_the_real_paths(todoist_sandboxed):
    provider = PROVIDERS["todoist"]

    assert issubclass(provider, TodoistProvider)
    assert provider.authorization_url == f"{BASE}/oauth/authorize"
    assert provider.token_url == f"{BASE}/oauth/access_token"
    assert provider.revoke_url == f"{BASE}/api/v1/revoke"
    assert provider.api_base == f"{BASE}/api/v1"
    assert PROVIDERS["todoist"] is provider  # the same class on every lookup


def test_the_oauth_backend_reaches_the_emulator_for_tokens_and_identity(todoist_sandboxed):
    backend = BACKENDS["todoist"](None, None)

    assert backend.authorization_url() == f"{BASE}/oauth/authorize"
    assert backend.access_token_url() == f"{BASE}/oauth/access_token"
    assert backend.identity_url == f"{BASE}/api/v1/sync"


def test_a_service_not_sandboxed_keeps_the_real_urls(todoist_sandboxed):
    assert PROVIDERS["notion"].api_base == "https://api.notion.com/v1"
    assert BACKENDS["clickup"](None, None).identity_url == "https://api.clickup.com/api/v2/user"


@pytest.mark.parametrize("public_url", ["http://127.0.0.1:8000", "https://dayflow.example.com"])
def test_with_the_sandbox_off_every_service_is_the_real_one(settings, public_url):
    settings.DAYFLOW_SANDBOX = "https" in public_url  # on, but behind https: off all the same
    settings.PUBLIC_URL = public_url
    settings.DAYFLOW_SERVICE_URLS = {"todoist": BASE}

    assert PROVIDERS["todoist"] is TodoistProvider
    assert BACKENDS["todoist"](None, None).identity_url == "https://api.todoist.com/api/v1/sync"


def settings_in(environment: dict[str, str], tmp_path) -> dict:
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.DAYFLOW_SERVICE_URLS, s.DAYFLOW_OAUTH_CLIENTS, "
        "s.WEBHOOKS_LINEAR_APP_SECRET, list(s.CELERY_BEAT_SCHEDULE)]))"
    )
    names = ("DAYFLOW_SANDBOX", "PUBLIC_URL", "DAYFLOW_SANDBOX_CALDAV_URL", "LINEAR_WEBHOOK_SECRET")
    env = {k: v for k, v in os.environ.items() if k not in names and "_CLIENT_" not in k}
    env |= {"DJANGO_SETTINGS_MODULE": "dayflow.settings", "DAYFLOW_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, **environment},
        capture_output=True,
        text=True,
        check=True,
        cwd=django_settings.BASE_DIR,
    )
    urls, oauth_clients, linear_secret, beat = json.loads(result.stdout)
    return {"urls": urls, "clients": oauth_clients, "linear_secret": linear_secret, "beat": beat}


def test_the_sandbox_takes_every_service_without_a_real_client(tmp_path):
    found = settings_in(
        {
            "DAYFLOW_SANDBOX": "1",
            "NOTION_CLIENT_ID": "real-id",
            "NOTION_CLIENT_SECRET": "real-secret",
            "DAYFLOW_SANDBOX_CALDAV_URL": "http://127.0.0.1:5232/",
        },
        tmp_path,
    )

    assert found["urls"]["todoist"] == "http://127.0.0.1:8000/sandbox/todoist"
    assert "notion" not in found["urls"]  # real credentials: the real service
    assert found["clients"]["notion"] == {"client_id": "real-id", "client_secret": "real-secret"}
    assert found["clients"]["todoist"]["client_id"] == "sandbox-todoist"
    assert found["urls"]["fastmail"] == found["urls"]["apple-calendar"] == "http://127.0.0.1:5232/"
    assert found["linear_secret"]
    assert "sandbox-deliver-webhooks" in found["beat"]


@pytest.mark.parametrize(
    "environment",
    [{}, {"DAYFLOW_SANDBOX": "1", "PUBLIC_URL": "https://dayflow.example.com"}],
)
def test_no_service_is_sandboxed_when_the_sandbox_is_off(environment, tmp_path):
    found = settings_in(environment, tmp_path)

    assert found["urls"] == {}
    assert found["clients"]["todoist"] == {"client_id": "", "client_secret": ""}
    assert "sandbox-deliver-webhooks" not in found["beat"]
