"""Audit events: who did what to which connection, when, from where, and whether it worked."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEventQuerySet(models.QuerySet):
    def for_user(self, user) -> AuditEventQuerySet:
        """What this person did (the events they are the actor of): their own activity."""
        return self.filter(actor=user)


class AuditEvent(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # The connection is kept by id and label, not a foreign key: audit imports none of our apps,
    # and the record must outlive the connection it describes.
    connection_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    connection_label = models.CharField(max_length=300, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    resource = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    success = models.BooleanField(default=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    # How the actor acted: "web" (the pages and the admin), "api: <token name>" (a personal API
    # token), "api: session" (the pages' own scripts calling the API); empty for the system
    # (beat, workers, webhooks).
    channel = models.CharField(max_length=120, blank=True, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["actor", "-created_at"])]

    def __str__(self) -> str:
        outcome = "ok" if self.success else "failed"
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} ({outcome})"
