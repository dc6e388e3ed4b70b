"""The OAuth backends by service key, built from the registry.

A service whose provider lives in a package (`integrations/providers/<key>/provider.py`) and has
an `oauth.py` next to it is an OAuth service; that module names its backend in `BACKEND`. The
backends only connect an account to the logged-in user: see `integrations.oauth.flow`.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from integrations.oauth.base import ProviderOAuth2
from integrations.providers import REGISTRY, package_module


def _oauth_module(key: str) -> str:
    module = package_module(key, "oauth")
    return module if module and find_spec(module) is not None else ""


BACKENDS: dict[str, type[ProviderOAuth2]] = {
    key: import_module(module).BACKEND for key in REGISTRY if (module := _oauth_module(key))
}
