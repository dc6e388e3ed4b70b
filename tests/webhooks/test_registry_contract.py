"""The registry is the one list of services: every other table is keyed by it, and every piece a
provider's declarations promise exists. A new service that forgets one fails here, by name.

Each promise is one check over (provider class, the tables); the checks run on every registered
service, and each is shown to fail on a fake service whose declarations promise what it lacks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from dayflow import settings as project_settings
from integrations.oauth.backends import BACKENDS
from integrations.providers import PROVIDERS, REGISTRY
from integrations.providers.base import AuthStyle, Kind, Provider
from integrations.providers.hooks import INBOUND, REGISTRARS, ServiceHooks
from integrations.providers.webhook_base import VERIFIED, Handshake, Inbound, Registrar

SERVICES = sorted(REGISTRY)
TABLES = {
    "BACKENDS": BACKENDS,
    "INBOUND": INBOUND,
    "REGISTRARS": REGISTRARS,
    "DAYFLOW_OAUTH_CLIENTS": project_settings.DAYFLOW_OAUTH_CLIENTS,
}
RENEWALS = {"", "extend", "replace"}


@dataclasses.dataclass(frozen=True)
class Tables:
    """The per-service tables a check looks in (the real ones, or a fake's)."""

    backends: Mapping[str, Any]
    inbound: Mapping[str, Inbound]
    registrars: Mapping[str, Registrar]


REAL = Tables(BACKENDS, INBOUND, REGISTRARS)


def overrides(obj: object, base: type, name: str) -> bool:
    return getattr(type(obj), name) is not getattr(base, name)


def oauth(provider: type[Provider]) -> bool:
    return provider.auth is AuthStyle.OAUTH2 and bool(provider.authorization_url)


# --- the checks -----------------------------------------------------------------------------
def oauth_endpoints_come_with_a_backend(provider: type[Provider], tables: Tables) -> None:
    key = provider.key
    if not oauth(provider):
        assert key not in tables.backends
        return
    assert provider.token_url, key
    assert key in tables.backends, f"{key}: OAuth endpoints but no oauth.py BACKEND"
    assert tables.backends[key].service_key == key


def webhook_support_comes_with_a_verifier(provider: type[Provider], tables: Tables) -> None:
    key = provider.key
    if not provider.supports_webhooks:
        assert key not in tables.inbound
        return
    assert key in tables.inbound, f"{key}: supports_webhooks but no webhook.py INBOUND"
    spec = tables.inbound[key]
    assert spec.key == key
    assert overrides(spec, Inbound, "verify"), key
    assert overrides(spec, Inbound, "event_type"), key
    assert spec.handled, key


def api_registration_comes_with_a_registrar_that_creates_and_removes(
    provider: type[Provider], tables: Tables
) -> None:
    key = provider.key
    if provider.webhook_registration != "api":
        assert key not in tables.registrars
        return
    assert key in tables.registrars, f"{key}: webhook_registration 'api' but no REGISTRAR"
    registrar = tables.registrars[key]
    assert registrar.key == key
    assert overrides(registrar, Registrar, "create"), key
    assert overrides(registrar, Registrar, "remove"), key


def subscriptions_that_are_extended_have_renew(provider: type[Provider], tables: Tables) -> None:
    registrar = tables.registrars.get(provider.key)
    if registrar is None:
        return
    assert registrar.renewal in RENEWALS, provider.key
    extends = registrar.renewal == "extend"
    assert extends == overrides(registrar, Registrar, "renew"), (
        f"{provider.key}: renewal {registrar.renewal!r} and renew() must go together"
    )


def a_reported_health_has_a_health_check(provider: type[Provider], tables: Tables) -> None:
    registrar = tables.registrars.get(provider.key)
    if registrar is None:
        return
    assert registrar.reports_health == overrides(registrar, Registrar, "health"), provider.key


def a_declared_handshake_is_answered(provider: type[Provider], tables: Tables) -> None:
    key = provider.key
    if provider.webhook_secret_from_handshake:
        assert provider.webhook_handshake, key
        assert provider.webhook_registration == "console", key  # staff paste it back
    if not provider.webhook_handshake:
        assert key not in tables.inbound or not overrides(tables.inbound[key], Inbound, "handshake")
        return
    assert provider.supports_webhooks, key
    assert key in tables.inbound, key
    spec = tables.inbound[key]
    assert overrides(spec, Inbound, "handshake"), f"{key}: webhook_handshake but no handshake()"
    assert spec.per_subscription, f"{key}: a handshake updates a subscription: it needs one"


def a_webhook_signed_with_the_client_secret_is_app_wide_and_needs_oauth(
    provider: type[Provider], tables: Tables
) -> None:
    key = provider.key
    if not provider.webhook_signed_with_client_secret:
        return
    assert oauth(provider), key
    assert tables.inbound[key].per_subscription is False
    assert key not in tables.registrars


def a_removed_subscription_is_acknowledged_or_gone(
    provider: type[Provider], tables: Tables
) -> None:
    assert provider.webhook_removed_status in {200, 410}


def an_account_resource_prefix_comes_with_an_app_wide_webhook_naming_the_account(
    provider: type[Provider], tables: Tables
) -> None:
    key = provider.key
    prefix = provider.webhook_account_prefix
    if not prefix:
        return
    spec = tables.inbound[key]
    assert spec.account_field, key
    assert spec.app_wide_too or not spec.per_subscription, key


def the_service_wide_url_has_a_secret(provider: type[Provider], tables: Tables) -> None:
    spec = tables.inbound.get(provider.key)
    if spec is None or (spec.per_subscription and not spec.app_wide_too):
        return
    assert provider.webhook_signed_with_client_secret or (
        provider.app_webhook_secret.__func__ is not Provider.app_webhook_secret.__func__
    ), f"{provider.key}: deliveries to /api/webhooks/{provider.key}/ but no app_webhook_secret()"


Check = Callable[[type[Provider], Tables], None]


# --- every registered service -----------------------------------------------------------------
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
    oauth_endpoints_come_with_a_backend(PROVIDERS[key], REAL)


@pytest.mark.parametrize("key", SERVICES)
def test_webhook_support_comes_with_a_verifier(key):
    webhook_support_comes_with_a_verifier(PROVIDERS[key], REAL)


@pytest.mark.parametrize("key", SERVICES)
def test_api_registration_comes_with_a_registrar_that_creates_and_removes(key):
    api_registration_comes_with_a_registrar_that_creates_and_removes(PROVIDERS[key], REAL)


@pytest.mark.parametrize("key", SERVICES)
def test_subscriptions_that_are_extended_have_renew(key):
    subscriptions_that_are_extended_have_renew(PROVIDERS[key], REAL)


@pytest.mark.parametrize("key", SERVICES)
def test_a_reported_health_has_a_health_check(key):
    a_reported_health_has_a_health_check(PROVIDERS[key], REAL)


@pytest.mark.parametrize("key", SERVICES)
def test_a_declared_handshake_is_answered(key):
    a_declared_handshake_is_answered(PROVIDERS[key], REAL)


@pytest.mark.parametrize("key", SERVICES)
def test_a_webhook_signed_with_the_client_secret_is_app_wide_and_needs_oauth(key):
    a_webhook_signed_with_the_client_secret_is_app_wide_and_needs_oauth(PROVIDERS[key], REAL)


@pytest.mark.parametrize("key", SERVICES)
def test_a_removed_subscription_is_acknowledged_or_gone(key):
    a_removed_subscription_is_acknowledged_or_gone(PROVIDERS[key], REAL)


@pytest.mark.parametrize("key", SERVICES)
def test_an_account_resource_prefix_comes_with_an_app_wide_webhook_naming_the_account(key):
    an_account_resource_prefix_comes_with_an_app_wide_webhook_naming_the_account(
        PROVIDERS[key], REAL
    )


@pytest.mark.parametrize("key", SERVICES)
def test_the_service_wide_url_has_a_secret(key):
    the_service_wide_url_has_a_secret(PROVIDERS[key], REAL)


@pytest.mark.parametrize("table", [INBOUND, REGISTRARS], ids=["INBOUND", "REGISTRARS"])
def test_the_webhook_hooks_live_in_the_service_s_own_package(table):
    for key, hooks in table.items():
        package = PROVIDERS[key].__module__.rpartition(".")[0]
        assert type(hooks).__module__ == f"{package}.webhook", key


# --- each check fails on a fake service that lacks what it promises ---------------------------
def fake(**declarations: Any) -> type[Provider]:
    return type(
        "FakeProvider",
        (Provider,),
        {"key": "fake", "name": "Fake", "kind": Kind.TASKS, **declarations},
    )


def inbound(provider: type[Provider], **hooks: Any) -> Inbound:
    body = {
        "provider": provider,
        "handled": ("item.",),
        "verify": lambda self, *args: VERIFIED,
        "event_type": lambda self, headers, payload: "item.updated",
        **hooks,
    }
    return type("FakeInbound", (Inbound,), body)()


def registrar(provider: type[Provider], **hooks: Any) -> Registrar:
    body = {"provider": provider, "create": _noop, "remove": _noop, **hooks}
    return type("FakeRegistrar", (Registrar,), body)()


def _noop(self: Any, *args: Any) -> None:
    return None


def tables(backends=None, inbound=None, registrars=None) -> Tables:
    return Tables(backends or {}, inbound or {}, registrars or {})


OAUTH = {"authorization_url": "https://fake.test/authorize", "token_url": "https://fake.test/t"}
WEBHOOKS = {"supports_webhooks": True}
API = {"webhook_registration": "api"}


def broken_cases() -> list[tuple[str, Check, type[Provider], Tables]]:
    webhooks = fake(**WEBHOOKS)
    api = fake(**API)
    handshake = fake(**WEBHOOKS, webhook_handshake=True)
    by_client_secret = fake(**OAUTH, **WEBHOOKS, webhook_signed_with_client_secret=True)
    app_wide = fake(**WEBHOOKS)
    secret_from_handshake = fake(
        **WEBHOOKS, webhook_handshake=True, webhook_secret_from_handshake=True
    )
    prefix = fake(**WEBHOOKS, webhook_account_prefix="org:")
    return [
        ("oauth without a backend", oauth_endpoints_come_with_a_backend, fake(**OAUTH), tables()),
        ("webhooks without an inbound", webhook_support_comes_with_a_verifier, webhooks, tables()),
        (
            "an inbound that does not verify",
            webhook_support_comes_with_a_verifier,
            webhooks,
            tables(inbound={"fake": inbound(webhooks, verify=Inbound.verify)}),
        ),
        (
            "an inbound without support declared",
            webhook_support_comes_with_a_verifier,
            fake(),
            tables(inbound={"fake": inbound(fake())}),
        ),
        (
            "api registration without a registrar",
            api_registration_comes_with_a_registrar_that_creates_and_removes,
            api,
            tables(),
        ),
        (
            "a registrar that cannot remove",
            api_registration_comes_with_a_registrar_that_creates_and_removes,
            api,
            tables(registrars={"fake": registrar(api, remove=Registrar.remove)}),
        ),
        (
            "extended subscriptions without renew",
            subscriptions_that_are_extended_have_renew,
            api,
            tables(registrars={"fake": registrar(api, renewal="extend")}),
        ),
        (
            "a renew nobody calls",
            subscriptions_that_are_extended_have_renew,
            api,
            tables(registrars={"fake": registrar(api, renewal="replace", renew=_noop)}),
        ),
        (
            "reported health without a health check",
            a_reported_health_has_a_health_check,
            api,
            tables(registrars={"fake": registrar(api, reports_health=True)}),
        ),
        (
            "a declared handshake without one",
            a_declared_handshake_is_answered,
            handshake,
            tables(inbound={"fake": inbound(handshake)}),
        ),
        (
            "a handshake without the declaration",
            a_declared_handshake_is_answered,
            webhooks,
            tables(inbound={"fake": inbound(webhooks, handshake=_handshake)}),
        ),
        (
            "a secret from a handshake without one",
            a_declared_handshake_is_answered,
            fake(**WEBHOOKS, webhook_secret_from_handshake=True),
            tables(inbound={"fake": inbound(webhooks, handshake=_handshake)}),
        ),
        (
            "a secret from a handshake not set up in a console",
            a_declared_handshake_is_answered,
            secret_from_handshake,
            tables(inbound={"fake": inbound(secret_from_handshake, handshake=_handshake)}),
        ),
        (
            "a client-secret webhook per subscription",
            a_webhook_signed_with_the_client_secret_is_app_wide_and_needs_oauth,
            by_client_secret,
            tables(inbound={"fake": inbound(by_client_secret)}),
        ),
        (
            "a removed subscription answered 404",
            a_removed_subscription_is_acknowledged_or_gone,
            fake(webhook_removed_status=404),
            tables(),
        ),
        (
            "an account prefix without an account field",
            an_account_resource_prefix_comes_with_an_app_wide_webhook_naming_the_account,
            prefix,
            tables(inbound={"fake": inbound(prefix, app_wide_too=True)}),
        ),
        (
            "a service-wide URL without a secret",
            the_service_wide_url_has_a_secret,
            app_wide,
            tables(inbound={"fake": inbound(app_wide, per_subscription=False)}),
        ),
    ]


def _handshake(self: Any, query: Any, headers: Any, payload: Any) -> Handshake | None:
    return None


@pytest.mark.parametrize(
    ("check", "provider", "fake_tables"),
    [case[1:] for case in broken_cases()],
    ids=[case[0] for case in broken_cases()],
)
def test_each_check_fails_on_a_service_lacking_what_it_promises(check, provider, fake_tables):
    with pytest.raises(AssertionError):
        check(provider, fake_tables)


@pytest.mark.parametrize(
    "check",
    [case[1] for case in broken_cases()],
    ids=[case[0] for case in broken_cases()],
)
def test_each_check_passes_on_a_fake_service_that_promises_nothing(check):
    check(fake(), tables())


def test_a_promised_hook_in_no_package_of_its_own_fails_by_name():
    # given a declaration promising hooks for every service, CalDAV presets included
    everything = ServiceHooks("INBOUND", lambda provider: True)
    # when a preset of the shared CalDAV provider is asked for / then it is named
    with pytest.raises(ImportError, match="fastmail"):
        everything["fastmail"]


def test_a_promised_hook_missing_from_the_webhook_module_fails_by_name():
    misnamed = ServiceHooks("NO_SUCH_HOOK", lambda provider: provider.supports_webhooks)
    with pytest.raises(AttributeError, match="NO_SUCH_HOOK"):
        misnamed["notion"]
    assert "fastmail" not in misnamed  # nothing promised, nothing imported
