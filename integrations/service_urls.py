"""Where each service is reached: the real service, or an emulator of it (the sandbox).

The providers do not change for the sandbox. `DAYFLOW_SERVICE_URLS` (service key -> base URL)
names the services that are sandboxed; for those, every URL a provider or its OAuth backend
declares keeps its path and gets the base's scheme and host instead of the real one. The
emulators in `integrations/sandbox/` lay their endpoints out under `/sandbox/<key>/` with the
real services' paths, so `https://todoist.com/oauth/authorize` becomes
`<base>/oauth/authorize`. This is the only place that happens: the registry hands out the
rebased provider class (`integrations.providers.Providers`) and the OAuth backends rebase
their identity endpoint (`integrations.oauth.base.ProviderOAuth2`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings

if TYPE_CHECKING:
    from integrations.providers.base import Provider

# The URLs a provider class declares; its OAuth backend's `identity_url` goes through `rebase`.
PROVIDER_URLS = ("authorization_url", "token_url", "revoke_url", "api_base")
_rebased: dict[tuple[type, str], type] = {}


def sandbox_on() -> bool:
    """On with DAYFLOW_SANDBOX, never behind an https PUBLIC_URL: a deployment reachable from
    the internet must not hand out tokens to anyone who clicks "Allow"."""
    public = str(getattr(settings, "PUBLIC_URL", ""))
    return bool(getattr(settings, "DAYFLOW_SANDBOX", False)) and not public.startswith("https://")


def base_url(key: str) -> str:
    """The emulator's base URL for a sandboxed service; "" for one reached for real."""
    if not sandbox_on():
        return ""
    return str(getattr(settings, "DAYFLOW_SERVICE_URLS", {}).get(key, "")).rstrip("/")


def sandboxed(key: str) -> bool:
    return bool(base_url(key))


def rebase(key: str, url: str) -> str:
    """`url` with the sandbox's base in place of the real service's scheme and host."""
    base = base_url(key)
    if not base or not url:
        return url
    return base + urlsplit(url).path


def for_service(provider: type[Provider]) -> type[Provider]:
    """The provider class itself, or for a sandboxed service a subclass declaring the same
    endpoints at the emulator (one per base URL, so the class stays the same between calls)."""
    base = base_url(provider.key)
    if not base:
        return provider
    if (provider, base) not in _rebased:
        urls = {name: rebase(provider.key, getattr(provider, name)) for name in PROVIDER_URLS}
        namespace = {**urls, "__module__": provider.__module__}
        _rebased[provider, base] = type(provider.__name__, (provider,), namespace)
    return _rebased[provider, base]
