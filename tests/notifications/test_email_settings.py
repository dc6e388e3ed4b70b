"""Email goes to the console on the embedded setup, and to SMTP once the environment names a
server (read by dayflow/settings.py in a fresh process, as a deployment would)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOW = (
    "from django.conf import settings as s; "
    "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.DEFAULT_FROM_EMAIL)"
)
EMAIL_VARS = {"EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS", "EMAIL_BACKEND", "DEFAULT_FROM_EMAIL"}


def email_settings(tmp_path: Path, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in EMAIL_VARS}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {SHOW}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=base
        | {"DJANGO_SETTINGS_MODULE": "dayflow.settings", "DAYFLOW_VAR_DIR": str(tmp_path)}
        | env,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {},
            "django.core.mail.backends.console.EmailBackend  25 False DayFlow <dayflow@localhost>",
        ),
        (
            {"EMAIL_HOST": "smtp.example.com", "EMAIL_USE_TLS": "true"},
            "django.core.mail.backends.smtp.EmailBackend smtp.example.com 587 True "
            "DayFlow <dayflow@localhost>",
        ),
        (
            {"EMAIL_HOST": "mail.example.com", "EMAIL_PORT": "2525", "DEFAULT_FROM_EMAIL": "a@b.c"},
            "django.core.mail.backends.smtp.EmailBackend mail.example.com 2525 False a@b.c",
        ),
    ],
)
def test_the_email_backend_follows_the_environment(tmp_path, env, expected):
    assert email_settings(tmp_path, **env) == expected
