"""Connection lifecycle actions shared by the pages and the API: starting an OAuth connect,
pause, resume, saving settings, disconnect, and storing a CalDAV account. Each one is audited
and signalled to the apps that follow connections (sync schedules, webhook subscriptions).
An action the connection's status does not allow raises
`integrations.actions.ConnectionActionRefused`."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from django.db import transaction
from social_django.models import UserSocialAuth

from audit.writer import record
from integrations.actions import DISCONNECT, PAUSE, RESUME, require
from integrations.models import Connection, Credential, Service
from integrations.oauth import flow
from integrations.oauth.backends import BACKENDS
from integrations.signals import (
    connection_connected,
    connection_disconnecting,
    connection_set_up,
)
from integrations.tokens import revoke, set_status

if TYPE_CHECKING:
    from django.forms import ModelForm

Status = Connection.Status


class NotConfigured(Exception):
    """An OAuth service without a client id and secret on this server: it cannot be connected."""

    def __init__(self, service: Service) -> None:
        super().__init__(
            f"{service.display_name} is not configured on this server (no OAuth client id and "
            "secret), so it cannot be connected yet."
        )


def start_oauth(request: Any, service: Service) -> str:
    """The service's consent page, with a fresh state (and PKCE verifier) in the requester's
    session, where the callback page finds them. NotConfigured (audited) when it cannot be."""
    if service.key not in BACKENDS or not service.is_configured:
        record(
            "connection.connect_refused",
            request=request,
            details={"service": service.key, "reason": "not_configured"},
            success=False,
        )
        raise NotConfigured(service)
    record("connection.connect_started", request=request, details={"service": service.key})
    return flow.authorization_url(request, service.key)


def pause(connection: Connection, *, request: Any = None) -> None:
    require(connection, PAUSE)
    set_status(connection, Status.PAUSED)
    record("connection.paused", request=request, connection=connection, details=_base(connection))


def resume(connection: Connection, *, request: Any = None) -> None:
    require(connection, RESUME)
    set_status(connection, Status.CONNECTED)
    record("connection.resumed", request=request, connection=connection, details=_base(connection))


def settings_saved(connection: Connection) -> None:
    """A sync stopped by an error no retry fixes (bad settings) starts again once the user has
    saved new settings; if they are still wrong, the next sync stops it again."""
    if connection.status == Status.ERROR:
        set_status(connection, Status.CONNECTED, last_error="")


def save_settings(form: ModelForm, *, request: Any = None) -> Connection:
    """Save a valid ConnectionSettingsForm: the saved connection's receivers reschedule its
    syncs and re-register its webhooks; a connection stopped by bad settings starts again.

    A save that completes the connection's setup (it now names the container it needed)
    announces `connection_set_up`, whose receiver queues the first sync; that job (or None)
    is left on `connection.first_sync` for the page to lead to. So is the preview the save's
    own receiver queues for a container ticked on a connection that has synced."""
    provider = form.instance.service.provider
    before = Connection.objects.filter(pk=form.instance.pk).values_list("field_mapping", flat=True)
    needed_before = provider.setup_needed(before.first())
    form.instance.first_sync = None
    # Only the settings: the row's bookkeeping (last_sync_at, status, last_error) as this form
    # loaded it may be older than a sync that finished meanwhile.
    connection = form.save(commit=False)
    connection.save(update_fields=[*form._meta.fields, "updated_at"])
    settings_saved(connection)
    if needed_before and not connection.setup_needed:
        record(
            "connection.set_up",
            request=request,
            connection=connection,
            details=_base(connection),
        )
        connection.first_sync = _started(
            connection_set_up.send(sender=Connection, connection=connection)
        )
    record(
        "connection.settings_changed",
        request=request,
        connection=connection,
        details={"service": connection.service.key, "fields": sorted(form.changed_data)},
    )
    return connection


def disconnect(connection: Connection, *, keep_items: bool, request: Any = None) -> bool:
    """Disconnect: tell the followers first (while the token still works, so they can remove
    webhook subscriptions and schedules, and synced items unless `keep_items`), revoke the
    grant where the service offers it, delete the credentials and the social association.

    The connection row is kept with status `disconnected`, so its history and audit trail stay
    meaningful; connecting the same account again reuses it. Returns whether the service
    confirmed the revocation.
    """
    require(connection, DISCONNECT)
    connection_disconnecting.send(sender=Connection, connection=connection, keep_items=keep_items)
    revoked = revoke(connection)
    with transaction.atomic():
        Credential.objects.filter(connection=connection).delete()
        UserSocialAuth.objects.filter(
            user=connection.user,
            provider=connection.service.key,
            uid=connection.external_account_id,
        ).delete()
        set_status(connection, Status.DISCONNECTED, last_error="")
    record(
        "connection.disconnected",
        request=request,
        connection=connection,
        details={**_base(connection), "keep_items": keep_items, "revoked": revoked},
    )
    return revoked


def connect_caldav(
    user: Any, service: Service, *, server_url: str, username: str, password: str, request: Any
) -> tuple[Connection, bool]:
    """Store a CalDAV account whose credentials discovery already accepted."""
    with transaction.atomic():
        connection, created = Connection.objects.get_or_create(
            user=user,
            service=service,
            external_account_id=caldav_account_id(server_url, username),
            defaults={"label": username[:255]},
        )
        if not created:
            set_status(connection, Status.CONNECTED, last_error="")
        credential, _ = Credential.objects.get_or_create(connection=connection)
        credential.server_url = server_url
        credential.username = username
        credential.app_password = password
        credential.save()
    connection.first_sync = announce_connected(connection, created, request=request)
    return connection, created


def caldav_account_id(server_url: str, username: str) -> str:
    # A digest, not the username: the Credential keeps the account's identifiers encrypted.
    normalized = f"{server_url.rstrip('/').lower()}\n{username.strip().lower()}"
    return "caldav-" + hashlib.sha256(normalized.encode()).hexdigest()[:40]


def announce_connected(connection: Connection, created: bool, *, request: Any) -> Any:
    """Tell the followers an account is connected: its first sync is queued at once unless it
    needs setup first. Returns that sync job (from the sync app's receiver), or None."""
    responses = connection_connected.send(
        sender=Connection, connection=connection, created=created, request=request
    )
    action = "connection.connected" if created else "connection.reconnected"
    record(action, request=request, connection=connection, details=_base(connection))
    return _started(responses)


def _started(responses: list[tuple[Any, Any]]) -> Any:
    """The sync job a receiver queued (integrations does not import sync: the job comes back
    as a receiver's answer), or None."""
    return next((answer for _, answer in responses if getattr(answer, "pk", None)), None)


def _base(connection: Connection) -> dict[str, Any]:
    return {"service": connection.service.key}
