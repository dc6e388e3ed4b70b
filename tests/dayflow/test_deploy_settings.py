"""Production settings pass Django's deployment checks; secrets are generated owner-only."""

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(env_overrides: dict, *args: str) -> subprocess.CompletedProcess:
    # DJANGO_ALLOW_ASYNC_UNSAFE is the browser tests' (tests/browser.py), never a deployment's.
    harness = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in harness}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env | env_overrides,
    )


def test_check_deploy_passes_with_https_public_url(tmp_path):
    result = manage(
        {
            "PUBLIC_URL": "https://dayflow.example.com",
            "ALLOWED_HOSTS": "dayflow.example.com",
            "DAYFLOW_VAR_DIR": str(tmp_path),
        },
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_without_https(tmp_path):
    result = manage(
        {"PUBLIC_URL": "http://dayflow.example.com", "DAYFLOW_VAR_DIR": str(tmp_path)},
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )

    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT" in result.stderr + result.stdout


def test_first_run_generates_owner_only_secrets_and_keeps_them(tmp_path):
    env = {"DAYFLOW_VAR_DIR": str(tmp_path), "DAYFLOW_ENCRYPTION_KEYS": ""}
    show = (
        "shell",
        "-v0",
        "-c",
        "from django.conf import settings; "
        "print(settings.SECRET_KEY, settings.DAYFLOW_ENCRYPTION_KEYS[0])",
    )

    first = manage(env, *show).stdout
    second = manage(env, *show).stdout

    assert first == second
    assert len(first.split()) == 2
    for name in ("secret_key", "encryption_key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
