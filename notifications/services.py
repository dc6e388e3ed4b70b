"""`notify(...)`: the one way to raise a notice. It stores the notice and, when the person wants
this kind by email, queues the email for after the transaction commits (a Celery task that
takes the notice's id: never sent in the request)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from notifications.models import Notification, email_wanted
from notifications.tasks import send_email


def notify(
    user: Any,
    kind: str,
    title: str,
    body: str = "",
    *,
    link: str = "",
    connection: Any = None,
    count: int = 1,
) -> Notification:
    notice = Notification.objects.create(
        user=user,
        kind=kind,
        connection=connection if getattr(connection, "pk", None) else None,
        title=title[:200],
        body=body,
        link=link[:300],
        count=count,
    )
    if getattr(user, "email", "") and email_wanted(user, kind):
        transaction.on_commit(lambda: send_email_later(notice.pk))
    return notice


def send_email_later(notification_id: int) -> None:
    send_email.delay(notification_id)


def mark_read(user: Any, notification_id: int | None = None) -> int:
    """Mark one of the person's notices (or all of them) read; how many changed."""
    notices = Notification.objects.for_user(user).unread()
    if notification_id is not None:
        notices = notices.filter(pk=notification_id)
    return notices.update(read_at=timezone.now())
