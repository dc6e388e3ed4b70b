"""A person holding a bit of everything DayFlow keeps, with secrets whose values the tests
look for: none may be exported, every row must go with the account."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone

from tests.integrations.oauth.fixtures import CLIENTS

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)

# The services' revocation endpoints (tests/integrations/oauth/test_flows.py SPECS).
REVOKE = {
    "todoist": "https://api.todoist.com/api/v1/revoke",
    "notion": "https://api.notion.com/v1/oauth/revoke",
    "google-calendar": "https://oauth2.googleapis.com/revoke",
}
GOOGLE_STOP = "https://www.googleapis.com/calendar/v3/channels/stop"


@dataclass
class Holdings:
    user: Any
    connections: dict[str, Any]
    secrets: list[str]
    readable: list[str]  # values that are the person's and must be exported
    ids: dict[str, list[int]] = field(default_factory=dict)


@pytest.fixture
def oauth_clients(settings):
    settings.DAYFLOW_OAUTH_CLIENTS = {key: dict(value) for key, value in CLIENTS.items()}
    settings.PUBLIC_URL = "https://dayflow.test"


@pytest.fixture
def exports_in_tmp(settings, tmp_path):
    settings.DAYFLOW_EXPORT_DIR = tmp_path / "exports"
    return settings.DAYFLOW_EXPORT_DIR


@pytest.fixture
def holdings(user, oauth_clients, exports_in_tmp) -> Holdings:
    from audit.writer import record
    from dayflow.models import ApiToken, Calendar, Event, Profile, Task, TaskList
    from integrations.models import Connection, Credential, Service
    from notifications.models import EmailPreference, Kind, Notification
    from privacy.models import Consent
    from security.models import SecurityAlert
    from sync.models import Conflict, ItemLink, JournalEntry, SyncCursor, SyncJob, SyncLink
    from webhooks.models import Delivery, WebhookSubscription

    secrets: list[str] = []
    connections = {}
    for n, key in enumerate(["todoist", "notion", "google-calendar"], start=1):
        connection = Connection.objects.create(
            user=user,
            service=Service.objects.get(key=key),
            external_account_id=f"{key}-acct",
            label=f"alice@{key}",
        )
        access, refresh = f"ACCESS-{key}-s3cr3t-{n}", f"REFRESH-{key}-s3cr3t-{n}"
        Credential.objects.create(
            connection=connection,
            access_token=access,
            refresh_token=refresh,
            scopes="read write",
            expires_at=timezone.now() + dt.timedelta(hours=1),
        )
        secrets += [access, refresh]
        connections[key] = connection
    caldav = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="fastmail"),
        external_account_id="caldav-abc",
        label="alice@fastmail",
    )
    Credential.objects.create(
        connection=caldav,
        server_url="https://caldav.fastmail.test/dav/",
        username="alice@fastmail.test",
        app_password="CALDAV-APP-PASSWORD-s3cr3t",
    )
    connections["fastmail"] = caldav
    secrets.append("CALDAV-APP-PASSWORD-s3cr3t")

    google = connections["google-calendar"]
    WebhookSubscription.objects.create(
        service=google.service,
        connection=google,
        remote_id="channel-1",
        resource_id="resource-1",
        resource="primary",
        secret="WEBHOOK-SECRET-s3cr3t",
        status="active",
        expires_at=NOW + dt.timedelta(days=3),
    )
    secrets.append("WEBHOOK-SECRET-s3cr3t")
    Delivery.objects.create(
        service=google.service, connection=google, delivery_id="d-1", body='{"x": 1}'
    )

    api_token, token = ApiToken.objects.create(user=user, expiry=None, name="my script")
    secrets += [token, api_token.digest, api_token.token_key, user.password]

    Profile.objects.create(user=user, timezone="Europe/Paris")
    EmailPreference.objects.create(user=user, kind=Kind.CONFLICTS, email=True)
    groceries = TaskList.objects.create(user=user, name="Groceries")
    family = Calendar.objects.create(user=user, name="Family dinners")
    task = Task.objects.create(user=user, title="Buy oat milk", task_list=groceries)
    gone = Task.objects.create(user=user, title="Old soft-deleted task")
    gone.soft_delete()
    event = Event.objects.create(
        user=user, title="Dentist", start=NOW, end=NOW + dt.timedelta(hours=1), calendar=family
    )
    # Besides the links the connections' saves made (Google's and Fastmail's defaults): the
    # Todoist project that feeds the list and takes its new tasks.
    SyncLink.objects.create(
        connection=connections["todoist"],
        user=user,
        item_type="task",
        collection="2203306141",
        name="Shopping project",
        task_list=groceries,
        is_destination=True,
    )
    link = ItemLink.objects.create(
        connection=connections["todoist"], item_type="task", task=task, remote_id="td-1"
    )
    ItemLink.objects.create(
        connection=google, item_type="event", event=event, remote_id="g-1", collection="primary"
    )
    job = SyncJob.objects.create(connection=connections["todoist"])
    JournalEntry.objects.create(
        job=job,
        connection=connections["todoist"],
        link=link,
        item_type="task",
        side="local",
        op="update",
        before={"title": "Buy milk"},
        after={"title": "Buy oat milk"},
    )
    Conflict.objects.create(link=link, job=job, local={"title": "a"}, remote={"title": "b"})
    SyncCursor.objects.create(connection=connections["todoist"], collection="", value="c-1")
    Notification.objects.create(
        user=user, kind=Kind.CONFLICTS, connection=connections["todoist"], title="A conflict"
    )
    for key, connection in connections.items():
        Consent.objects.create(
            user=user,
            connection=connection,
            service_key=key,
            scopes=["read"],
            granted_at=NOW,
            ip_address="203.0.113.7",
        )
    record("task.created", actor=user, details={"title": "Buy oat milk"})
    SecurityAlert.objects.create(
        rule="login_failures",
        severity="medium",
        user=user,
        ip_address="203.0.113.7",
        subject_key=f"user:{user.pk}",
        first_seen=NOW,
        last_seen=NOW,
        details={"failures": 5},
    )
    return Holdings(
        user=user,
        connections=connections,
        secrets=secrets,
        readable=[
            *("Buy oat milk", "Old soft-deleted task", "Dentist", "my script", "203.0.113.7"),
            *("Groceries", "Family dinners", "Shopping project"),
        ],
    )
