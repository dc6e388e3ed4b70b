"""`/api/activity`: what the person did, from their own audit events (where they are the actor),
read-only, newest first. Another person's events, and the system's, are not there."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, viewsets

from audit.api.serializers import ActivitySerializer
from audit.models import AuditEvent
from dayflow.api import bounds
from dayflow.api.owned import OwnedObjects


class ActivityFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(
        method="filter_action",
        max_length=100,
        help_text='An action (`task.created`), or every action under a prefix ending in "." '
        "(`connection.`).",
    )
    success = bounds.BooleanFilter()
    channel = django_filters.CharFilter(max_length=120, help_text='e.g. "web", "api: backup".')
    connection = bounds.IdFilter(field_name="connection_id", help_text="A connection's id.")
    created_after = bounds.DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = bounds.DateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["success", "channel"]

    def filter_action(self, queryset: QuerySet, name: str, action: str) -> QuerySet:
        if action.endswith("."):
            return queryset.filter(action__startswith=action)
        return queryset.filter(action=action)


BAD = OpenApiResponse(OpenApiTypes.OBJECT, description="A filter's value is not valid.")
NOT_FOUND = OpenApiResponse(OpenApiTypes.OBJECT, description="Not one of yours.")
BAD_CURSOR = OpenApiResponse(OpenApiTypes.OBJECT, description="The cursor is not one we gave.")
EXAMPLE = {
    "id": 812,
    "created_at": "2026-03-02T09:15:04Z",
    "action": "connection.sync_requested",
    "resource": "connection:7",
    "connection_id": 7,
    "connection_label": "alice@todoist",
    "success": True,
    "channel": "api: backup script",
    "details": {"kind": "incremental"},
    "ip_address": "203.0.113.9",
    "user_agent": "curl/8.5.0",
}


@extend_schema_view(
    list=extend_schema(
        summary="Your activity",
        responses={200: ActivitySerializer(many=True), 400: BAD, 404: BAD_CURSOR},
        examples=[OpenApiExample("A sync you started", value=EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One event of your activity",
        responses={200: ActivitySerializer, 404: NOT_FOUND},
        examples=[OpenApiExample("A sync you started", value=EXAMPLE, response_only=True)],
    ),
)
class ActivityViewSet(
    OwnedObjects, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """What you did, newest first: each audit event whose actor you are, with the channel you
    acted through (the pages, or the name of the API token)."""

    model = AuditEvent
    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter
    ordering_fields = ["created_at", "id"]
    lookup_value_regex = "[0-9]+"
