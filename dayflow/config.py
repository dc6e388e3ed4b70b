"""Configuration helpers: environment variables with embedded defaults that need no server."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def persistent_secret(var_dir: Path, filename: str, make: callable) -> str:
    """Read a generated secret from var/, creating it owner-only on first run.

    The file is created with O_EXCL so two processes starting together agree on one value.
    """
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / filename
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        value = make()
        handle.write(value + "\n")
    return value


def new_secret_key() -> str:
    return secrets.token_urlsafe(50)


def new_fernet_key() -> str:
    return Fernet.generate_key().decode()


def sandbox_client(secret_key: str, service: str) -> dict[str, str]:
    """DayFlow's client at a sandbox service: stable for one SECRET_KEY, so every process (web,
    worker, beat, `manage.py sandbox_clients`) agrees on it without storing it anywhere."""
    secret = hashlib.sha256(f"{secret_key}:sandbox:{service}".encode()).hexdigest()[:32]
    return {"client_id": f"sandbox-{service}", "client_secret": secret}
