"""Reactions to the connection lifecycle (integrations/signals.py), hooked in SyncConfig.ready."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_save, pre_delete, pre_save
from django.dispatch import receiver
from django.utils import timezone

from dayflow.models import Calendar, Event, Task, TaskList
from integrations.models import Connection
from integrations.signals import (
    connection_connected,
    connection_disconnecting,
    connection_set_up,
    connection_status_changed,
)
from sync import links, services
from sync.jobs import stop_jobs
from sync.mapping import MODELS, fk_column
from sync.models import ItemLink, ItemType, SyncCursor, SyncLink
from sync.schedule import reschedule, unschedule

# What decides whether, and how often, a connection is synced on a schedule.
SCHEDULE_FIELDS = frozenset(
    {"status", "auto_sync", "sync_interval", "sync_direction", "field_mapping", "service"}
)


def _touches_schedule(update_fields) -> bool:
    return update_fields is None or bool(SCHEDULE_FIELDS & set(update_fields))


@receiver(pre_save, sender=Connection, dispatch_uid="sync.note_stored_interval")
def note_stored_interval(
    sender, instance: Connection, update_fields=None, raw: bool = False, **kwargs
) -> None:
    """The interval before the save, for `schedule_on_save` to tell whether it changed."""
    if raw or not instance.pk or not _touches_schedule(update_fields):
        return
    stored = Connection.objects.filter(pk=instance.pk).values_list("sync_interval", flat=True)
    instance._stored_interval = stored.first()


@receiver(post_save, sender=Connection, dispatch_uid="sync.schedule_on_save")
def schedule_on_save(
    sender, instance: Connection, created: bool, update_fields=None, raw: bool = False, **kwargs
) -> None:
    """Created, set up, resumed, or given a new interval: its next_sync_at follows; other
    saves leave the wait alone (`schedule.reschedule`)."""
    if raw or not _touches_schedule(update_fields):
        return
    stored = instance.__dict__.pop("_stored_interval", None)
    changed = not created and stored is not None and stored != instance.sync_interval
    reschedule(instance, interval_changed=changed)


# What a connection's sync links follow: its containers, the kinds it syncs, its status.
LINKED_SETTINGS = frozenset({"field_mapping", "sync_tasks", "sync_events", "status"})
# What the person ticks (a status change makes a reconnected account's links again: no new
# container of theirs).
PICKED_SETTINGS = LINKED_SETTINGS - {"status"}


@receiver(post_save, sender=Connection, dispatch_uid="sync.links_on_save")
def links_on_save(
    sender,
    instance: Connection,
    created: bool = False,
    update_fields=None,
    raw: bool = False,
    **kwargs,
) -> None:
    """Links follow the settings; a container ticked on a connection that has synced starts
    with a preview (`services.preview_new_containers`), left on the saved connection as its
    `first_sync` for the settings page to lead to (the API lists it with the jobs, the admin
    with its jobs)."""
    if raw or (update_fields is not None and not LINKED_SETTINGS & set(update_fields)):
        return
    made = links.reconcile(instance)
    if not created and (update_fields is None or PICKED_SETTINGS & set(update_fields)):
        instance.first_sync = services.preview_new_containers(instance, made)


@receiver(pre_delete, sender=TaskList, dispatch_uid="sync.forget_list_destinations")
@receiver(pre_delete, sender=Calendar, dispatch_uid="sync.forget_calendar_destinations")
def forget_destinations(sender, instance: TaskList | Calendar, **kwargs) -> None:
    links.forget_destinations([instance])


@receiver(pre_save, sender=Connection, dispatch_uid="sync.full_sync_on_new_rules")
def full_sync_on_new_rules(sender, instance: Connection, update_fields=None, **kwargs) -> None:
    """New rules reach every item, not only the changed ones: the next sync lists everything
    again (no cursor, no watermark), unlinking what stopped matching and taking in what now
    matches."""
    if not instance.pk or (update_fields is not None and "sync_rules" not in update_fields):
        return
    before = Connection.objects.filter(pk=instance.pk).values_list("sync_rules", flat=True)
    if before.first() != instance.sync_rules:
        SyncCursor.objects.filter(connection_id=instance.pk).update(value="", local_watermark=None)


@receiver(pre_save, sender=SyncLink, dispatch_uid="sync.full_sync_on_new_link_rules")
def full_sync_on_new_link_rules(sender, instance: SyncLink, update_fields=None, **kwargs) -> None:
    """A container's own new rules, as the connection's: the next sync lists everything."""
    if not instance.pk or (update_fields is not None and "sync_rules" not in update_fields):
        return
    before = SyncLink.objects.filter(pk=instance.pk).values_list("sync_rules", flat=True)
    if before.first() != instance.sync_rules:
        SyncCursor.objects.filter(connection_id=instance.connection_id).update(
            value="", local_watermark=None
        )


@receiver(connection_status_changed, dispatch_uid="sync.schedule_on_status")
def schedule_on_status(sender, connection: Connection, **kwargs) -> None:
    reschedule(connection)
    if not connection.is_active:
        stop_jobs(connection.pk)


@receiver(connection_connected, dispatch_uid="sync.first_sync_on_connect")
def first_sync_on_connect(sender, connection: Connection, created: bool = True, **kwargs):
    """An account just connected syncs at once (unless it needs setup): the answer is the
    job, which `lifecycle.announce_connected` hands to the page."""
    return services.sync_on_connect(connection.pk, created=created)


@receiver(connection_set_up, dispatch_uid="sync.first_sync_on_set_up")
def first_sync_on_set_up(sender, connection: Connection, **kwargs):
    """The container it needed is picked: its first sync starts now, not at the next tick."""
    return services.first_sync(connection.pk)


@receiver(connection_disconnecting, dispatch_uid="sync.unschedule_on_disconnect")
def unschedule_on_disconnect(
    sender, connection: Connection, keep_items: bool = True, **kwargs
) -> None:
    unschedule(connection.pk)
    stop_jobs(connection.pk)
    if not keep_items:
        remove_linked_items(connection)


@receiver(post_save, sender=Task, dispatch_uid="sync.sync_on_task_change")
@receiver(post_save, sender=Event, dispatch_uid="sync.sync_on_event_change")
def sync_on_local_change(sender, instance: Task | Event, raw: bool = False, **kwargs) -> None:
    """A DayFlow change reaches its services in seconds, not at the next scheduled sync. The
    engine writes with bulk queries, which send no signal; once the save commits, the links
    tell whether it is a change at all (`services.sync_local_change`)."""
    if raw:  # loading fixtures
        return
    item_type = ItemType.TASK if sender is Task else ItemType.EVENT
    pk, user_id, version = instance.pk, instance.user_id, instance.version
    side = links.side_id(item_type, instance)
    if getattr(instance, "moved_lists", False):
        links.hand_over(item_type, pk, user_id, side)  # in the save's own transaction
    transaction.on_commit(
        lambda: services.sync_local_change(item_type, pk, user_id, version, side), robust=True
    )


def remove_linked_items(connection: Connection) -> int:
    """Soft-delete the DayFlow items linked to this connection, and only those."""
    links = ItemLink.objects.filter(connection=connection)
    now = timezone.now()
    removed = 0
    for item_type, model in MODELS.items():
        column = fk_column(item_type)
        ids = links.exclude(**{f"{column}__isnull": True}).values(column)
        removed += model.objects.filter(pk__in=ids, user_id=connection.user_id).update(
            deleted_at=now, version=F("version") + 1, updated_at=now
        )
    return removed
