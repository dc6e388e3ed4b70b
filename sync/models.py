"""The sync engine's state: links with their base, cursors, jobs, conflicts and the journal."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from dayflow.models import INBOX, MAIN_CALENDAR, Calendar, Event, Task, TaskList
from integrations.models import Connection, summed_up
from integrations.providers.base import safe_web_url
from sync.actions import job_actions
from sync.rules import in_words, rule_errors


class ItemType(models.TextChoices):
    TASK = "task", "Task"
    EVENT = "event", "Event"


class SyncLinkQuerySet(models.QuerySet):
    def for_user(self, user: Any) -> SyncLinkQuerySet:
        return self.filter(user=user)

    def destinations(self) -> SyncLinkQuerySet:
        return self.filter(is_destination=True)


class SyncLink(models.Model):
    """One container a connection syncs (a Todoist project, a Linear team, a calendar) and
    the DayFlow list or calendar its items live in. At most one link is the destination of a
    DayFlow list (or calendar): where that list's new items are created. A list with none
    keeps its new items in DayFlow.

    The containers come from the connection's settings (`sync.links.reconcile`, on every
    save of a connection); the DayFlow side and the destination are the person's choice."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="sync_links")
    # The connection's owner, here so one row can say "one destination per list".
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    item_type = models.CharField(max_length=10, choices=ItemType.choices)
    # The container's id at the service; "" for the service's own default (the primary
    # calendar, every calendar of a CalDAV account).
    collection = models.CharField(max_length=2048, blank=True)
    name = models.CharField(max_length=255, blank=True)
    task_list = models.ForeignKey(
        TaskList, null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_links"
    )
    calendar = models.ForeignKey(
        Calendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_links"
    )
    is_destination = models.BooleanField(
        "new items go here",
        default=False,
        help_text="New items of its DayFlow list or calendar are created in this container.",
    )
    # What syncs from this container and what a deletion in it does; None and "" follow the
    # connection's `sync_rules` and `deletion_policy` (`sync.links.LinkSettings`).
    sync_rules = models.JSONField(
        "what syncs",
        null=True,
        blank=True,
        help_text="Rules of this container only (as the connection's); empty: the connection's.",
    )
    deletion_policy = models.CharField(
        "when an item is deleted",
        max_length=10,
        blank=True,
        choices=Connection.DeletionPolicy.choices,
        help_text="Empty: as the connection.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # When a real sync first went through this container; None: not yet. A container ticked
    # on a connection that has synced waits for the person's word on its first sync's preview
    # (`sync.services.awaits_first_confirmation`).
    first_synced_at = models.DateTimeField("first synced", null=True, blank=True)

    objects = SyncLinkQuerySet.as_manager()

    class Meta:
        ordering = ["connection_id", "item_type", "collection"]
        verbose_name = "sync link"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "item_type", "collection"], name="one_link_per_container"
            ),
            models.UniqueConstraint(
                fields=["user", "task_list"],
                condition=Q(is_destination=True, task_list__isnull=False),
                name="one_destination_per_list",
            ),
            models.UniqueConstraint(
                fields=["user", "calendar"],
                condition=Q(is_destination=True, calendar__isnull=False),
                name="one_destination_per_calendar",
            ),
            models.UniqueConstraint(
                fields=["user", "item_type"],
                condition=Q(is_destination=True, task_list__isnull=True, calendar__isnull=True),
                name="one_destination_for_inbox",
            ),
            models.CheckConstraint(
                condition=Q(item_type=ItemType.TASK, calendar__isnull=True)
                | Q(item_type=ItemType.EVENT, task_list__isnull=True),
                name="link_side_matches_type",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.connection} · {self.container_words} → {self.dayflow_words}"

    @property
    def container_words(self) -> str:
        """The container as a person knows it: its name, else its id, else the default."""
        if self.name or self.collection:
            return self.name or self.collection
        return self.connection.service.provider.collection_default or "default"

    @property
    def dayflow_words(self) -> str:
        """The DayFlow list or calendar its items live in."""
        if self.item_type == ItemType.TASK:
            return self.task_list.name if self.task_list_id else INBOX
        return self.calendar.name if self.calendar_id else MAIN_CALENDAR

    @property
    def dayflow_side_id(self) -> int | None:
        return self.task_list_id if self.item_type == ItemType.TASK else self.calendar_id

    def clean(self) -> None:
        if self.sync_rules is not None:
            problems = rule_errors((str(self.item_type),), self.sync_rules)
            if problems:
                raise ValidationError({"sync_rules": summed_up(problems)})

    @property
    def rules_in_force(self) -> Any:
        """Its own rules, else its connection's."""
        return self.connection.sync_rules if self.sync_rules is None else self.sync_rules

    @property
    def policy_in_force(self) -> str:
        """Its own deletion policy, else its connection's."""
        return self.deletion_policy or self.connection.deletion_policy

    @property
    def rules_words(self) -> str:
        """The rules in force, as a person reads them ("Tasks not completed")."""
        return in_words(str(self.item_type), self.rules_in_force)

    @property
    def policy_words(self) -> str:
        """The deletion policy in force, as a person reads it."""
        return policy_words(self.policy_in_force)


