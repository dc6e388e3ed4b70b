"""Notices are emailed by a Celery task after the transaction commits, per the person's choice."""

from __future__ import annotations

import pytest
from django.core import mail

from notifications.models import EmailPreference, Kind, Notification
from notifications.services import notify
from notifications.tasks import send_email

pytestmark = pytest.mark.django_db


def test_a_notice_is_emailed_once_the_transaction_commits(
    user, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notice = notify(user, Kind.RECONNECT, "Reconnect Todoist", "Connect again.", link="/x/")
    assert not mail.outbox  # never inside the request's transaction

    for callback in callbacks:
        callback()

    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "DayFlow: Reconnect Todoist"
    assert "Connect again." in message.body
    assert "http://" in message.body
    notice.refresh_from_db()
    assert notice.emailed_at is not None


def test_a_kind_turned_off_is_not_emailed_and_conflicts_start_off(
    user, eager_celery, django_capture_on_commit_callbacks
):
    EmailPreference.objects.create(user=user, kind=Kind.SECURITY, email=False)
    with django_capture_on_commit_callbacks(execute=True):
        notify(user, Kind.SECURITY, "Your password was changed")
        notify(user, Kind.CONFLICTS, "2 new conflicts")
    assert not mail.outbox
    assert Notification.objects.count() == 2  # still shown in the app


def test_the_task_sends_once_and_tolerates_a_notice_that_is_gone(user):
    notice = Notification.objects.create(user=user, kind=Kind.FAILURES, title="Failing")
    assert send_email(notice.pk) is True
    assert send_email(notice.pk) is False  # already emailed
    assert send_email(10**9) is False  # gone
    assert len(mail.outbox) == 1


def test_no_email_address_no_email(user, eager_celery, django_capture_on_commit_callbacks):
    user.email = ""
    user.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        notify(user, Kind.RECONNECT, "Reconnect")
    assert not mail.outbox
