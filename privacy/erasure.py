"""Erasing an account, step by step, each step done once: the grants revoked at the services
and the webhook subscriptions removed (per connection, through the disconnect flow), every row
of the person hard-deleted, the audit app told (`dayflow.signals.user_erasing`) to anonymize
its events, a receipt emailed, and the user deleted. A step that fails because a service is
down raises `ServiceDown`; the task retries it later and skips the steps already done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from auditlog.context import disable_auditlog
from django.conf import settings
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.contrib.sessions.models import Session
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Model, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from social_django.models import UserSocialAuth

from dayflow.celery import app as celery_app
from dayflow.signals import user_erasing
from integrations import lifecycle
from integrations.actions import DISCONNECT
from integrations.models import Connection, Credential, OAuthHandoff
from integrations.oauth.backends import BACKENDS
from integrations.signals import connection_disconnecting
from integrations.tokens import backend_for, revoke
from privacy.export import remove_file
from privacy.models import ErasureRequest, ExportRequest

logger = logging.getLogger(__name__)


class ServiceDown(Exception):
    """A service did not confirm the revocation of a grant: try this step again later."""


ERASE = "privacy.erase_account"  # queued by name: the task module imports this one


class AlreadyErasing(Exception):
    """The account already has an erasure under way."""


def request_erasure(user: Any, *, by_staff: bool = False) -> ErasureRequest:
    """A new erasure of `user`'s account (or the one already under way); its task is sent once
    the row is committed. The person can no longer log in from now on."""
    erasure = ErasureRequest.objects.filter(user=user).exclude(status="done").first()
    if erasure is None:
        erasure = ErasureRequest.objects.create(user=user, by_staff=by_staff)
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    pk = erasure.pk
    transaction.on_commit(lambda: celery_app.signature(ERASE, args=(pk,)).apply_async())
    return erasure


def run(erasure: ErasureRequest) -> None:
    """Do every step not yet done, in order. ServiceDown leaves the rest for the next run."""
    user = erasure.user
    if user is None:  # the account is gone: the last step is done
        _finish(erasure)
        return
    # The field history (django-auditlog) would otherwise record every row deleted here, with
    # its title: the very data being erased.
    with disable_auditlog():
        _run_steps(erasure, user)
    _finish(erasure)


def _run_steps(erasure: ErasureRequest, user: Any) -> None:
    erasure.status = ErasureRequest.Status.RUNNING
    erasure.save(update_fields=["status", "updated_at"])
    down = []
    for connection in Connection.objects.filter(user=user).select_related("service").order_by("pk"):
        try:
            _step(erasure, f"connection:{connection.pk}", lambda c=connection: _close(erasure, c))
        except ServiceDown as exc:
            down.append(str(exc))  # the other connections go on; this one is tried again
    if down:
        raise ServiceDown(", ".join(down))
    for name, rows in _rows_of(user):
        _step(erasure, f"delete:{name}", lambda n=name, r=rows: _delete(erasure, n, r))
    _step(erasure, "audit", lambda: user_erasing.send(sender=ErasureRequest, user_id=user.pk))
    _step(erasure, "receipt", lambda: _send_receipt(erasure, user))
    with transaction.atomic():
        user.delete()
        erasure.user = None
        erasure.steps_done = [*erasure.steps_done, "account"]
        erasure.save(update_fields=["user", "steps_done", "updated_at"])


def _step(erasure: ErasureRequest, name: str, do: Callable[[], Any]) -> None:
    if name in erasure.steps_done:
        return
    do()
    erasure.steps_done = [*erasure.steps_done, name]
    erasure.save(update_fields=["steps_done", "counts", "updated_at"])


def _count(erasure: ErasureRequest, name: str, n: int) -> None:
    erasure.counts[name] = erasure.counts.get(name, 0) + n


def _close(erasure: ErasureRequest, connection: Connection) -> None:
    """Remove the connection's webhook subscriptions and revoke its grant, through the
    disconnect flow. A service that offers revocation but does not confirm it is retried,
    up to DAYFLOW_ERASURE_MAX_ATTEMPTS runs, then given up (and counted as unconfirmed)."""
    if _revocable(connection):
        # Subscriptions first, while the token still works (as disconnect does).
        connection_disconnecting.send(sender=Connection, connection=connection, keep_items=False)
        if revoke(connection):
            _count(erasure, "grants_revoked", 1)
        elif erasure.attempts + 1 < settings.DAYFLOW_ERASURE_MAX_ATTEMPTS:
            raise ServiceDown(connection.service.key)
        else:
            _count(erasure, "grants_not_confirmed", 1)
        # The grant is gone (or given up): disconnect must not call the service again.
        Credential.objects.filter(connection=connection).update(access_token="", refresh_token="")
    if DISCONNECT in connection.allowed_actions:
        lifecycle.disconnect(connection, keep_items=False)
    _count(erasure, "connections_closed", 1)


def _revocable(connection: Connection) -> bool:
    """Whether the service offers revocation and the grant may still be alive: a connection
    in needs_reauth had its refresh refused (invalid_grant), so a refused revocation there is
    no outage to wait for (disconnect still tries once)."""
    credential = Credential.objects.filter(connection=connection).first()
    key = connection.service.key
    if credential is None or not credential.access_token or key not in BACKENDS:
        return False
    if connection.status == Connection.Status.NEEDS_REAUTH:
        return False
    request = backend_for(key).revoke_request(credential.access_token, credential.refresh_token)
    return request is not None


def _rows_of(user: Any) -> list[tuple[str, Callable[[], QuerySet]]]:
    """Every table holding the person's rows, children before parents; each a hard delete."""
    from auditlog.models import LogEntry as FieldHistory
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    from dayflow.models import ApiToken, Calendar, Event, Profile, Task, TaskList
    from notifications.models import EmailPreference, Notification
    from privacy.models import Consent
    from security.models import SecurityAlert
    from sync.models import (
        Conflict,
        ItemLink,
        JournalEntry,
        SyncCursor,
        SyncJob,
        SyncLink,
        SyncStart,
    )
    from webhooks.models import Delivery, WebhookSubscription

    mine = Connection.objects.filter(user=user)
    return [
        ("exports", lambda: _exports(user)),
        ("consents", lambda: Consent.objects.filter(user=user)),
        ("conflicts", lambda: Conflict.objects.filter(link__connection__in=mine)),
        ("journal", lambda: JournalEntry.objects.filter(connection__in=mine)),
        ("links", lambda: ItemLink.objects.filter(connection__in=mine)),
        ("sync_starts", lambda: SyncStart.objects.filter(user=user)),
        ("jobs", lambda: SyncJob.objects.filter(connection__in=mine)),
        ("cursors", lambda: SyncCursor.objects.filter(connection__in=mine)),
        ("sync_links", lambda: SyncLink.objects.filter(user=user)),
        ("webhook_deliveries", lambda: Delivery.objects.filter(connection__in=mine)),
        ("webhook_subscriptions", lambda: WebhookSubscription.objects.filter(connection__in=mine)),
        ("credentials", lambda: Credential.objects.filter(connection__in=mine)),
        ("associations", lambda: UserSocialAuth.objects.filter(user=user)),
        ("oauth_handoffs", lambda: OAuthHandoff.objects.filter(user=user)),
        ("notifications", lambda: Notification.objects.filter(user=user)),
        ("security_alerts", lambda: SecurityAlert.objects.filter(user=user)),
        ("field_history", lambda: _field_history(FieldHistory, user, mine)),
        ("connections", lambda: mine),
        ("event_exceptions", lambda: Event.all_objects.filter(user=user, series__isnull=False)),
        ("events", lambda: Event.all_objects.filter(user=user)),
        ("tasks", lambda: Task.all_objects.filter(user=user)),
        ("lists", lambda: TaskList.objects.filter(user=user)),
        ("calendars", lambda: Calendar.objects.filter(user=user)),
        ("api_tokens", lambda: ApiToken.objects.filter(user=user)),
        ("email_preferences", lambda: EmailPreference.objects.filter(user=user)),
        ("profile", lambda: Profile.objects.filter(user=user)),
        ("admin_log", lambda: AdminLogEntry.objects.filter(user=user)),
        # The sign-in guard's records of this username (its IPs): django-axes' tables.
        ("sign_in_attempts", lambda: AccessAttempt.objects.filter(username=user.get_username())),
        ("sign_in_failures", lambda: AccessFailureLog.objects.filter(username=user.get_username())),
        ("sign_ins", lambda: AccessLog.objects.filter(username=user.get_username())),
    ]


