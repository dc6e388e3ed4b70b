"""The planner's own receivers: what a DayFlow change means for the items it touches."""

from __future__ import annotations

from django.db.models import F
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.utils import timezone

from dayflow.models import Calendar, Event, Task, TaskList


@receiver(pre_delete, sender=TaskList, dispatch_uid="dayflow.list_items_move_to_the_inbox")
@receiver(pre_delete, sender=Calendar, dispatch_uid="dayflow.calendar_items_move_to_main")
def items_move_with_their_list(sender, instance: TaskList | Calendar, **kwargs) -> None:
    """A list (or calendar) about to go: its items move to the Inbox (or "My calendar") by the
    foreign key's SET_NULL, which is a change of theirs like any other, so they get a new
    version (what the sync engine and an API client's `updated_since` go by)."""
    if isinstance(instance, TaskList):
        items = Task.all_objects.filter(task_list=instance)
    else:
        items = Event.all_objects.filter(calendar=instance)
    items.update(version=F("version") + 1, updated_at=timezone.now())
