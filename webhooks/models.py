"""The webhooks inbox (every verified delivery, stored before it is processed) and the
subscriptions we hold at each service."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from integrations.crypto import EncryptedTextField
from integrations.models import Connection, Service


def new_public_id() -> str:
    """The id in a subscription's URL: random, so URLs cannot be guessed from row numbers."""
    return secrets.token_urlsafe(18)


class WebhookSubscription(models.Model):
    """One push channel at one service: a ClickUp/Linear webhook, a Google channel, a Graph
    subscription, or a Notion subscription set up in Notion's integration settings."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (waiting for the service's handshake)"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended by the service"
        EXPIRED = "expired", "Expired"
        FAILED = "failed", "Registration failed"
        REMOVED = "removed", "Removed"

    LIVE_STATUSES = (Status.ACTIVE,)

    public_id = models.CharField(max_length=40, unique=True, default=new_public_id, editable=False)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="subscriptions")
    # Null for an app-wide subscription (Notion's is per integration): the delivery's
    # workspace id then names the connection.
    connection = models.ForeignKey(
        Connection,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
    )
    remote_id = models.CharField(max_length=255, blank=True, db_index=True)
    # Google's X-Goog-Resource-ID, needed to stop a channel.
    resource_id = models.CharField(max_length=255, blank=True)
    # What is watched: a Google calendar id, a Graph resource path, a ClickUp team id…
    resource = models.CharField(max_length=500, blank=True)
    secret = EncryptedTextField(blank=True)
    events = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    last_error = models.TextField(blank=True)
    # Consecutive failed registrations/renewals, and when the beat task may try again.
    failures = models.PositiveIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.service.key} subscription {self.public_id}"

    def __repr__(self) -> str:
        return f"<WebhookSubscription {self.pk} {self.status}>"

    @property
    def is_live(self) -> bool:
        if self.status not in self.LIVE_STATUSES:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class Delivery(models.Model):
    """One verified delivery in the inbox. (service, delivery_id) is unique, so a retried or
    replayed delivery is stored, and processed, once."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="deliveries")
    subscription = models.ForeignKey(
        WebhookSubscription,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delivery_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    sync_job_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["service", "delivery_id"], name="one_delivery_per_service_id"
            )
        ]

    def __str__(self) -> str:
        return f"delivery {self.delivery_id} ({self.event_type or 'event'})"
