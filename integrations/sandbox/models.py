"""The sandbox's own small tables: clients, accounts, grants, items and outbound webhooks.

One generic item table (a JSON payload per item) serves every emulator; `seq` orders changes
within an account, so each service's change feed is "items with a seq above the cursor's".
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Client(models.Model):
    """An OAuth client registered at an emulated service: what its developer console holds."""

    service = models.SlugField(max_length=40)
    client_id = models.CharField(max_length=200)
    client_secret = models.CharField(max_length=200)
    redirect_uri = models.CharField(max_length=500)
    # Where the service sends its app-wide webhooks (Todoist, Notion), signed with the secret.
    webhook_url = models.CharField(max_length=500, blank=True)
    webhook_secret = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "client_id"], name="sandbox_client_unique")
        ]

    def __str__(self) -> str:
        return f"{self.service}:{self.client_id}"


class Account(models.Model):
    """One person's account at an emulated service, seeded with believable data."""

    service = models.SlugField(max_length=40)
    login = models.CharField(max_length=200)  # an email address
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=100)
    seq = models.BigIntegerField(default=0)  # the last change's number
    # Change-feed cursors below this number are expired (Google's 410, Graph's syncStateNotFound).
    cursor_floor = models.BigIntegerField(default=0)
    throttled = models.IntegerField(default=0)  # the next N API calls are answered with 429
    created_at = models.DateTimeField()
    # The DayFlow user who connected it on the authorize page: the console shows them only theirs.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sandbox_accounts",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "login"], name="sandbox_account_unique")
        ]

    def __str__(self) -> str:
        return f"{self.service}:{self.login}"


class Grant(models.Model):
    """An authorization code, access token or refresh token the sandbox issued.

    Tokens from one authorization share a `family`: revoking or replaying one ends them all.
    """

    class Kind(models.TextChoices):
        CODE = "code"
        ACCESS = "access"
        REFRESH = "refresh"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(max_length=200, unique=True)
    family = models.CharField(max_length=64, db_index=True)
    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    redirect_uri = models.CharField(max_length=500, blank=True)
    code_challenge = models.CharField(max_length=200, blank=True)
    scope = models.CharField(max_length=500, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} for {self.account}"


class Item(models.Model):
    """One thing held at a service (task, project, event, calendar, channel…) as its JSON."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=40)
    remote_id = models.CharField(max_length=200)
    container = models.CharField(max_length=200, blank=True, db_index=True)
    data = models.JSONField(default=dict)
    seq = models.BigIntegerField(default=0, db_index=True)
    deleted = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "remote_id"], name="sandbox_item_unique"
            )
        ]
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"{self.kind} {self.remote_id}"


class Delivery(models.Model):
    """A webhook the service sends: stored first, then posted to the subscriber, and posted
    again on the service's own schedule while the subscriber fails (`outbox.Retries`)."""

    service = models.SlugField(max_length=40)
    url = models.CharField(max_length=500)
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)  # the last attempt
    status = models.IntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the next attempt is due; None once delivered, given up, or while an attempt runs.
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The service's waits before each retry, in seconds, and how long it waits for an answer.
    retry_in = models.JSONField(default=list)
    timeout = models.FloatField(default=5.0)

    def __str__(self) -> str:
        return f"{self.service} webhook to {self.url}"
