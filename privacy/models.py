"""Data protection: a person's exports of their data, the erasures of accounts (kept with
counts only, no personal data), and the consent each connection was granted with."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class ExportQuerySet(models.QuerySet):
    def for_user(self, user: Any) -> ExportQuerySet:
        return self.filter(user=user)


class ExportRequest(models.Model):
    """One archive of everything we hold about a person, built by `privacy.build_export`. The
    file lives under VAR_DIR (never a served directory) and is deleted once it expires."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        RUNNING = "running", "Being built"
        READY = "ready", "Ready to download"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    IN_PROGRESS = (Status.PENDING, Status.RUNNING)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file_path = models.CharField(max_length=500, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = ExportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One export in progress per person: a second request while one runs is refused.
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(status__in=["pending", "running"]),
                name="privacy_one_export_in_progress",
            )
        ]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.status})"

    @property
    def in_progress(self) -> bool:
        return self.status in self.IN_PROGRESS

    @property
    def is_ready(self) -> bool:
        """Built (its link may have expired since: `downloadable`)."""
        return self.status == self.Status.READY

    @property
    def downloadable(self) -> bool:
        return self.is_ready and self.expires_at is not None and self.expires_at > timezone.now()

    @property
    def failed(self) -> bool:
        return self.status == self.Status.FAILED


class ErasureRequest(models.Model):
    """The erasure of an account, run by `privacy.erase_account`, step by step; a step done is
    named in `steps_done` and skipped on the next run. Once the account is gone the row keeps
    only what was done (counts), no personal data: the user link is cleared with the user."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        RUNNING = "running", "Under way"
        WAITING = "waiting", "Waiting for a service to answer"
        DONE = "done", "Done"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    by_staff = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    steps_done = models.JSONField(default=list, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"erasure {self.pk} ({self.status})"


class ConsentQuerySet(models.QuerySet):
    def for_user(self, user: Any) -> ConsentQuerySet:
        return self.filter(user=user)


class Consent(models.Model):
    """What a person agreed to when connecting an account: the service, the scopes it granted,
    when and from which address. A reconnect granting other scopes records a new consent; the
    record outlives a disconnected connection (not its owner's account)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    connection = models.ForeignKey(
        "integrations.Connection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="consents",
    )
    service_key = models.CharField(max_length=50)
    scopes = models.JSONField(default=list, blank=True)
    granted_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["-granted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.service_key}: {' '.join(self.scopes) or 'no scopes'}"
