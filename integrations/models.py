"""Connections to external services and their encrypted credentials."""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from integrations.actions import SYNC, connection_actions
from integrations.crypto import EncryptedTextField
from integrations.netguard import url_problem, without_userinfo
from integrations.providers import PROVIDERS, UnknownService, provider_class
from integrations.providers.base import AuthStyle, Kind, Provider
from sync.directions import MAPPED_FIELDS, direction_errors
from sync.rules import rule_errors


class Service(models.Model):
    """The database side of the service catalog: one row per registered provider.

    The provider classes are the source of truth for what a service is; this row lets staff
    enable or disable a service and shows its declaration in the admin.
    """

    key = models.SlugField(max_length=40, unique=True)
    display_name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=[(k.value, k.value) for k in Kind])
    auth_style = models.CharField(max_length=20, choices=[(a.value, a.value) for a in AuthStyle])
    capabilities = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "display_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def provider(self) -> type[Provider]:
        return provider_class(self.key)

    @property
    def is_configured(self) -> bool:
        try:
            return self.provider.is_configured()
        except UnknownService:
            return False


# A week, in minutes. The scheduler turns the interval into timedelta(minutes=...), which
# overflows long before an integer column does (it once stopped beat, and run.py with it).
MAX_SYNC_INTERVAL = 7 * 24 * 60


def sync_interval_problem(minutes: object) -> str:
    """Why `minutes` cannot be a connection's sync interval ('' when it can)."""
    low = settings.DAYFLOW_MIN_SYNC_INTERVAL
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        return "must be a whole number of minutes"
    if minutes < low:
        return f"must be at least {low} minutes"
    if minutes > MAX_SYNC_INTERVAL:
        return f"must be at most {MAX_SYNC_INTERVAL} minutes (7 days)"
    return ""


class ConnectionQuerySet(models.QuerySet):
    def for_user(self, user: Any) -> ConnectionQuerySet:
        """The connections `user` owns: the one ownership rule of pages, admin and API."""
        return self.filter(user=user)


