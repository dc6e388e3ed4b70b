"""`/api/tasks` and `/api/events`: DayFlow's own planner data.

A write here is a local edit like any other: `save()` bumps the item's version and a delete is
`soft_delete()`, so the sync engine, which collects the items whose version its links have not
seen, pushes it to the connected services. Each item's version is its ETag; a write sent with
an `If-Match` that is not the current version answers 412 and changes nothing. The version is
checked and the write made in one transaction on the locked row, so of two writers holding the
same version only one wins."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from audit.writer import record
from dayflow.api import bounds
from dayflow.api.owned import OwnedObjects
from dayflow.api.planner_serializers import EventSerializer, TaskSerializer
from dayflow.api.strict import StrictSerializer
from dayflow.models import Event, Task

MAX_IF_MATCH = 1000
UNAUDITED = {"version", "updated_at", "created_at"}


# --- versions: ETag and If-Match -------------------------------------------------------------
class StaleVersion(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "It changed since you read it: fetch it again and redo your change."
    default_code = "stale_version"


class StaleVersionSerializer(serializers.Serializer):
    detail = serializers.CharField()


def if_match(header: str | None, version: int) -> bool:
    """Whether `If-Match` allows a write to this version: absent, `*`, or a list naming it.
    Weak tags count too: a proxy compressing the response may have weakened ours."""
    if header is None:
        return True
    if len(header) > MAX_IF_MATCH:
        return False
    tags = {tag.strip().removeprefix("W/").strip('"') for tag in header.split(",")}
    return "*" in tags or str(version) in tags


def require_version(request: Request, item: Model) -> None:
    if not if_match(request.headers.get("If-Match"), item.version):
        raise StaleVersion()


def with_etag(response: Response, item: Model) -> Response:
    response["ETag"] = f'"{item.version}"'
    return response


def snapshot(item: Model) -> dict[str, Any]:
    return {field.name: getattr(item, field.attname) for field in item._meta.concrete_fields}


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(name for name in after if name not in UNAUDITED and before[name] != after[name])


def audit(request: Request, item: Model, verb: str, fields: list[str]) -> None:
    """Ids and field names only: never a title or a note."""
    kind = item._meta.model_name
    record(
        f"{kind}.{verb}",
        request=request,
        resource=f"{kind}:{item.pk}",
        details={"id": item.pk, "fields": fields},
    )


# --- filters -----------------------------------------------------------------------------------
class TaskFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Task.Status.choices)
    priority = django_filters.TypedChoiceFilter(choices=Task.Priority.choices, coerce=int)
    list_name = django_filters.CharFilter(max_length=200, help_text="The list or project.")
    due_after = bounds.DateFilter(
        method="filter_due_after", help_text="Due on this day or later (due date or due time)."
    )
    due_before = bounds.DateFilter(
        method="filter_due_before", help_text="Due on this day or earlier (due date or due time)."
    )
    updated_since = bounds.DateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Task
        fields = ["status", "priority", "list_name"]

    def filter_due_after(self, queryset: QuerySet, name: str, day: Any) -> QuerySet:
        return queryset.filter(Q(due_date__gte=day) | Q(due_at__date__gte=day))

    def filter_due_before(self, queryset: QuerySet, name: str, day: Any) -> QuerySet:
        return queryset.filter(Q(due_date__lte=day) | Q(due_at__date__lte=day))


class EventFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Event.Status.choices)
    all_day = bounds.BooleanFilter()
    starts_after = bounds.DateTimeFilter(
        method="filter_starts_after",
        help_text="Starting at this moment or later (an all-day event: on its day or later).",
    )
    starts_before = bounds.DateTimeFilter(
        method="filter_starts_before",
        help_text="Starting before this moment (an all-day event: on its day or earlier).",
    )
    series = bounds.IdFilter(field_name="series_id", help_text="Instances of this series.")
    updated_since = bounds.DateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Event
        fields = ["status", "all_day"]

    def filter_starts_after(self, queryset: QuerySet, name: str, moment: Any) -> QuerySet:
        return queryset.filter(Q(start__gte=moment) | Q(start_date__gte=moment.date()))

    def filter_starts_before(self, queryset: QuerySet, name: str, moment: Any) -> QuerySet:
        return queryset.filter(Q(start__lt=moment) | Q(start_date__lte=moment.date()))


# --- the views ---------------------------------------------------------------------------------
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The ETag you read (`"<version>"`): the write happens only if it is current.',
)
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The version, as `"<version>"`: send it back in `If-Match`.',
    response=[200, 201],
)
STALE = OpenApiResponse(StaleVersionSerializer, description="`If-Match` is not the version.")
BAD = OpenApiResponse(OpenApiTypes.OBJECT, description="Bad input: the messages, field by field.")
NOT_FOUND = OpenApiResponse(OpenApiTypes.OBJECT, description="Not one of yours.")
BAD_CURSOR = OpenApiResponse(OpenApiTypes.OBJECT, description="The cursor is not one we gave.")


class NoBody(StrictSerializer):
    """An action that takes no fields: anything sent is refused, not ignored."""


class PlannerViewSet(OwnedObjects, viewsets.ModelViewSet):
    """The shared writes of tasks and events; each write audits its changed field names."""

    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def locked(self) -> Model:
        """The item, its row locked until the transaction ends (PostgreSQL: FOR UPDATE;
        SQLite: the IMMEDIATE transaction already holds the database's write lock)."""
        item = get_object_or_404(self.get_queryset().select_for_update(), pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, item)
        return item

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        return with_etag(Response(self.get_serializer(item).data), item)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = self.get_serializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        with transaction.atomic():
            item = incoming.save(user=request.user)
            audit(request, item, "created", sorted(incoming.validated_data))
        return with_etag(Response(incoming.data, status=status.HTTP_201_CREATED), item)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        with transaction.atomic():
            item = self.locked()
            require_version(request, item)
            incoming = self.get_serializer(item, data=request.data, partial=partial)
            incoming.is_valid(raise_exception=True)
            before = snapshot(item)
            if any(getattr(item, name) != value for name, value in incoming.validated_data.items()):
                item = incoming.save()
                audit(request, item, "updated", changed_fields(before, snapshot(item)))
        return with_etag(Response(self.get_serializer(item).data), item)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            item = self.locked()
            require_version(request, item)
            item.soft_delete()
            audit(request, item, "deleted", ["deleted_at"])
        return Response(status=status.HTTP_204_NO_CONTENT)


def planner_schema(noun: str, serializer: type, example: dict[str, Any]) -> Any:
    examples = [OpenApiExample(f"A {noun}", value=example)]
    return extend_schema_view(
        list=extend_schema(
            summary=f"Your {noun}s",
            responses={200: serializer(many=True), 400: BAD, 404: BAD_CURSOR},
        ),
        retrieve=extend_schema(
            summary=f"One of your {noun}s",
            parameters=[ETAG],
            responses={200: serializer, 404: NOT_FOUND},
        ),
        create=extend_schema(
            summary=f"Add a {noun}",
            examples=examples,
            responses={201: serializer, 400: BAD},
            parameters=[ETAG],
        ),
        update=extend_schema(
            summary=f"Replace a {noun}",
            examples=examples,
            parameters=[IF_MATCH, ETAG],
            responses={200: serializer, 400: BAD, 404: NOT_FOUND, 412: STALE},
        ),
        partial_update=extend_schema(
            summary=f"Change some of a {noun}'s fields",
            examples=examples,
            parameters=[IF_MATCH, ETAG],
            responses={200: serializer, 400: BAD, 404: NOT_FOUND, 412: STALE},
        ),
        destroy=extend_schema(
            summary=f"Delete a {noun}",
            description="A soft delete: the connected services see it as a deletion to sync.",
            parameters=[IF_MATCH],
            responses={204: None, 404: NOT_FOUND, 412: STALE},
        ),
    )


@planner_schema(
    "task",
    TaskSerializer,
    {"title": "Send the invoice", "due_date": "2026-03-02", "priority": 3, "list_name": "Work"},
)
class TaskViewSet(PlannerViewSet):
    """Your tasks. Each carries its `version`, also sent as the `ETag`: send it back in
    `If-Match` on a write, and a task changed meanwhile answers 412 instead of being overwritten.
    Deleted tasks are gone from the API; the services connected to your lists see the delete."""

    model = Task
    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    ordering_fields = ["id", "created_at", "updated_at", "priority", "title"]

    @extend_schema(
        summary="Mark a task done",
        request=None,
        parameters=[IF_MATCH, ETAG],
        responses={200: TaskSerializer, 400: BAD, 404: NOT_FOUND, 412: STALE},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        return self.set_status(request, Task.Status.DONE, "completed")

    @extend_schema(
        summary="Reopen a done task",
        request=None,
        parameters=[IF_MATCH, ETAG],
        responses={200: TaskSerializer, 400: BAD, 404: NOT_FOUND, 412: STALE},
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str) -> Response:
        return self.set_status(request, Task.Status.OPEN, "reopened")

    def set_status(self, request: Request, wanted: str, verb: str) -> Response:
        """Idempotent: a task already in the wanted state is answered as it is, unchanged."""
        NoBody(data=request.data).is_valid(raise_exception=True)
        with transaction.atomic():
            task = self.locked()
            require_version(request, task)
            if task.status != wanted:
                task.status = wanted
                task.completed_at = timezone.now() if wanted == Task.Status.DONE else None
                task.save(update_fields=["status", "completed_at"])
                audit(request, task, verb, ["completed_at", "status"])
        return with_etag(Response(self.get_serializer(task).data), task)


@planner_schema(
    "event",
    EventSerializer,
    {
        "title": "Team meeting",
        "start": "2026-03-02T09:00:00+01:00",
        "end": "2026-03-02T10:00:00+01:00",
        "timezone": "Europe/Paris",
        "rrule": "FREQ=WEEKLY;BYDAY=MO",
    },
)
class EventViewSet(PlannerViewSet):
    """Your calendar events: timed (`start`, `end`, `timezone`) or all-day (`start_date`,
    `end_date`, exclusive), a recurring series with its `rrule` and `exdates`, or an overridden
    instance naming its `series`. The `version` is the `ETag`; send it back in `If-Match`."""

    model = Event
    serializer_class = EventSerializer
    filterset_class = EventFilter
    ordering_fields = ["id", "created_at", "updated_at", "title"]
