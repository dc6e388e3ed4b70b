"""The filters of the job and conflict lists (django-filter). Ids are bounded integers, so
junk or a number past the database's range is a 400, never a 500."""

from __future__ import annotations

import django_filters
from django import forms

from sync.api.serializers import MAX_ID
from sync.models import Conflict, SyncJob


class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, min_value=1, max_value=MAX_ID, **kwargs)


class JobFilter(django_filters.FilterSet):
    connection = IdFilter(field_name="connection_id")
    status = django_filters.MultipleChoiceFilter(choices=SyncJob.Status.choices)
    kind = django_filters.ChoiceFilter(choices=SyncJob.Kind.choices)
    trigger = django_filters.ChoiceFilter(choices=SyncJob.Trigger.choices)
    dry_run = django_filters.BooleanFilter()
    created = django_filters.IsoDateTimeFromToRangeFilter(field_name="created_at")
    started = django_filters.IsoDateTimeFromToRangeFilter(field_name="started_at")
    finished = django_filters.IsoDateTimeFromToRangeFilter(field_name="finished_at")

    class Meta:
        model = SyncJob
        fields = ["connection", "status", "kind", "trigger", "dry_run"]


class ConflictFilter(django_filters.FilterSet):
    connection = IdFilter(field_name="link__connection_id")
    status = django_filters.ChoiceFilter(choices=Conflict.Status.choices)
    created = django_filters.IsoDateTimeFromToRangeFilter(field_name="created_at")

    class Meta:
        model = Conflict
        fields = ["connection", "status"]