class Connection(models.Model):
    """A DayFlow user's connection to one account at one service."""

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        PAUSED = "paused", "Paused"
        NEEDS_REAUTH = "needs_reauth", "Needs reconnecting"
        ERROR = "error", "Error"
        DISCONNECTED = "disconnected", "Disconnected"

    class SyncDirection(models.TextChoices):
        ONE_WAY = "one_way", "Import only (service → DayFlow)"
        TWO_WAY = "two_way", "Two-way"
        MANUAL = "manual", "Manual (on demand only)"

    class ConflictResolution(models.TextChoices):
        MANUAL = "manual", "Ask me"
        LATEST = "latest", "Latest change wins"
        SOURCE = "source", "The service wins"
        MERGE = "merge", "Merge field by field"

    class DeletionPolicy(models.TextChoices):
        PROPAGATE = "propagate", "Delete the other copy too"
        UNLINK = "unlink", "Unlink only: keep the other copy"
        ASK = "ask", "Ask me before deleting"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connections"
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="connections")
    external_account_id = models.CharField(max_length=255)
    label = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONNECTED)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    # When beat's dispatcher (sync.schedule.dispatch_due) next queues its scheduled sync; null
    # while it is not scheduled (paused, disconnected, needing setup, manual, auto_sync off).
    # Kept by the sync app; the partial index below is what each 30-second tick reads.
    next_sync_at = models.DateTimeField("next scheduled sync", null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    auto_sync = models.BooleanField(default=True)
    sync_interval = models.PositiveIntegerField(
        "sync interval (minutes)",
        default=15,
        help_text="How often it syncs: at least the server's minimum (5 minutes unless the "
        "server says otherwise), at most 7 days.",
        validators=[
            MinValueValidator(1),
            MaxValueValidator(
                MAX_SYNC_INTERVAL, f"must be at most {MAX_SYNC_INTERVAL} minutes (7 days)"
            ),
        ],
    )
    sync_direction = models.CharField(
        max_length=10, choices=SyncDirection.choices, default=SyncDirection.TWO_WAY
    )
    sync_tasks = models.BooleanField(default=True)
    sync_events = models.BooleanField(default=True)
    conflict_resolution = models.CharField(
        max_length=10, choices=ConflictResolution.choices, default=ConflictResolution.MANUAL
    )
    field_mapping = models.JSONField(default=dict, blank=True)
    # Per mapped field: "two_way" (the default, also when a field is absent), "from_service",
    # "to_service" or "off" (sync/directions.py decides what each one lets through).
    field_directions = models.JSONField("direction per field", default=dict, blank=True)
    deletion_policy = models.CharField(
        max_length=10, choices=DeletionPolicy.choices, default=DeletionPolicy.PROPAGATE
    )
    # What syncs: a status filter, a date window and tags (sync/rules.py reads them).
    sync_rules = models.JSONField("what syncs", default=dict, blank=True)

    objects = ConnectionQuerySet.as_manager()

    SETTINGS_FIELDS = frozenset(
        {
            "auto_sync",
            "sync_interval",
            "sync_direction",
            "sync_tasks",
            "sync_events",
            "conflict_resolution",
            "field_mapping",
            "field_directions",
            "deletion_policy",
            "sync_rules",
        }
    )

    class Meta:
        ordering = ["service__display_name", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "service", "external_account_id"], name="one_connection_per_account"
            ),
            # DAYFLOW_MIN_SYNC_INTERVAL is configurable, so the floor here is 1 and clean()
            # checks the configured one.
            models.CheckConstraint(
                condition=models.Q(sync_interval__gte=1, sync_interval__lte=MAX_SYNC_INTERVAL),
                name="sync_interval_within_bounds",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "auto_sync"]),
            # Only scheduled connections: the dispatcher's `next_sync_at <= now` range scan.
            models.Index(
                fields=["next_sync_at"],
                condition=models.Q(next_sync_at__isnull=False),
                name="connection_next_sync_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service.display_name}: {self.label or self.external_account_id}"

    def save(self, *args, **kwargs) -> None:
        # Settings are validated on every save that writes them, whoever saves (form, API,
        # admin, shell); bookkeeping saves (status, last_sync_at) skip the check.
        update_fields = kwargs.get("update_fields")
        if update_fields is None or self.SETTINGS_FIELDS & set(update_fields):
            self.clean_fields(exclude=["user", "service", "external_account_id", "label"])
            self.clean()
        super().save(*args, **kwargs)

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.CONNECTED

    @property
    def is_scheduled(self) -> bool:
        """Synced by beat: connected, auto_sync on, not a manual-only connection, and set up."""
        return (
            self.is_active
            and self.auto_sync
            and self.sync_direction != "manual"
            and not self.setup_needed
        )

    @property
    def setup_needed(self) -> str:
        """What the user must still choose before it can sync ("choose a Notion database"),
        or "" when it is ready. While it is not "", no job runs: beat skips it, webhooks and
        "Sync now" are refused. The provider's declaration decides (`Provider.setup_needed`)."""
        if not self.service_id or self.status == self.Status.DISCONNECTED:
            return ""
        if self.service.key not in PROVIDERS:
            return ""
        return self.service.provider.setup_needed(self.field_mapping)

    @property
    def status_words(self) -> str:
        """The status as a person reads it: a connected account that needs setup "Needs setup"."""
        return "Needs setup" if self.is_active and self.setup_needed else self.get_status_display()

    @property
    def allowed_actions(self) -> frozenset[str]:
        """What the user may do with this connection now (integrations/actions.py); a
        connection that needs setup cannot sync until it is set up."""
        allowed = connection_actions(self.status)
        return allowed - {SYNC} if self.setup_needed else allowed

    def clean(self) -> None:
        super().clean()
        # The field's validators give the fixed bounds; the floor is a setting, checked here
        # (once: a value over the top is already the field's error).
        low = settings.DAYFLOW_MIN_SYNC_INTERVAL
        if isinstance(self.sync_interval, int) and 1 <= self.sync_interval < low:
            raise ValidationError({"sync_interval": sync_interval_problem(self.sync_interval)})
        if self.service_id and self.service.key in PROVIDERS:
            errors = validate_field_mapping(self.service.provider, self.field_mapping)
            if not errors and self.service.provider.auth is AuthStyle.APP_PASSWORD:
                errors = calendar_url_errors(self.field_mapping)
            if errors:
                raise ValidationError({"field_mapping": errors})
            self._clean_where_items_go()

    def _clean_where_items_go(self) -> None:
        errors = {
            "field_directions": direction_errors(self.offered_fields(), self.field_directions),
            "sync_rules": rule_errors(tuple(self.offered_fields()), self.sync_rules),
        }
        errors = {name: summed_up(problems) for name, problems in errors.items() if problems}
        if errors:
            raise ValidationError(errors)

    def offered_fields(self) -> dict[str, tuple[str, ...]]:
        """The mapped fields a person may set a direction for, per kind of item the service
        syncs: those it carries with these settings (`Provider.lacks_for` names the others)."""
        provider = self.service.provider
        lacks = provider.lacks_for(self.field_mapping)
        return {
            kind: tuple(f for f in MAPPED_FIELDS[kind] if f"{kind}.{f}" not in lacks)
            for kind in map(str, provider.item_types)
        }


# Bounds of a connection's settings: every id a service hands out fits in 255 characters, an
# address in 2048 (what browsers and servers accept); beyond them a value is a mistake or an
# attack, and would only fail later, at every sync.
MAX_ID_CHARS = 255
MAX_URL_CHARS = 2048
MAX_LIST_ITEMS = 100
MAX_MAPPING_CHARS = 64 * 1024  # the settings as compact JSON
MAX_ERRORS_SHOWN = 10
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def validate_field_mapping(provider: type[Provider], mapping: object) -> list[str]:
    """The mapping's problems, each naming the field; an empty list when it is valid."""
    if not isinstance(mapping, dict):
        return ["must be an object"]
    errors = []
    for name, value in mapping.items():
        expected = provider.mapping_schema.get(name)
        if expected is None:
            allowed = ", ".join(sorted(provider.mapping_schema)) or "none"
            errors.append(
                f"{_shown(name)}: unknown setting for {provider.name} (allowed: {allowed})"
            )
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            errors.append(f"{name}: must be {kind_words(expected)}")
        elif isinstance(value, list) and not all(isinstance(item, str) and item for item in value):
            errors.append(f"{name}: must be a list of ids")
        else:
            errors += _bound_errors(name, value, url=name in provider.mapping_urls)
    if not errors and len(json.dumps(mapping)) > MAX_MAPPING_CHARS:
        errors.append(f"the settings are too large (at most {MAX_MAPPING_CHARS // 1024} KB)")
    return summed_up(errors)


def kind_words(expected: type | tuple[type, ...]) -> str:
    """A setting's type in words: "a str", or "a str or a list" for one id or several."""
    kinds = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(f"a {kind.__name__}" for kind in kinds)


def summed_up(errors: list[str]) -> list[str]:
    """The first few problems, and how many more there are."""
    if len(errors) > MAX_ERRORS_SHOWN:
        return [*errors[:MAX_ERRORS_SHOWN], f"and {len(errors) - MAX_ERRORS_SHOWN} more problems"]
    return errors


def _bound_errors(name: str, value: object, *, url: bool) -> list[str]:
    """Lengths and shapes of one setting's value, in the user's words."""
    words = name.replace("_", " ")
    if isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            return [f"{name}: choose at most {MAX_LIST_ITEMS} {words} (there are {len(value)})"]
        problems = (_text_problem(item, url=url, it="one") for item in value)
        first = next((problem for problem in problems if problem), "")
        return [f"{name}: each of the {words} {first}"] if first else []
    problem = _text_problem(value, url=url, it="it") if isinstance(value, str) else ""
    return [f"{name}: the {words} {problem}"] if problem else []


def _text_problem(text: str, *, url: bool, it: str) -> str:
    limit = MAX_URL_CHARS if url else MAX_ID_CHARS
    if len(text) > limit:
        return f"may be at most {limit} characters long ({it} has {len(text)})"
    if CONTROL_CHARS.search(text):
        return "may not contain line breaks or control characters"
    return ""


def _shown(name: str) -> str:
    """A key the user typed, cut short enough to show in a message."""
    return name if len(name) <= 60 else f"{name[:60]}…"


def calendar_url_errors(mapping: object) -> list[str]:
    """CalDAV calendars are addresses: http(s), a host, and never a password inside."""
    chosen = mapping.get("calendars") if isinstance(mapping, dict) else None
    if not isinstance(chosen, list):
        return []
    problems = [(url, url_problem(url)) for url in chosen if isinstance(url, str) and url]
    return [
        f"calendars: {without_userinfo(url)}: {problem}" for url, problem in problems if problem
    ]


class Credential(models.Model):
    """A connection's secrets, encrypted at rest. Never rendered, logged or serialized."""

    connection = models.OneToOneField(
        Connection, on_delete=models.CASCADE, related_name="credential"
    )
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    scopes = EncryptedTextField(blank=True)
    # CalDAV accounts: server, username and app-specific password.
    server_url = EncryptedTextField(blank=True)
    username = EncryptedTextField(blank=True)
    app_password = EncryptedTextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    SECRET_FIELDS = (
        "access_token",
        "refresh_token",
        "scopes",
        "server_url",
        "username",
        "app_password",
    )

    def __str__(self) -> str:
        return f"credentials of {self.connection}"

    def __repr__(self) -> str:
        return f"<Credential connection={self.connection_id}>"

    def save(self, *args, **kwargs) -> None:
        self.clean()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        # The server URL travels into remote ids, cursors and pages: never a password in it.
        problem = url_problem(self.server_url) if self.server_url else ""
        if problem:
            raise ValidationError({"server_url": problem})


class OAuthHandoff(models.Model):
    """An OAuth connect a script started through the API, for its person to finish in their
    own browser. The flow's state and PKCE verifier, which social-core keeps in the requester's
    session, are kept here for the user instead (encrypted), until the callback claims them:
    once, within ten minutes, by the same user signed in."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    service_key = models.SlugField(max_length=40)
    state_digest = models.CharField(max_length=64, unique=True)  # sha256 of the state
    session = EncryptedTextField()  # JSON: the session entries the flow's start wrote
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.service_key} connect for {self.user_id}"
