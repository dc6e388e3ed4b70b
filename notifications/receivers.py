"""Where notices are raised: receivers on what the other apps already announce (the audit
events they write, the connection's status signal, new conflicts, Django's auth signals), so
the engine knows nothing of notifications. The decisions are in `notifications.rules`."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from integrations.models import Connection
from integrations.signals import connection_status_changed
from notifications import rules
from notifications.models import Kind, Notification
from notifications.services import notify
from sync.models import Conflict, SyncJob

FINISHED = (SyncJob.Status.SUCCEEDED, SyncJob.Status.FAILED)


def dashboard() -> str:
    return reverse("integrations:index")


def job_page(resource: str) -> str:
    """The job's page from an audit event's resource ("sync job 12")."""
    number = resource.rpartition(" ")[2]
    return reverse("sync:job", args=[int(number)]) if number.isdigit() else ""


# --- a connection needs reconnecting -----------------------------------------------------------
@receiver(connection_status_changed, dispatch_uid="notifications.on_status")
def on_status_changed(sender, connection: Connection, old: str, new: str, **kwargs) -> None:
    if new != Connection.Status.NEEDS_REAUTH:
        return
    notify(
        connection.user,
        Kind.RECONNECT,
        f"Reconnect {connection}",
        f"{connection.service} no longer accepts DayFlow's access to "
        f"{connection.label or connection.external_account_id}, so it stopped syncing. Connect "
        "the account again to carry on.",
        link=dashboard(),
        connection=connection,
    )


# --- what the audit trail says happened ------------------------------------------------------
@receiver(post_save, sender=AuditEvent, dispatch_uid="notifications.on_audit_event")
def on_audit_event(sender, instance: AuditEvent, created: bool, **kwargs) -> None:
    if not created:
        return
    handler = AUDIT_HANDLERS.get(instance.action)
    if handler is not None:
        handler(instance)


def _job_failed(event: AuditEvent) -> None:
    connection = _connection(event)
    if connection is None:
        return
    statuses = list(
        SyncJob.objects.filter(connection=connection, dry_run=False, status__in=FINISHED)
        .order_by("-finished_at", "-id")
        .values_list("status", flat=True)[: rules.FAILURES_IN_A_ROW + 1]
    )
    if not rules.repeated_failures(statuses):
        return
    notify(
        connection.user,
        Kind.FAILURES,
        f"Syncs of {connection} keep failing",
        f"The last {rules.FAILURES_IN_A_ROW} syncs of {connection} failed. The last one said: "
        f"{(event.details or {}).get('error') or 'no reason given'}.",
        link=job_page(event.resource),
        connection=connection,
    )


def _job_waits(event: AuditEvent) -> None:
    connection = _connection(event)
    if connection is None:
        return
    notify(
        connection.user,
        Kind.MASS_DELETION,
        f"Confirm the deletions of a sync of {connection}",
        f"A sync of {connection} would delete many items at once, so it waits: confirm the "
        "deletions or cancel the sync on its page.",
        link=job_page(event.resource),
        connection=connection,
    )


def _token_created(event: AuditEvent) -> None:
    if event.actor_id is None:
        return
    name = (event.details or {}).get("name") or "unnamed"
    security_alert(
        event.actor,
        "A new API token was created",
        f"An API token named “{name}” was created for your account. If it was not you, revoke "
        "it and change your password.",
        link=reverse("api-tokens"),
    )


def _alert(event: AuditEvent) -> None:
    # Alerts about a person's own account name them as the actor (issue 17 adds more);
    # the webhook receivers' alerts have no actor and are for the operators.
    if event.actor_id is not None:
        rule = (event.details or {}).get("rule") or "security alert"
        security_alert(event.actor, f"Security alert: {rule}".replace("_", " "))


AUDIT_HANDLERS = {
    "sync.job.failed": _job_failed,
    f"sync.job.{SyncJob.Status.NEEDS_CONFIRMATION}": _job_waits,
    "api_token.created": _token_created,
    "security.alert": _alert,
}


def _connection(event: AuditEvent) -> Connection | None:
    if event.connection_id is None:
        return None
    return (
        Connection.objects.select_related("user", "service").filter(pk=event.connection_id).first()
    )


def security_alert(user: Any, title: str, body: str = "", *, link: str = "") -> Notification:
    return notify(user, Kind.SECURITY, title, body, link=link)


# --- new conflicts, batched an hour per connection ---------------------------------------------
@receiver(post_save, sender=Conflict, dispatch_uid="notifications.on_conflict")
def on_conflict(sender, instance: Conflict, created: bool, **kwargs) -> None:
    if not created:
        return
    connection = (
        Connection.objects.select_related("user", "service")
        .filter(links__pk=instance.link_id)
        .first()
    )
    if connection is None:
        return
    now = timezone.now()
    last = (
        Notification.objects.filter(
            user=connection.user,
            kind=Kind.CONFLICTS,
            connection=connection,
            created_at__gt=now - rules.CONFLICT_BATCH,
        )
        .order_by("-created_at")
        .first()
    )
    if rules.conflict_notice(last.created_at if last else None, now) == "add":
        last.count += 1
        last.title, last.body = _conflict_words(connection, last.count)
        last.read_at = None
        last.save(update_fields=["count", "title", "body", "read_at"])
        return
    title, body = _conflict_words(connection, 1)
    link = f"{reverse('sync:conflicts')}?connection={connection.pk}"
    notify(connection.user, Kind.CONFLICTS, title, body, link=link, connection=connection)


def _conflict_words(connection: Connection, count: int) -> tuple[str, str]:
    return (
        f"{rules.counted(count, 'new conflict')} on {connection}",
        f"{rules.counted(count, 'item')} changed on both sides since the last sync of "
        f"{connection}. Choose which version to keep, or merge them.",
    )


# --- the person's account ---------------------------------------------------------------------
@receiver(post_save, sender=get_user_model(), dispatch_uid="notifications.on_password")
def on_user_saved(sender, instance: Any, created: bool, **kwargs) -> None:
    # `set_password` keeps the new raw password until `save()` has run the password validators'
    # `password_changed` hooks: a non-empty `_password` after a save is a changed password
    # (a hasher upgrade at login clears it before it saves).
    if created or getattr(instance, "_password", None) is None:
        return
    security_alert(
        instance,
        "Your password was changed",
        "The password of your DayFlow account was changed. If it was not you, reset it now.",
    )


@receiver(user_login_failed, dispatch_uid="notifications.on_login_failed")
def on_login_failed(sender, credentials: dict, request=None, **kwargs) -> None:
    user_model = get_user_model()
    username = str(credentials.get(user_model.USERNAME_FIELD) or credentials.get("username") or "")
    user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username[:150]}).first()
    if user is None:
        return
    since = timezone.now() - rules.LOGIN_WINDOW
    failures = AuditEvent.objects.filter(
        action="auth.login_failed", details__username=username, created_at__gte=since
    ).count()
    alerted = Notification.objects.filter(
        user=user, kind=Kind.SECURITY, title=FAILED_LOGINS, created_at__gte=since
    ).exists()
    if rules.failed_logins_alert(failures, alerted):
        security_alert(
            user,
            FAILED_LOGINS,
            f"Someone failed to sign in to your account {failures} times within "
            f"{int(rules.LOGIN_WINDOW.total_seconds() // 60)} minutes. If it was not you, "
            "change your password.",
        )


FAILED_LOGINS = "Repeated failed sign-ins"