def policy_words(policy: str) -> str:
    return str(dict(Connection.DeletionPolicy.choices).get(policy, policy))


class ItemLink(models.Model):
    """One synced pair: a DayFlow task or event and the remote item it mirrors.

    `base` holds the normalized fields as they were when both sides last agreed: what three-way
    merging compares against, and what makes our own writes recognisable when they come back.
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="links")
    item_type = models.CharField(max_length=10, choices=ItemType.choices)
    task = models.ForeignKey(
        Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_links"
    )
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_links"
    )
    # Empty while a remote create is in flight: a rerun after a crash looks the item up first.
    remote_id = models.CharField(max_length=255, blank=True)
    collection = models.CharField(max_length=255, blank=True)
    remote_version = models.CharField(max_length=255, blank=True)
    local_version = models.PositiveBigIntegerField(default=0)
    base = models.JSONField(default=dict, blank=True)
    dayflow_id = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    # The item's page at the service, as the provider gave it (only http(s): see
    # `integrations.providers.base.safe_web_url`); empty when the service has none.
    web_url = models.URLField("address at the service", max_length=500, blank=True)
    # Set when undoing a job left the two sides apart (one side's copy removed): the engine
    # leaves the pair alone, the job's page lists it, and "send again" syncs it once more.
    undone_at = models.DateTimeField("not synced (undone) since", null=True, blank=True)
    # Under the "ask" deletion policy: the side whose copy was deleted ("local" or "remote"),
    # and since when the deletion waits for the person to confirm or restore it.
    deletion_pending = models.CharField(max_length=10, blank=True)
    deletion_pending_at = models.DateTimeField(null=True, blank=True)
    # DayFlow's copy moved to a list whose new items go to that other connection: this link
    # lets go of the item (`decisions.hand_over`) and that connection takes it.
    handover_to = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "remote_id"],
                condition=~Q(remote_id=""),
                name="one_link_per_remote_item",
            ),
            models.UniqueConstraint(
                fields=["connection", "task"],
                condition=Q(task__isnull=False),
                name="one_link_per_task",
            ),
            models.UniqueConstraint(
                fields=["connection", "event"],
                condition=Q(event__isnull=False),
                name="one_link_per_event",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_type} {self.local_id} <-> {self.remote_id or '(creating)'}"

    @property
    def web_address(self) -> str:
        """The item's page at the service, checked again as it is shown: only http(s)."""
        return safe_web_url(self.web_url)

    @property
    def local_id(self) -> int | None:
        return self.task_id if self.item_type == ItemType.TASK else self.event_id


