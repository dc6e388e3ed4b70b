"""The registry is the one list of services: every other table is keyed by it, and every piece a
provider's declarations promise exists. A new service that forgets one fails here, by name."""

from __future__ import annotations

import pytest
from webhooks.inbound import INBOUND, Inbound

from dayflow import settings as project_settings
from integrations.oauth.backends import BACKENDS
from integrations.providers import PROVIDERS, REGISTRY
from integrations.providers.base import AuthStyle, Provider
from webhooks.handshakes import HANDSHAKES
from webhooks.subscriptions import REGISTRARS, Registrar

SERVICES = sorted(REGISTRY)
TABLES = {
    "BACKENDS": BACKENDS,
    "INBOUND": INBOUND,
    "REGISTRARS": REGISTRARS,
    "HANDSHAKES": HANDSHAKES,
    "DAYFLOW_OAUTH_CLIENTS": project_settings.DAYFLOW_OAUTH_CLIENTS,
}


def overrides(obj: object, base: type, name: str) -> bool:
    return getattr(type(obj), name) is not getattr(base, name)


def oauth(provider: type[Provider]) -> bool:
    return provider.auth is AuthStyle.OAUTH2 and bool(provider.authorization_url)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_table_names_only_registered_services(table):
    assert set(TABLES[table]) <= set(REGISTRY)


@pytest.mark.parametrize("key", SERVICES)
def test_the_provider_answers_to_its_registry_key(key):
    assert PROVIDERS[key].key == key


@pytest.mark.parametrize("key", SERVICES)
def test_every_service_has_its_oauth_client_settings(key):
    # Left out of the settings, a service would show "not configured" forever, with no error.
    assert key in project_settings.DAYFLOW_OAUTH_CLIENTS


@pytest.mark.parametrize("key", SERVICES)
def test_oauth_endpoints_come_with_a_backend(key):
    provider = PROVIDERS[key]
    if not oauth(provider):
        assert key not in BACKENDS
        return
    assert provider.token_url, key
    assert BACKENDS[key].service_key == key


@pytest.mark.parametrize("key", SERVICES)
def test_webhook_support_comes_with_a_verifier(key):
    provider = PROVIDERS[key]
    if not provider.supports_webhooks:
        assert key not in INBOUND
        return
    spec = INBOUND[key]
    assert spec.key == key
    assert overrides(spec, Inbound, "verify"), key
    assert overrides(spec, Inbound, "event_type"), key
    assert spec.handled, key


@pytest.mark.parametrize("key", SERVICES)
def test_api_registration_comes_with_a_registrar_that_creates_and_removes(key):
    provider = PROVIDERS[key]
    if provider.webhook_registration != "api":
        assert key not in REGISTRARS
        return
    registrar = REGISTRARS[key]
    assert registrar.key == key
    assert overrides(registrar, Registrar, "create"), key
    assert overrides(registrar, Registrar, "remove"), key


@pytest.mark.parametrize("key", SERVICES)
def test_a_webhook_signed_with_the_client_secret_is_app_wide_and_needs_oauth(key):
    provider = PROVIDERS[key]
    if not provider.webhook_signed_with_client_secret:
        return
    assert oauth(provider), key
    assert INBOUND[key].per_subscription is False
    assert key not in REGISTRARS


@pytest.mark.parametrize("key", SERVICES)
def test_a_removed_subscription_is_acknowledged_or_gone(key):
    assert PROVIDERS[key].webhook_removed_status in {200, 410}


@pytest.mark.parametrize("key", SERVICES)
def test_an_account_resource_prefix_comes_with_an_app_wide_webhook_naming_the_account(key):
    prefix = PROVIDERS[key].webhook_account_prefix
    if not prefix:
        return
    spec = INBOUND[key]
    assert spec.account_field, key
    assert spec.app_wide_too or not spec.per_subscription, key