def _delete(erasure: ErasureRequest, name: str, rows: Callable[[], QuerySet]) -> None:
    queryset = rows()
    _, per_model = queryset.delete()
    _count(erasure, name, per_model.get(queryset.model._meta.label, 0))
    if name == "api_tokens":
        _end_sessions(erasure.user_id)


def _exports(user: Any) -> QuerySet:
    exports = ExportRequest.objects.filter(user=user)
    for export in exports:
        remove_file(export)
    return exports


def _field_history(model: type[Model], user: Any, mine: QuerySet) -> QuerySet:
    """django-auditlog's field history of the person's tasks, events and connections, and of
    what they changed: it holds the items' titles and notes."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import CharField, Q
    from django.db.models.functions import Cast

    from dayflow.models import Event, Task

    owned = Q(actor=user)
    for items in (Task.all_objects.filter(user=user), Event.all_objects.filter(user=user), mine):
        ct = ContentType.objects.get_for_model(items.model)
        # A subquery, not a list of ids: a person may have more items than SQL parameters.
        keys = items.annotate(key=Cast("pk", CharField())).values("key")
        owned |= Q(content_type=ct, object_pk__in=keys)
    return model.objects.filter(owned)


def _end_sessions(user_id: int | None) -> None:
    """Log the person out everywhere: a session row holds their id."""
    for session in Session.objects.iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user_id):
            session.delete()


def _send_receipt(erasure: ErasureRequest, user: Any) -> None:
    if not user.email:
        return
    context = {"erasure": erasure, "counts": sorted(erasure.counts.items())}
    send_mail(
        "Your DayFlow account has been deleted",
        render_to_string("privacy/erasure_receipt.txt", context),
        None,
        [user.email],
    )


def _finish(erasure: ErasureRequest) -> None:
    if erasure.status != ErasureRequest.Status.DONE:
        erasure.status = ErasureRequest.Status.DONE
        erasure.last_error = ""
        erasure.finished_at = timezone.now()
        erasure.save(update_fields=["status", "last_error", "finished_at", "updated_at"])
