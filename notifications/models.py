"""What a person is told: notices in the app (the bell) and, per kind, by email."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from integrations.models import Connection


class Kind(models.TextChoices):
    RECONNECT = "reconnect", "A connection needs reconnecting"
    FAILURES = "failures", "Syncs keep failing"
    MASS_DELETION = "mass_deletion", "A mass deletion waits for your confirmation"
    CONFLICTS = "conflicts", "New conflicts"
    SECURITY = "security", "Security alerts about your account"


# Email on unless the person turned it off; conflicts are batched in the app but would still
# be chatty by email, so they start off.
EMAIL_BY_DEFAULT: dict[str, bool] = {
    Kind.RECONNECT: True,
    Kind.FAILURES: True,
    Kind.MASS_DELETION: True,
    Kind.CONFLICTS: False,
    Kind.SECURITY: True,
}


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user: Any) -> NotificationQuerySet:
        return self.filter(user=user)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    # How many things the notice stands for (conflicts batched into one notice an hour).
    count = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"


class EmailPreference(models.Model):
    """One person's choice for one kind; no row means the kind's default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preferences"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_email_preference_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {'email' if self.email else 'no email'}"


def email_wanted(user: Any, kind: str) -> bool:
    chosen = EmailPreference.objects.filter(user=user, kind=kind).values_list("email", flat=True)
    return next(iter(chosen), EMAIL_BY_DEFAULT.get(kind, True))


def email_choices(user: Any) -> dict[str, bool]:
    """Every kind with the person's choice (or its default)."""
    chosen = dict(EmailPreference.objects.filter(user=user).values_list("kind", "email"))
    return {kind: chosen.get(kind, EMAIL_BY_DEFAULT[kind]) for kind in Kind.values}
