"""Staff views of the engine: jobs (with pause, resume, cancel, confirm, undo), conflicts,
links (with their waiting deletions confirmed or restored) and the journal; and a "Sync now"
action on connections."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from audit.writer import scrub
from dayflow.models import Calendar, TaskList
from integrations.mapping_field import JSONObjectField
from integrations.models import Connection
from sync import deletions, links, repair, services
from sync.actions import CANCEL, CONFIRM, PAUSE, RESUME, JobActionRefused
from sync.models import Conflict, ItemLink, ItemType, JournalEntry, SyncJob, SyncLink


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SyncJob)
class SyncJobAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "connection",
        "kind",
        "trigger",
        "status",
        "processed",
        "conflicts",
        "errors",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "kind", "trigger", "dry_run"]
    list_select_related = ["connection__service"]
    search_fields = ["connection__label", "connection__user__username"]
    actions = ["pause", "resume", "cancel", "confirm", "undo", "send_again"]

    def _each(self, request, jobs: QuerySet, action: str, verb: str) -> None:
        done = 0
        for job in jobs:
            try:
                services.control_job(job, action, request=request)
            except JobActionRefused:
                continue
            done += 1
        self.message_user(request, f"{verb} {done} of {jobs.count()} job(s).", messages.INFO)

    @admin.action(description="Pause at the next checkpoint")
    def pause(self, request, jobs: QuerySet) -> None:
        self._each(request, jobs, PAUSE, "Paused")

    @admin.action(description="Resume")
    def resume(self, request, jobs: QuerySet) -> None:
        self._each(request, jobs, RESUME, "Resumed")

    @admin.action(description="Cancel")
    def cancel(self, request, jobs: QuerySet) -> None:
        self._each(request, jobs, CANCEL, "Cancelled")

    @admin.action(description="Confirm the deletions and run")
    def confirm(self, request, jobs: QuerySet) -> None:
        self._each(request, jobs, CONFIRM, "Confirmed")

    @admin.action(description="Undo (revert what the job wrote)")
    def undo(self, request, jobs: QuerySet) -> None:
        for job in jobs:
            report = repair.undo_job(job.pk, user=request.user, request=request)
            self.message_user(
                request,
                f"Job {job.pk}: reverted {report.reverted}, skipped {len(report.skipped)}."
                + (f" {report.unlinked} not synced (undone)." if report.unlinked else ""),
                messages.WARNING if report.skipped or report.unlinked else messages.INFO,
            )

    @admin.action(description="Send again what undo left not synced")
    def send_again(self, request, jobs: QuerySet) -> None:
        for job in jobs:
            report = repair.send_again(job.pk, user=request.user, request=request)
            self.message_user(
                request,
                f"Job {job.pk}: sent again {report.sent}, failed {len(report.failed)}.",
                messages.WARNING if report.failed else messages.INFO,
            )


@admin.register(Conflict)
class ConflictAdmin(ReadOnlyAdmin):
    list_display = ["pk", "link", "fields", "status", "resolution", "resolved_by", "created_at"]
    list_filter = ["status", "resolution"]
    actions = ["keep_local", "keep_remote"]

    def _resolve(self, request, conflicts: QuerySet, resolution: str) -> None:
        for conflict in conflicts.filter(status=Conflict.Status.OPEN):
            try:
                repair.resolve_conflict(conflict.pk, resolution, user=request.user, request=request)
            except repair.CannotResolve as error:
                self.message_user(request, f"Conflict {conflict.pk}: {error}", messages.ERROR)

    @admin.action(description="Keep DayFlow's version")
    def keep_local(self, request, conflicts: QuerySet) -> None:
        self._resolve(request, conflicts, Conflict.Resolution.LOCAL)

    @admin.action(description="Keep the service's version")
    def keep_remote(self, request, conflicts: QuerySet) -> None:
        self._resolve(request, conflicts, Conflict.Resolution.REMOTE)


@admin.register(ItemLink)
class ItemLinkAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "connection",
        "item_type",
        "local_id",
        "remote_id",
        "undone_at",
        "deletion_pending",
        "synced_at",
    ]
    list_filter = [
        "item_type",
        ("undone_at", admin.EmptyFieldListFilter),
        "deletion_pending",  # kept apart by the deletion policy: "unlinked", or waiting
    ]
    search_fields = ["remote_id", "dayflow_id"]
    list_select_related = ["connection__service"]
    # A service's error may quote what it was sent: shown scrubbed, as the audit log keeps it.
    exclude = ["last_error"]
    readonly_fields = ["error"]
    actions = ["confirm_deletion", "restore_item"]

    @admin.display(description="last error")
    def error(self, link: ItemLink) -> str:
        return scrub(link.last_error)

    def has_settle_permission(self, request) -> bool:
        return request.user.has_perm("sync.change_itemlink")

    def _settle(self, request, chosen: QuerySet, action: str, verb: str) -> None:
        """Each chosen link through `deletions.settle`, as its connection's page settles one."""
        count = chosen.count()
        if count > deletions.MAX_AT_ONCE:
            self.message_user(
                request,
                f"Nothing was changed: choose at most {deletions.MAX_AT_ONCE} links at a time.",
                messages.ERROR,
            )
            return
        done, refused = 0, defaultdict[str, list[str]](list)
        for link in chosen.select_related("connection__service").order_by("pk"):
            connection = link.connection
            try:
                report = deletions.settle(
                    connection, action, link.pk, user=request.user, request=request
                )
            except deletions.DeletionRefused as refusal:
                refused[refusal.reason].append(str(link.pk))
                continue
            done += report.done
            for failure in report.failed:
                why = str(failure["why"])[:500]  # scrubbed by `settle`
                self.message_user(
                    request, f"Link {link.pk}: {connection.service} refused: {why}", messages.ERROR
                )
        for reason, ids in refused.items():
            self.message_user(
                request, f"Not changed (link {', '.join(ids)}): {reason}.", messages.ERROR
            )
        self.message_user(request, f"{verb} {done} of {count} link(s).", messages.INFO)

    @admin.action(description="Confirm the deletion", permissions=["settle"])
    def confirm_deletion(self, request, chosen: QuerySet) -> None:
        self._settle(request, chosen, deletions.CONFIRM, "Confirmed the deletion of")

    @admin.action(description="Restore the item", permissions=["settle"])
    def restore_item(self, request, chosen: QuerySet) -> None:
        self._settle(request, chosen, deletions.RESTORE, "Restored")


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["pk", "job", "item_type", "side", "op", "reason", "created_at", "reverted_at"]
    list_filter = ["side", "op", "reason"]
    search_fields = ["remote_id"]


