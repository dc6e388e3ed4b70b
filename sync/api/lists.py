"""`/api/lists`, `/api/calendars`, `/api/sync-links` and `/api/destinations`: a person's
DayFlow lists and calendars, the containers their connections sync (sync links), and where
the new items of each list go (its destination).

They live in the sync app because a destination is the sync's business; `dayflow` knows
nothing of it. Every change of a link goes through `sync.links` (`feed_into`,
`set_destination`), as the pages' and the admin's do; what those refuse is a 400."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import django_filters
from django.db import IntegrityError, transaction
from django.db.models import Model, Prefetch, QuerySet
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.writer import record
from dayflow.api import bounds
from dayflow.api.owned import OwnedObjects
from dayflow.models import INBOX, MAIN_CALENDAR, Calendar, TaskList
from integrations.api.rules_preview import answer as answer_rules_preview
from integrations.api.serializers import RulesPreviewResultSerializer, RulesPreviewSerializer
from sync import links
from sync.api import list_serializers as s
from sync.models import ItemType, SyncLink
from sync.rules_preview import count_link

BAD = OpenApiResponse(description="Bad input: the messages, field by field.")
NOT_FOUND = OpenApiResponse(description="Not one of yours.")
DESTINATION = {"id": 3, "connection": 7, "service": "Todoist", "container": "Work"}


class ChangedMeanwhile(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Another change to these destinations came first: read them and try again."
    default_code = "changed_meanwhile"


def audit(request: Request, obj: Model, verb: str, fields: list[str]) -> None:
    """Ids and field names only: never a list's name."""
    kind = obj._meta.model_name
    record(
        f"{kind}.{verb}",
        request=request,
        resource=f"{kind}:{obj.pk}",
        details={"id": obj.pk, "fields": fields},
    )


# --- lists and calendars -------------------------------------------------------------------
def named_schema(noun: str, serializer: type) -> Any:
    example = [OpenApiExample(f"A {noun}", value={"name": "Work"}, request_only=True)]
    shown = [
        OpenApiExample(
            f"A {noun} whose new items go to Todoist",
            value={
                "id": 12,
                "name": "Work",
                "created_at": "2030-06-01T12:00:00Z",
                "destination": DESTINATION,
            },
            response_only=True,
        )
    ]
    return extend_schema_view(
        list=extend_schema(summary=f"Your {noun}s", examples=shown),
        retrieve=extend_schema(summary=f"One of your {noun}s", examples=shown),
        create=extend_schema(
            summary=f"Add a {noun}",
            examples=example,
            responses={201: serializer, 400: BAD},
        ),
        update=extend_schema(
            summary=f"Rename a {noun}",
            examples=example,
            responses={200: serializer, 400: BAD, 404: NOT_FOUND},
        ),
        partial_update=extend_schema(
            summary=f"Rename a {noun}",
            examples=example,
            responses={200: serializer, 400: BAD, 404: NOT_FOUND},
        ),
        destroy=extend_schema(
            summary=f"Delete a {noun}",
            description=f"Its items stay, in the {'Inbox' if noun == 'list' else MAIN_CALENDAR}; "
            "its sync links feed that instead, and stop being anyone's destination.",
            responses={204: None, 404: NOT_FOUND},
        ),
    )


class NamedViewSet(OwnedObjects, viewsets.ModelViewSet):
    """The shared reads and writes of lists and calendars; each write is audited."""

    lookup_value_regex = "[0-9]{1,18}"
    ordering_fields = ["id", "name", "created_at"]

    def narrow(self, queryset: QuerySet) -> QuerySet:
        destinations = (
            SyncLink.objects.for_user(self.request.user)
            .destinations()
            .select_related("connection__service")
        )
        return queryset.prefetch_related(
            Prefetch("sync_links", queryset=destinations, to_attr="destinations")
        )

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        with taken_name(serializer), transaction.atomic():
            item = serializer.save(user=self.request.user)
            audit(self.request, item, "created", ["name"])

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        before = serializer.instance.name
        with taken_name(serializer), transaction.atomic():
            item = serializer.save()
            if item.name != before:
                audit(self.request, item, "renamed", ["name"])

    def perform_destroy(self, instance: Model) -> None:
        with transaction.atomic():
            audit(self.request, instance, "deleted", ["name"])
            instance.delete()


