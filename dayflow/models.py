"""DayFlow's own planner data: the local side of every sync.

DayFlow does not know it is synced: nothing here imports the integration apps. Every change
bumps `version`, so the sync engine can tell what changed locally since it last looked; deletes
are soft (`deleted_at`), so a deletion can be synced and undone.
"""

from __future__ import annotations

import socket
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from knox.models import AbstractAuthToken, AuthTokenManager
from knox.settings import CONSTANTS

from dayflow.tags import normalized_tags, validate_tags


class PlannerQuerySet(models.QuerySet):
    def alive(self) -> PlannerQuerySet:
        return self.filter(deleted_at__isnull=True)

    def for_user(self, user) -> PlannerQuerySet:
        return self.filter(user=user)


class AliveManager(models.Manager.from_queryset(PlannerQuerySet)):
    def get_queryset(self) -> PlannerQuerySet:
        return super().get_queryset().filter(deleted_at__isnull=True)


UNLOADED = object()  # a column a query did not load


class PlannerItem(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    version = models.PositiveBigIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = AliveManager()
    all_objects = PlannerQuerySet.as_manager()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    # The column of the DayFlow list (or calendar) the item is in, named by each kind.
    SIDE_COLUMN: ClassVar[str] = ""

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.pop("keep_version", False):
            self.version += 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "version", "updated_at"}
        only = kwargs.get("update_fields")
        side_saved = only is None or bool({self.SIDE_COLUMN, self.SIDE_COLUMN[:-3]} & set(only))
        self.moved_lists = side_saved and self.pk is not None and self._side_changed()
        super().save(*args, **kwargs)
        if side_saved:
            self._loaded_side = self.__dict__.get(self.SIDE_COLUMN, UNLOADED)

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Any:
        obj = super().from_db(db, field_names, values)
        obj._loaded_side = obj.__dict__.get(cls.SIDE_COLUMN, UNLOADED)
        return obj

    def _side_changed(self) -> bool:
        """Whether the item is now in another list (or calendar) than the one it was loaded
        in (`moved_lists`, set by every save, for whoever reacts to the save)."""
        loaded = getattr(self, "_loaded_side", UNLOADED)
        current = self.__dict__.get(self.SIDE_COLUMN, UNLOADED)
        return UNLOADED not in (loaded, current) and loaded != current

    def soft_delete(self) -> None:
        self.deleted_at = timezone.now()
        self.save(update_fields=["deleted_at"])

    def restore(self) -> None:
        self.deleted_at = None
        self.save(update_fields=["deleted_at"])

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


# What a task with no list is in, and an event with no calendar: every person has them.
INBOX = "Inbox"
MAIN_CALENDAR = "My calendar"
MAX_LISTS = 200  # lists (and calendars) a person may have: a page, a select, not a database
NAME_CHARS = 100


class NamedQuerySet(models.QuerySet):
    def for_user(self, user) -> NamedQuerySet:
        return self.filter(user=user)


class Named(models.Model):
    """A person's named list of tasks or calendar of events. Items with none are in the
    Inbox or "My calendar", which every person has without a row."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    name = models.CharField(max_length=NAME_CHARS)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = NamedQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.name = " ".join((self.name or "").split())
        if not self.name:
            raise ValidationError({"name": "Give it a name."})
        if self.name.casefold() in (INBOX.casefold(), MAIN_CALENDAR.casefold()):
            raise ValidationError({"name": f"“{self.name}” is always there; choose another name."})
        others = type(self).objects.filter(user_id=self.user_id)
        if others.filter(name__iexact=self.name).exclude(pk=self.pk).exists():
            raise ValidationError({"name": f"You already have one named “{self.name}”."})
        if self.pk is None and others.count() >= MAX_LISTS:
            raise ValidationError(f"You can have at most {MAX_LISTS}.")


class TaskList(Named):
    """A DayFlow list of tasks ("Home", "Work"). Where its new tasks sync is the sync app's
    business (a destination), not the list's."""

    class Meta(Named.Meta):
        verbose_name = "task list"
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="one_list_per_name")]


class Calendar(Named):
    """A DayFlow calendar of events ("Family", "Work")."""

    class Meta(Named.Meta):
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="one_calendar_per_name")
        ]


class Task(PlannerItem):
    SIDE_COLUMN = "task_list_id"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    class Priority(models.IntegerChoices):
        NONE = 0, "None"
        LOW = 1, "Low"
        MEDIUM = 2, "Medium"
        HIGH = 3, "High"
        URGENT = 4, "Urgent"

    title = models.CharField(max_length=500)
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    due_date = models.DateField(null=True, blank=True, help_text="Due on a day, no time.")
    due_at = models.DateTimeField(null=True, blank=True, help_text="Due at a moment.")
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NONE)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The DayFlow list it is in (none: the Inbox).
    task_list = models.ForeignKey(
        TaskList,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
        verbose_name="list",
    )
    # The list or project it is in at the service, as the service names it (read-only).
    list_name = models.CharField("list / project", max_length=200, blank=True)
    # Labels or tags, as a sorted list of names (Todoist labels, ClickUp tags, Linear labels,
    # a Notion multi-select).
    tags = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["status", "due_date", "due_at", "-priority", "title"]
        indexes = [models.Index(fields=["user", "updated_at"])]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        try:
            validate_tags(self.tags)
        except ValidationError as exc:
            raise ValidationError({"tags": exc.messages}) from None
        self.tags = normalized_tags(self.tags)
        if self.task_list_id and self.task_list.user_id != self.user_id:
            raise ValidationError({"task_list": "No such list."})

    @property
    def list_words(self) -> str:
        return self.task_list.name if self.task_list_id else INBOX

    @property
    def is_done(self) -> bool:
        return self.status == self.Status.DONE