class SyncLinkForm(forms.ModelForm):
    """The list (or calendar) a link feeds and whether it is that list's destination; the
    choices are the link owner's own lists. The change is tried through `sync.links` and
    rolled back while the form is checked, so what those functions refuse is a form error."""

    sync_rules = JSONObjectField(
        required=False,
        label="What syncs",
        help_text=SyncLink._meta.get_field("sync_rules").help_text,
    )

    class Meta:
        model = SyncLink
        fields = ["task_list", "calendar", "is_destination", "sync_rules", "deletion_policy"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.instance.user_id
        if "task_list" in self.fields:
            self.fields["task_list"].queryset = TaskList.objects.for_user(owner)
            self.fields["task_list"].empty_label = "Inbox"
        if "calendar" in self.fields:
            self.fields["calendar"].queryset = Calendar.objects.for_user(owner)
            self.fields["calendar"].empty_label = "My calendar"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors:
            try:
                with transaction.atomic():
                    apply_change(self.instance, data)
                    transaction.set_rollback(True)
            except links.LinkRefused as refused:
                raise forms.ValidationError(str(refused)) from None
        return data


def apply_change(link: SyncLink, data: dict[str, Any]) -> SyncLink:
    column = "task_list" if link.item_type == ItemType.TASK else "calendar"
    link = links.choose(link, data.get(column), bool(data.get("is_destination")))
    own = [name for name in ("sync_rules", "deletion_policy") if name in data]
    for name in own:
        setattr(link, name, data[name])
    link.save(update_fields=own)  # new rules: the next sync lists everything (sync.receivers)
    return link


@admin.register(SyncLink)
class SyncLinkAdmin(admin.ModelAdmin):
    """Links follow their connection's settings: none is added here, only the DayFlow side
    and the destination change, through `sync.links`. Deleting stays allowed: a connection's
    delete page needs it for the links that go with it (and a link deleted alone comes back
    at the connection's next save)."""

    form = SyncLinkForm
    list_display = ["pk", "connection", "item_type", "container", "dayflow", "is_destination"]
    list_filter = ["item_type", "is_destination"]
    list_select_related = ["connection__service", "task_list", "calendar"]
    search_fields = ["name", "collection", "connection__label", "user__username"]
    readonly_fields = ["connection", "user", "item_type", "collection", "name", "created_at"]

    def get_fields(self, request, obj: SyncLink | None = None) -> list[str]:
        side = "calendar" if obj is not None and obj.item_type == ItemType.EVENT else "task_list"
        own = ["sync_rules", "deletion_policy"]
        return [*self.readonly_fields[:5], side, "is_destination", *own, "created_at"]

    @admin.display(description="container")
    def container(self, link: SyncLink) -> str:
        return link.container_words

    @admin.display(description="DayFlow list or calendar")
    def dayflow(self, link: SyncLink) -> str:
        return link.dayflow_words

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj: SyncLink, form: SyncLinkForm, change: bool) -> None:
        try:
            with transaction.atomic():
                apply_change(obj, form.cleaned_data)
        except (links.LinkRefused, IntegrityError) as refused:  # changed since the form's check
            self.message_user(request, f"Not changed: {refused}", messages.ERROR)


@admin.action(description="Sync now")
def sync_now(modeladmin: admin.ModelAdmin, request, connections: QuerySet) -> None:
    jobs = [
        services.request_sync(connection.pk, trigger=SyncJob.Trigger.ADMIN)
        for connection in connections
    ]
    queued = sum(1 for job in jobs if job is not None)
    modeladmin.message_user(
        request, f"Sync queued for {queued} of {len(jobs)} connection(s).", messages.INFO
    )


def _add_sync_now_to_connections() -> None:
    # Added from here so integrations/admin.py need not know the sync app (imports go one way).
    connection_admin = admin.site._registry.get(Connection)
    if connection_admin is not None and sync_now not in (connection_admin.actions or []):
        connection_admin.actions = [*(connection_admin.actions or []), sync_now]


_add_sync_now_to_connections()
