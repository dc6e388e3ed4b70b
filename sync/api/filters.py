"""The filters of the job and conflict lists (django-filter), bounded (`dayflow.api.bounds`):
junk, a number past the database's range, an instant outside 1900-2200 or a yes/no that is
neither is a 400 naming the parameter, never a 500."""

from __future__ import annotations

import django_filters

from dayflow.api import bounds
from sync.models import Conflict, ItemType, SyncJob


def instants(field: str) -> tuple[bounds.DateTimeFilter, bounds.DateTimeFilter]:
    """`<name>_after` and `<name>_before`: from and to an instant, both included."""
    return (
        bounds.DateTimeFilter(field_name=field, lookup_expr="gte"),
        bounds.DateTimeFilter(field_name=field, lookup_expr="lte"),
    )


class JobFilter(django_filters.FilterSet):
    connection = bounds.IdFilter(field_name="connection_id")
    status = django_filters.MultipleChoiceFilter(choices=SyncJob.Status.choices)
    kind = django_filters.ChoiceFilter(choices=SyncJob.Kind.choices)
    trigger = django_filters.ChoiceFilter(choices=SyncJob.Trigger.choices)
    dry_run = bounds.BooleanFilter()
    created_after, created_before = instants("created_at")
    started_after, started_before = instants("started_at")
    finished_after, finished_before = instants("finished_at")

    class Meta:
        model = SyncJob
        fields = ["connection", "status", "kind", "trigger", "dry_run"]


class ConflictFilter(django_filters.FilterSet):
    connection = bounds.IdFilter(field_name="link__connection_id")
    status = django_filters.ChoiceFilter(choices=Conflict.Status.choices)
    item_type = django_filters.ChoiceFilter(field_name="link__item_type", choices=ItemType.choices)
    created_after, created_before = instants("created_at")

    class Meta:
        model = Conflict
        fields = ["connection", "status", "item_type"]
