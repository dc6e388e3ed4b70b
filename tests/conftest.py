"""Shared fixtures. The services tier (PostgreSQL, Redis) runs when DATABASE_URL points at
PostgreSQL; with DAYFLOW_REQUIRE_SERVICES=1 (CI) its tests fail instead of skipping."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

pytest_plugins = ["tests.browser", "tests.radicale"]

REQUIRE_SERVICES = os.environ.get("DAYFLOW_REQUIRE_SERVICES") == "1"


def _services_available() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def pytest_report_header(config) -> str:
    # CI's third tier runs under faketime a year ahead: this line shows the day the suite saw.
    import datetime as dt

    return f"today: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"


def pytest_collection_modifyitems(config, items):
    if _services_available():
        return
    if REQUIRE_SERVICES:
        raise pytest.UsageError("DAYFLOW_REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL")
    skip = pytest.mark.skip(reason="services tier: set DATABASE_URL=postgres://...")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _every_task_registered():
    """Celery imports each app's tasks.py lazily. A message sent by name (`signature(name)`) to a
    task no test had imported yet was published instead of run eagerly, so a test's outcome
    depended on which tests ran before it: every task is registered from the start."""
    from dayflow.celery import app

    app.loader.import_default_modules()


DB_FIXTURES = frozenset({"db", "transactional_db", "live_server", "django_db_reset_sequences"})


@pytest.fixture(autouse=True)
def _empty_cache(request, django_db_blocker):
    """Each test starts with an empty cache. The limits (dayflow/limits.py), the capped audit
    rows and the tokens' known addresses count in it, so one test's failures would throttle the
    next; Redis (the services tier) even keeps them from one run to the next, and the database
    cache's table is no model, so a transactional test's flush leaves its rows."""
    from django.core.cache import caches
    from django.core.cache.backends.db import DatabaseCache

    cache = caches["default"]
    if not isinstance(cache, DatabaseCache):
        cache.clear()
        return
    if request.node.get_closest_marker("django_db") or DB_FIXTURES & set(request.fixturenames):
        request.getfixturevalue("django_db_setup")
        with django_db_blocker.unblock():
            cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2's 1,000,000 rounds cost over half a second per password set or checked, in nearly
    every test (the `user` fixture); the tests are not about hashing (Django's own advice). The
    app started by the e2e tests keeps the real hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    """Templates resolve static URLs without a collectstatic manifest in tests."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _local_test_servers(settings):
    """Radicale and the other fakes listen on 127.0.0.1 over http; tests of the guard itself
    turn this off again (tests/integrations/test_netguard.py)."""
    settings.DAYFLOW_ALLOW_PRIVATE_SERVERS = True


@pytest.fixture(autouse=True)
def _no_sync_on_local_change(settings):
    """A saved task or event queues a sync of its connections a moment later
    (`sync.receivers.sync_on_local_change`): most tests save items to set the scene and would
    get jobs they do not ask for. tests/sync/test_local_change.py turns it on."""
    settings.DAYFLOW_SYNC_LOCAL_DELAY = None


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "pw-alice-123")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "pw-bob-123")


@pytest.fixture
def signed_in(client, user):
    """The test client, signed in as `user`."""
    client.force_login(user)
    return client


@pytest.fixture
def service(db):
    from integrations.models import Service

    return Service.objects.get(key="todoist")


@pytest.fixture
def connection(user, service):
    from integrations.models import Connection

    # Set up: a Todoist connection syncs one project (without it, it "needs setup").
    return Connection.objects.create(
        user=user,
        service=service,
        external_account_id="acct-1",
        label="alice@todoist",
        field_mapping={"project_id": "p-1"},
    )


@pytest.fixture
def use_provider():
    """`use_provider(factory)`: every sync run in the test builds its provider with `factory`
    (`sync.engine.providers.install`, the engine's one seam); undone afterwards."""
    from sync.engine import providers

    replaced = []
    yield lambda factory: replaced.append(providers.install(factory))
    if replaced:
        providers.install(replaced[0])


@pytest.fixture
def celery_sent(monkeypatch) -> list:
    """The sync jobs' Celery messages (`sync.run_job`), kept here instead of sent: (args,
    countdown) each, once the transaction commits."""
    from sync import tasks

    messages: list = []
    monkeypatch.setattr(
        tasks.run_job,
        "apply_async",
        lambda args, kwargs=None, countdown=None, **options: messages.append((args, countdown)),
    )
    return messages