@contextmanager
def taken_name(serializer: serializers.BaseSerializer) -> Iterator[None]:
    """Two requests adding the same name at once: the second one's is taken (a 400)."""
    try:
        yield
    except IntegrityError as error:
        name = serializer.validated_data.get("name", "")
        raise serializers.ValidationError(
            {"name": [f"You already have one named “{name}”."]}
        ) from error


@named_schema("list", s.TaskListSerializer)
class TaskListViewSet(NamedViewSet):
    """Your DayFlow lists of tasks ("Home", "Work"); a task in none is in the Inbox. Each
    list says its `destination`: the sync link its new tasks are created in, or null."""

    model = TaskList
    serializer_class = s.TaskListSerializer


@named_schema("calendar", s.CalendarSerializer)
class CalendarViewSet(NamedViewSet):
    """Your DayFlow calendars ("Family", "Work"); an event in none is in "My calendar".
    Each says its `destination`: the sync link its new events are created in, or null."""

    model = Calendar
    serializer_class = s.CalendarSerializer


# --- sync links ----------------------------------------------------------------------------
class SyncLinkFilter(django_filters.FilterSet):
    connection = bounds.IdFilter(field_name="connection_id", help_text="Of this connection.")
    item_type = django_filters.ChoiceFilter(choices=ItemType.choices)

    class Meta:
        model = SyncLink
        fields = ["connection", "item_type"]