class SyncCursor(models.Model):
    """Where the change feed of one collection of a connection was last read up to."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="cursors")
    collection = models.CharField(max_length=255, blank=True)
    value = models.TextField(blank=True)
    # Local changes are looked for from here on (the start of the last complete sync).
    local_watermark = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "collection"], name="one_cursor_per_collection"
            )
        ]

    def __str__(self) -> str:
        return f"cursor of {self.connection_id}/{self.collection or '-'}"


class JobQuerySet(models.QuerySet):
    def for_user(self, user: Any) -> JobQuerySet:
        """The jobs of connections `user` owns."""
        return self.filter(connection__user=user)


class ConflictQuerySet(models.QuerySet):
    def for_user(self, user: Any) -> ConflictQuerySet:
        """The conflicts on links of connections `user` owns."""
        return self.filter(link__connection__user=user)


class SyncJob(models.Model):
    class Kind(models.TextChoices):
        FULL = "full", "Full"
        INCREMENTAL = "incremental", "Incremental"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        USER = "user", "User"
        WEBHOOK = "webhook", "Webhook"
        API = "api", "API"
        ADMIN = "admin", "Admin"
        COMMAND = "command", "Command"
        LOCAL = "local", "DayFlow change"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        NEEDS_CONFIRMATION = "needs_confirmation", "Needs confirmation"
        CANCELLED = "cancelled", "Cancelled"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Phase(models.TextChoices):
        """Where a run is: set by the engine at its checkpoints (`sync.engine.run`)."""

        QUEUED = "queued", "Waiting to start"
        PULLING = "pulling", "Pulling changes"
        DECIDING = "deciding", "Deciding what to change"
        WRITING_REMOTE = "writing_remote", "Writing to the service"
        WRITING_LOCAL = "writing_local", "Writing to DayFlow"
        DONE = "done", "Done"

    class Control(models.TextChoices):
        NONE = "", "None"
        PAUSE = "pause", "Pause"
        CANCEL = "cancel", "Cancel"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    COUNTERS = (
        "processed",
        "local_created",
        "local_updated",
        "local_deleted",
        "remote_created",
        "remote_updated",
        "remote_deleted",
        "conflicts",
        "errors",
        "api_calls",
    )

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INCREMENTAL)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.USER)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    control = models.CharField(max_length=10, choices=Control.choices, blank=True, default="")
    dry_run = models.BooleanField(default=False)
    confirmed = models.BooleanField(default=False, help_text="Mass deletions were confirmed.")
    phase = models.CharField(
        max_length=20,
        choices=Phase.choices,
        default=Phase.QUEUED,
        help_text="Where the run is: saved at the engine's checkpoints.",
    )
    planned = models.PositiveIntegerField(
        default=0,
        help_text="How many items the run's plan applies, once it has decided (0 before): "
        "with `processed`, its progress.",
    )
    processed = models.PositiveIntegerField(default=0)
    local_created = models.PositiveIntegerField(default=0)
    local_updated = models.PositiveIntegerField(default=0)
    local_deleted = models.PositiveIntegerField(default=0)
    remote_created = models.PositiveIntegerField(default=0)
    remote_updated = models.PositiveIntegerField(default=0)
    remote_deleted = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A running job's lease: a worker killed mid-job stops renewing it, so a rerun may take over.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One job per connection at a time, and at most one waiting behind it: enforced by
            # the database, so it holds across worker processes and machines.
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(status="running", dry_run=False),
                name="one_running_job",
            ),
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(status="queued", dry_run=False),
                name="one_queued_job",
            ),
        ]
        indexes = [models.Index(fields=["connection", "status"])]

    def __str__(self) -> str:
        return f"{self.kind} sync #{self.pk} of {self.connection_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (
            self.Status.SUCCEEDED,
            self.Status.FAILED,
            self.Status.CANCELLED,
        )

    @property
    def is_active(self) -> bool:
        """Queued or running: its page follows it until it stops."""
        return self.status in self.ACTIVE

    @property
    def allowed_actions(self) -> frozenset[str]:
        """What the user may do with this job now (sync/actions.py)."""
        return job_actions(self.status, dry_run=self.dry_run)

    def counters(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.COUNTERS}


class Conflict(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    class Resolution(models.TextChoices):
        NONE = "", "None"
        LOCAL = "local", "Keep DayFlow's version"
        REMOTE = "remote", "Keep the service's version"
        MERGED = "merged", "Merged"

    link = models.ForeignKey(ItemLink, on_delete=models.CASCADE, related_name="conflicts")
    job = models.ForeignKey(SyncJob, null=True, blank=True, on_delete=models.SET_NULL)
    base = models.JSONField(default=dict, blank=True)
    local = models.JSONField(null=True, blank=True)
    remote = models.JSONField(null=True, blank=True)
    remote_version = models.CharField(max_length=255, blank=True)
    fields = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(max_length=10, choices=Resolution.choices, blank=True, default="")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ConflictQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["link"], condition=Q(status="open"), name="one_open_conflict_per_link"
            )
        ]

    def __str__(self) -> str:
        return f"conflict on {self.link_id} ({', '.join(self.fields)})"

    def field_rows(self) -> list[dict[str, Any]]:
        """Field by field: as it was (base), in DayFlow (local), at the service (remote), and
        whether it clashes; what the conflict's page and the API show."""
        base, local, remote = self.base or {}, self.local or {}, self.remote or {}
        return [
            {
                "name": name,
                "base": base.get(name),
                "local": local.get(name),
                "remote": remote.get(name),
                "clash": name in self.fields,
            }
            for name in sorted(set(local) | set(remote))
        ]


class JournalEntry(models.Model):
    """One change the engine applied to one side: before and after, so nothing is lost."""

    class Side(models.TextChoices):
        LOCAL = "local", "DayFlow"
        REMOTE = "remote", "Service"

    class Op(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        DELETE = "delete", "Delete"
        MOVE = "move", "Move"  # to another container of the service (before/after: "list")

    job = models.ForeignKey(SyncJob, null=True, on_delete=models.SET_NULL, related_name="journal")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="journal")
    link = models.ForeignKey(
        ItemLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="journal"
    )
    item_type = models.CharField(max_length=10, choices=ItemType.choices)
    side = models.CharField(max_length=10, choices=Side.choices)
    op = models.CharField(max_length=10, choices=Op.choices)
    local_id = models.BigIntegerField(null=True, blank=True)
    remote_id = models.CharField(max_length=255, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    # The version the side held right after the write: undo only reverts what is still ours.
    version_after = models.CharField(max_length=255, blank=True)
    reason = models.CharField(max_length=40, blank=True)
    reverted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "journal entries"

    def __str__(self) -> str:
        return f"{self.op} {self.side} {self.item_type} ({self.reason})"


class SyncStart(models.Model):
    """An `Idempotency-Key` a client sent with a request that started a sync: the same key
    from the same person, within a day, answers with the same job instead of starting another."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE)
    mode = models.CharField(max_length=12)
    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="sync_start_one_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} -> job {self.job_id}"
