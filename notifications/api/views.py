"""`/api/notifications`: the person's notices, newest first; mark one or all as read."""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from dayflow.api import bounds
from dayflow.api.owned import OwnedObjects
from notifications.api.serializers import NotificationSerializer
from notifications.models import Kind, Notification
from notifications.services import mark_read


class NotificationFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Kind.choices)
    unread = bounds.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", help_text="true: only the unread ones."
    )

    class Meta:
        model = Notification
        fields = ["kind"]


BAD = OpenApiResponse(OpenApiTypes.OBJECT, description="A filter's value is not valid.")
NOT_FOUND = OpenApiResponse(OpenApiTypes.OBJECT, description="Not one of yours.")
MARKED = OpenApiResponse(
    OpenApiTypes.OBJECT, description='How many notices were marked read: {"marked": 1}.'
)


@extend_schema_view(
    list=extend_schema(
        summary="Your notifications", responses={200: NotificationSerializer(many=True), 400: BAD}
    ),
    retrieve=extend_schema(
        summary="One notification", responses={200: NotificationSerializer, 404: NOT_FOUND}
    ),
)
class NotificationViewSet(
    OwnedObjects, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """What DayFlow told you, newest first: connections to reconnect, syncs that keep failing,
    deletions waiting for your confirmation, new conflicts, security alerts."""

    model = Notification
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    lookup_value_regex = "[0-9]+"

    @extend_schema(
        summary="Mark a notification read",
        operation_id="notifications_read",
        request=None,
        responses={200: MARKED},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def read(self, request: Request, pk: str | None = None) -> Response:
        notice = self.get_object()
        return Response({"marked": mark_read(request.user, notice.pk)})

    @extend_schema(
        summary="Mark all your notifications read",
        operation_id="notifications_read_all",
        request=None,
        responses={200: MARKED},
    )
    @action(detail=False, methods=["post"], url_path="read", filter_backends=[])
    def read_all(self, request: Request) -> Response:
        return Response({"marked": mark_read(request.user)})