LINK_EXAMPLE = {
    "id": 3,
    "connection": 7,
    "service": "Todoist",
    "item_type": "task",
    "collection": "2203306141",
    "name": "Work",
    "container": "Work",
    "task_list": 12,
    "calendar": None,
    "dayflow": "Work",
    "is_destination": True,
    "sync_rules": {"task": {"status": "open"}},
    "deletion_policy": "",
    "rules_in_force": {"task": {"status": "open"}},
    "policy_in_force": "propagate",
    "created_at": "2030-06-01T12:00:00Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="Your sync links",
        examples=[OpenApiExample("A link", value=LINK_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One of your sync links",
        examples=[OpenApiExample("A link", value=LINK_EXAMPLE, response_only=True)],
    ),
)
class SyncLinkViewSet(
    OwnedObjects,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """One per container (project, team, calendar) a connection syncs and kind of item: the
    DayFlow list or calendar its items live in, and whether it is that list's destination.
    Links come and go with the connection's settings."""

    model = SyncLink
    serializer_class = s.SyncLinkSerializer
    filterset_class = SyncLinkFilter
    ordering_fields = ["id", "created_at"]
    lookup_value_regex = "[0-9]{1,18}"

    def narrow(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("connection__service", "task_list", "calendar")

    @extend_schema(
        summary="Choose a sync link's list (or calendar) and whether new items go there",
        description="`task_list` (a task link) or `calendar` (an event link): the id of your "
        'list or calendar its items live in; null: the Inbox or "My calendar". A destination '
        "stays one in its new list unless that list has one already. `is_destination` true "
        "makes it the destination of the list it feeds (the link that was stops being it); "
        "false leaves that list's new items in DayFlow. `sync_rules` and `deletion_policy` "
        "are the container's own (null and \"\": its connection's); new rules make the next "
        "sync list everything. A list that is not yours, or of the wrong kind, or rules that "
        "are not rules, is a 400 and nothing changes.",
        request=s.SyncLinkSerializer,
        responses={
            200: s.SyncLinkSerializer,
            400: BAD,
            404: NOT_FOUND,
            409: OpenApiResponse(description="Another change came first: try again."),
        },
        examples=[
            OpenApiExample(
                "New tasks of the list Work go here",
                value={"task_list": 12, "is_destination": True},
                request_only=True,
            ),
            OpenApiExample(
                "Only open tasks, and never delete",
                value={"sync_rules": {"task": {"status": "open"}}, "deletion_policy": "unlink"},
                request_only=True,
            ),
            OpenApiExample("The link", value=LINK_EXAMPLE, response_only=True),
        ],
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        link = self.get_object()
        incoming = self.get_serializer(link, data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        column = "task_list" if link.item_type == ItemType.TASK else "calendar"
        try:
            with transaction.atomic():
                link = links.choose(link, data.get(column, links.KEEP), data.get("is_destination"))
                own = [name for name in ("sync_rules", "deletion_policy") if name in data]
                if own:
                    for name in own:
                        setattr(link, name, data[name])
                    link.save(update_fields=own)
                if data:
                    audit(request, link, "changed", sorted(data))
        except links.LinkRefused as refused:
            raise serializers.ValidationError({"non_field_errors": [str(refused)]}) from None
        except IntegrityError:
            raise ChangedMeanwhile() from None
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        summary="Count the DayFlow items a link's rules would let through (nothing is saved)",
        description="As a connection's rules preview, for one container: of the items of the "
        "link's kind in the DayFlow list (or calendar) it feeds, how many match `sync_rules`, "
        "of how many, and how many synced through its connection "
        "would be unlinked. The rules are checked as a link's are.",
        request=RulesPreviewSerializer,
        responses={200: RulesPreviewResultSerializer, 400: BAD, 404: NOT_FOUND},
        examples=[
            OpenApiExample(
                "Open tasks only",
                value={"sync_rules": {"task": {"status": "open"}}},
                request_only=True,
            ),
            OpenApiExample(
                "The count",
                value={
                    "counts": [{"kind": "task", "matching": 5, "total": 9, "let_go": 2}],
                    "sentence": "5 of 9 tasks in DayFlow match.",
                },
                response_only=True,
            ),
        ],
    )
    @action(detail=True, methods=["post"], url_path="rules-preview", filter_backends=[])
    def rules_preview(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        link = self.get_object()
        return answer_rules_preview(
            request.data,
            (str(link.item_type),),
            lambda rules, today: [count_link(link, rules, today)],
            request.user.pk,
        )


# --- destinations --------------------------------------------------------------------------
class DestinationsView(APIView):
    """Every list and calendar, the Inbox and "My calendar" first of their kind (`id` null),
    and the sync link where its new items are created (null: they stay in DayFlow). Not
    paged: a person has at most a few hundred lists. Change one at `/api/sync-links/{id}`."""

    @extend_schema(
        summary="Where the new items of each list and calendar go",
        responses={200: s.DestinationRowSerializer(many=True)},
        examples=[
            OpenApiExample(
                "New Inbox tasks go to Todoist; the list Home's stay in DayFlow",
                value=[
                    {"item_type": "task", "id": None, "name": INBOX, "destination": DESTINATION},
                    {"item_type": "task", "id": 12, "name": "Home", "destination": None},
                    {"item_type": "event", "id": None, "name": MAIN_CALENDAR, "destination": None},
                ],
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        found = (
            SyncLink.objects.for_user(request.user)
            .destinations()
            .select_related("connection__service")
        )
        destination = {(link.item_type, link.dayflow_side_id): link for link in found}
        rows = []
        for item_type, model, words in (
            (ItemType.TASK, TaskList, INBOX),
            (ItemType.EVENT, Calendar, MAIN_CALENDAR),
        ):
            sides = [(None, words), *model.objects.for_user(request.user).values_list("id", "name")]
            for pk, name in sides:
                link = destination.get((item_type, pk))
                rows.append({"item_type": item_type, "id": pk, "name": name, "destination": link})
        return Response(s.DestinationRowSerializer(rows, many=True).data)
