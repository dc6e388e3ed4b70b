"""Celery tasks of the notifications app: they take ids, re-fetch, and return quietly if the
row is gone or the work is done."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from notifications.models import Notification

SEND_EMAIL = "notifications.send_email"


@shared_task(name=SEND_EMAIL)
def send_email(notification_id: int) -> bool:
    notice = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notice is None or notice.emailed_at is not None or not notice.user.email:
        return False
    link = f"{settings.PUBLIC_URL}{notice.link}" if notice.link.startswith("/") else notice.link
    lines = [notice.body, "", f"Where to act: {link}" if link else ""]
    send_mail(
        f"DayFlow: {notice.title}",
        "\n".join(lines).strip() + "\n",
        None,  # DEFAULT_FROM_EMAIL
        [notice.user.email],
    )
    # Marked once sent: a retry after a crash may send twice, never zero times.
    Notification.objects.filter(pk=notice.pk).update(emailed_at=timezone.now())
    return True