# An attendee's answer (integrations/providers/attendees.py RESPONSES) in a person's words.
ANSWER_WORDS = {
    "accepted": "going",
    "tentative": "maybe",
    "declined": "not going",
    "organizer": "organizer",
    "": "no answer yet",
}


class Event(PlannerItem):
    SIDE_COLUMN = "calendar_id"

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        TENTATIVE = "tentative", "Tentative"
        CANCELLED = "cancelled", "Cancelled"

    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    location = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CONFIRMED)
    # The DayFlow calendar it is in (none: "My calendar").
    calendar = models.ForeignKey(
        Calendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    # Who is invited, as the calendar service lists them: [{"email", "name", "response"}].
    # Read-only here: filled from Google and Outlook, never written back.
    attendees = models.JSONField(default=list, blank=True, editable=False)
    all_day = models.BooleanField(default=False)
    # Timed events: aware instants plus the event's own IANA zone (kept so a weekly series stays
    # at the same wall-clock time across DST). An empty zone means floating local time: its
    # wall-clock time is stored as if it were UTC, and read back without a zone.
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    # All-day events: dates only, end exclusive as in iCalendar.
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    # Recurrence: a master with its rule and exception dates, never expanded occurrences.
    rrule = models.CharField("recurrence rule", max_length=500, blank=True)
    exdates = models.JSONField("exception dates", default=list, blank=True)
    series = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="exceptions",
        help_text="For an overridden instance: the series master it belongs to.",
    )
    recurrence_id = models.CharField(
        max_length=40, blank=True, help_text="Original start of an overridden instance (ISO 8601)."
    )

    class Meta:
        ordering = ["start", "start_date", "title"]
        indexes = [models.Index(fields=["user", "updated_at"])]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.calendar_id and self.calendar.user_id != self.user_id:
            raise ValidationError({"calendar": "No such calendar."})

    @property
    def calendar_words(self) -> str:
        return self.calendar.name if self.calendar_id else MAIN_CALENDAR

    @property
    def is_recurring(self) -> bool:
        return bool(self.rrule)

    @property
    def invitees(self) -> list[dict[str, str]]:
        """The attendees as a page shows them: a name (the address when there is none), the
        address beside a name, and their answer in words."""
        return [
            {
                "name": person.get("name") or person.get("email") or "",
                "email": (person.get("email") or "") if person.get("name") else "",
                "answer": ANSWER_WORDS.get(person.get("response") or "", "no answer yet"),
            }
            for person in self.attendees or []
            if isinstance(person, dict)
        ]


class Heartbeat(models.Model):
    """When a process last proved it is alive: beat when it sent the heartbeat task, the worker
    when it ran it. One row per process kind."""

    WORKER = "worker"
    BEAT = "beat"

    name = models.CharField(max_length=50, unique=True)
    last_seen_at = models.DateTimeField()
    hostname = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def record(cls, name: str) -> None:
        cls.objects.update_or_create(
            name=name, defaults={"last_seen_at": timezone.now(), "hostname": socket.gethostname()}
        )


class ApiTokenQuerySet(models.QuerySet):
    def for_user(self, user) -> ApiTokenQuerySet:
        return self.filter(user=user)


class ApiToken(AbstractAuthToken):
    """A personal API token. Only its digest is stored (django-rest-knox hashes it): the token
    itself is shown once, when it is made. It has a name the person chose, which the audit log
    shows as the channel of every write made with it, an optional expiry, and the time it was
    last used (to the minute). The id, not the digest, names it in pages and the API."""

    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    name = models.CharField(max_length=100)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = AuthTokenManager.from_queryset(ApiTokenQuerySet)()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @property
    def is_expired(self) -> bool:
        return self.expiry is not None and self.expiry <= timezone.now()


class Profile(models.Model):
    """A person's own settings for the planner pages: the time zone they read times in, and
    whether they chose to keep the Inbox's (or "My calendar"'s) new items in DayFlow, which a
    service connected later must not undo (`sync.links.reconcile`)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    timezone = models.CharField("time zone", max_length=64, blank=True)
    inbox_stays_local = models.BooleanField("new Inbox tasks stay in DayFlow", default=False)
    main_calendar_stays_local = models.BooleanField(
        f"new {MAIN_CALENDAR} events stay in DayFlow", default=False
    )

    def __str__(self) -> str:
        return f"{self.user} ({self.timezone or 'default zone'})"
