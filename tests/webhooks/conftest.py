from __future__ import annotations

from collections.abc import Callable

import pytest

from dayflow.celery import app as celery_app
from integrations.models import Connection, Credential, Service
from webhooks.models import WebhookSubscription


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks run in the request, so a test sees the processed inbox row; sync jobs are rows
    (their Celery message waits for a commit that the test transaction never makes)."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def _sync_jobs_kept(celery_sent):
    """Connecting queues the first sync (sync.receivers) once the connect commits, which these
    tests run: its message is kept (`celery_sent`), not run eagerly against unmocked services."""
    return celery_sent


@pytest.fixture(autouse=True)
def _forget_lookups():
    from webhooks import lookup

    lookup.forget()
    yield
    lookup.forget()


@pytest.fixture
def fresh_cache(db):
    """Signature-failure counters live in the cache, which a test transaction does not undo
    on Redis."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_connection(user) -> Callable[..., Connection]:
    def make(key: str, account: str = "acct-1", **fields) -> Connection:
        # Set up: a task service's connection names its container (issue 15: without one it
        # "needs setup" and neither syncs nor subscribes).
        provider = Service.objects.get(key=key).provider
        if provider.collection_required:
            chosen = fields.get("field_mapping") or {}
            fields["field_mapping"] = {provider.collection_setting: "container-1", **chosen}
        connection = Connection.objects.create(
            user=user,
            service=Service.objects.get(key=key),
            external_account_id=account,
            label=f"alice@{key}",
            **fields,
        )
        Credential.objects.create(connection=connection, access_token=f"token-{key}")
        return connection

    return make


@pytest.fixture
def make_subscription() -> Callable[..., WebhookSubscription]:
    def make(connection: Connection | None, service: str = "", **fields) -> WebhookSubscription:
        fields.setdefault("status", WebhookSubscription.Status.ACTIVE)
        return WebhookSubscription.objects.create(
            service=Service.objects.get(key=service or connection.service.key),
            connection=connection,
            **fields,
        )

    return make


@pytest.fixture
def sync_calls(monkeypatch) -> list[int]:
    """Every request_sync the processing makes (the real one still runs)."""
    import webhooks.processing

    calls: list[int] = []
    real = webhooks.processing.request_sync

    def spy(connection_id: int, **kwargs):
        calls.append(connection_id)
        return real(connection_id, **kwargs)

    monkeypatch.setattr(webhooks.processing, "request_sync", spy)
    return calls
