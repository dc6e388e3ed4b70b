"""Security alerts raised by the monitoring rules (`security.rules`), and how far the
evaluation has read the audit trail."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class SecurityAlert(models.Model):
    class Severity(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    rule = models.CharField(max_length=60, db_index=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    # The subject: whichever of a person, a connection and an IP the rule names. The connection
    # is kept by id and label (as audit events keep it), so the alert outlives it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="security_alerts",
    )
    connection_id = models.BigIntegerField(null=True, blank=True)
    connection_label = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # rule + subject in one string: one open alert per key (repeats bump count and last_seen).
    subject_key = models.CharField(max_length=200)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=1)
    details = models.JSONField(default=dict, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    staff_emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject_key"],
                condition=Q(acknowledged_at__isnull=True),
                name="one_open_alert_per_rule_and_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_severity_display()} {self.rule}: {self.subject}"

    @property
    def subject(self) -> str:
        parts = []
        if self.user_id is not None:
            parts.append(self.user.get_username() if self.user else f"user {self.user_id}")
        if self.connection_id is not None:
            parts.append(self.connection_label or f"connection {self.connection_id}")
        if self.ip_address:
            parts.append(self.ip_address)
        return ", ".join(parts) or "the installation"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


class Watermark(models.Model):
    """The last audit event the evaluation has read (one row, name "audit")."""

    name = models.CharField(max_length=40, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.last_event_id}"
