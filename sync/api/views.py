"""The sync app's API: the seed's routes (`/api/integrations/jobs`, `/api/integrations/sync`,
`/api/integrations/sync/{jobId}`) and the plain resources `/api/jobs` and `/api/conflicts`.
Every action calls what the pages call (`sync.api.starting`, `sync.services.control_job`,
`sync.repair`); refusals are the typed errors the handler turns into 409s."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dayflow.api.owned import OwnedObjects
from dayflow.api.pagination import CursorPage
from dayflow.api.throttling import PerToken, PerUser, SyncStart
from integrations.models import Connection
from sync import actions, deletions, matching, repair, services
from sync import conflicts as settling
from sync.api import serializers as s
from sync.api.filters import ConflictFilter, JobFilter
from sync.api.starting import start_sync
from sync.models import Conflict, ItemLink, ItemType, JournalEntry, SyncJob

# Not finished: waiting in the queue, running, paused, or held for a confirmation.
UNFINISHED = (
    SyncJob.Status.QUEUED,
    SyncJob.Status.RUNNING,
    SyncJob.Status.PAUSED,
    SyncJob.Status.NEEDS_CONFIRMATION,
)
# Cursor pages need an ordering without nulls: a null position cannot be encoded in a cursor.
JOB_ORDERING = ["id", "created_at"]
REFUSED = OpenApiResponse(description="The job's or conflict's state refuses it: the reason.")
NOT_FOUND = OpenApiResponse(description="Not one of yours.")
JOB_EXAMPLE = {
    "id": 41,
    "connection": 7,
    "service": "todoist",
    "kind": "incremental",
    "trigger": "api",
    "status": "queued",
    "dry_run": False,
    "confirmed": False,
    "counters": dict.fromkeys(SyncJob.COUNTERS, 0),
    "progress": {"processed": 0, "finished": False, "heartbeat_at": None},
    "queued_at": "2030-06-01T12:00:00Z",
    "started_at": None,
    "finished_at": None,
    "duration": None,
    "error": "",
    "allowed_actions": ["cancel", "pause"],
    "preview": None,
    "held": None,
}

CONFLICT_EXAMPLE = {
    "id": 5,
    "connection": 7,
    "service": "todoist",
    "job": 41,
    "item_type": "task",
    "local_id": 12,
    "remote_id": "r-345",
    "fields": ["title"],
    "status": "open",
    "resolution": "",
    "created_at": "2030-06-01T12:00:03Z",
    "resolved_at": None,
    "comparison": [
        {
            "name": "title",
            "base": "Report",
            "local": "Write the report",
            "remote": "Report (draft)",
            "clash": True,
        }
    ],
}


class ChangesPage(CursorPage):
    """A job's changes in the order it made them."""

    ordering = "id"


class UserJobs(OwnedObjects):
    """Sync jobs of the person's own connections."""

    model = SyncJob

    def narrow(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("connection__service")


@extend_schema_view(
    list=extend_schema(
        summary="Your sync jobs",
        examples=[OpenApiExample("A queued sync", value=JOB_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One of your sync jobs",
        examples=[
            OpenApiExample(
                "A finished sync", value={**JOB_EXAMPLE, "changes_count": 3}, response_only=True
            )
        ],
    ),
)
class JobViewSet(UserJobs, viewsets.ReadOnlyModelViewSet):
    """Every sync job of your connections: counters, progress, timings, the changes it made."""

    serializer_class = s.JobSerializer
    filterset_class = JobFilter
    ordering_fields = JOB_ORDERING

    def narrow(self, queryset: QuerySet) -> QuerySet:
        queryset = super().narrow(queryset)
        if self.action == "retrieve":
            queryset = queryset.annotate(changes_count=Count("journal"))
        return queryset

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return s.JobDetailSerializer if self.action == "retrieve" else s.JobSerializer

    @extend_schema(
        summary="The changes a job made (from the journal)",
        responses={200: s.ChangeSerializer(many=True), 404: NOT_FOUND},
        examples=[
            OpenApiExample(
                "A task changed at the service",
                value={
                    "id": 901,
                    "side": "remote",
                    "op": "update",
                    "item_type": "task",
                    "local_id": 12,
                    "remote_id": "r-345",
                    "title": "Write the report",
                    "changed_fields": ["due"],
                    "reason": "local change",
                    "created_at": "2030-06-01T12:00:03Z",
                    "reverted_at": None,
                },
                response_only=True,
            )
        ],
    )
    @action(detail=True, pagination_class=ChangesPage, filter_backends=[])
    def changes(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        page = self.paginate_queryset(JournalEntry.objects.filter(job=job).order_by("id"))
        return self.get_paginated_response(s.ChangeSerializer(page, many=True).data)

    @extend_schema(
        summary='A preview\'s "Same item?" pairs',
        description="Items in DayFlow and at the service that look like one item (matched on "
        "title, date or time, all-day, list, and ids or links one copy holds of the other). "
        "Empty for a job that is not a preview.",
        responses={200: s.MatchesSerializer, 404: NOT_FOUND},
        examples=[
            OpenApiExample(
                "One likely pair",
                value={
                    "pairs": [
                        {
                            "key": "task:12:r-345",
                            "item_type": "task",
                            "local_id": 12,
                            "remote_id": "r-345",
                            "local_title": "Pay rent",
                            "remote_title": "pay rent",
                            "confidence": 0.9,
                            "marker": False,
                            "suggested": True,
                        }
                    ],
                    "more": 0,
                },
                response_only=True,
            )
        ],
    )
    @action(detail=True, pagination_class=None, filter_backends=[])
    def matches(self, request: Request, pk: str | None = None) -> Response:
        return Response(s.matches_of(self.get_object()))

    @extend_schema(
        summary="Link a preview's pairs as one item each, then sync",
        description="As the preview's page does: the named pairs are linked, nothing is "
        "created for them; where the two copies differ, `base_from`'s values are kept. Then "
        "a full sync is queued. 400 when a key is not one the preview offered (nothing is "
        "linked); 409 when the connection cannot sync now.",
        request=s.LinkAndSyncSerializer,
        responses={
            202: s.LinkAndSyncResultSerializer,
            400: OpenApiResponse(description="A pair the preview did not offer, or bad input."),
            404: NOT_FOUND,
            409: OpenApiResponse(description="The connection cannot sync now: the reason."),
        },
        examples=[
            OpenApiExample(
                "Link one pair, keep DayFlow's values",
                value={"pairs": ["task:12:r-345"], "base_from": "dayflow"},
                request_only=True,
            )
        ],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="link-and-sync",
        pagination_class=None,
        filter_backends=[],
        throttle_classes=[PerUser, PerToken, SyncStart],
    )
    def link_and_sync(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        incoming = s.LinkAndSyncSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        keys, base_from = incoming.validated_data["pairs"], incoming.validated_data["base_from"]
        bases = incoming.validated_data["bases"]
        try:
            new_job, linked = services.confirm_preview(job, keys, base_from, bases, request=request)
        except matching.MatchRefused as refused:
            raise serializers.ValidationError({"pairs": [str(refused)]}) from None
        new_job = SyncJob.objects.select_related("connection__service").get(pk=new_job.pk)
        answer = {
            "linked": linked.linked,
            "skipped": linked.skipped,
            "job": s.JobSerializer(new_job).data,
        }
        return Response(answer, status=202, headers={"Location": f"/api/jobs/{new_job.pk}"})


@extend_schema_view(
    get=extend_schema(
        summary="Your sync jobs that have not finished",
        description="Queued, running, paused, or waiting for you to confirm its deletions.",
        examples=[OpenApiExample("A queued sync", value=JOB_EXAMPLE, response_only=True)],
    )
)
class ActiveJobList(UserJobs, generics.ListAPIView):
    """The jobs a client follows: those not finished yet."""

    serializer_class = s.JobSerializer
    filterset_class = JobFilter
    ordering_fields = JOB_ORDERING

    def narrow(self, queryset: QuerySet) -> QuerySet:
        return super().narrow(queryset).filter(status__in=UNFINISHED)


class StartSyncView(APIView):
    throttle_classes = [PerUser, PerToken, SyncStart]

    @extend_schema(
        summary="Start a sync, a preview or a full resync",
        description="Answers 202 with the job (`Location: /api/jobs/{id}`). A request while "
        "a sync runs joins the one queued behind it. With an `Idempotency-Key`, the same key "
        "within a day answers with the same job, again 202, marked `Idempotent-Replayed: true`.",
        request=s.StartSyncSerializer,
        responses={
            202: s.JobSerializer,
            400: OpenApiResponse(description="Bad input, or a key used for another request."),
            404: NOT_FOUND,
            409: OpenApiResponse(description="The connection cannot sync now: the reason."),
        },
        examples=[
            OpenApiExample("Sync now", value={"connection": 7, "mode": "sync"}, request_only=True),
            OpenApiExample("A preview", value={"connection": 7, "mode": "preview"}),
            OpenApiExample("The job", value=JOB_EXAMPLE, response_only=True, status_codes=["202"]),
        ],
    )
    def post(self, request: Request) -> Response:
        incoming = s.StartSyncSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        connection = get_object_or_404(
            Connection.objects.for_user(request.user), pk=incoming.validated_data["connection"]
        )
        job, started = start_sync(request, connection, incoming.validated_data["mode"])
        job = SyncJob.objects.select_related("connection__service").get(pk=job.pk)
        headers = {"Location": f"/api/jobs/{job.pk}"}
        if not started:
            headers["Idempotent-Replayed"] = "true"
        return Response(s.JobSerializer(job).data, status=202, headers=headers)


class ControlJobView(APIView):
    @extend_schema(
        summary="Pause, resume, cancel, confirm, undo a job, or send again what undo left",
        description="As the job's page does. 409 with the reason when the job's status does "
        "not allow the action now (`allowed_actions` lists those it does). Undo answers with "
        "its report; send-again with what it sent.",
        request=s.JobControlSerializer,
        responses={200: s.JobControlResultSerializer, 404: NOT_FOUND, 409: REFUSED},
        examples=[
            OpenApiExample("Pause", value={"action": "pause"}, request_only=True),
            OpenApiExample("Undo", value={"action": "undo"}, request_only=True),
            OpenApiExample(
                "Undone",
                value={
                    "action": "undo",
                    "job": {**JOB_EXAMPLE, "status": "succeeded", "allowed_actions": ["undo"]},
                    "undo": {"reverted": 2, "skipped": [], "unlinked": 0},
                    "sent_again": None,
                },
                response_only=True,
            ),
        ],
    )
    def put(self, request: Request, jobId: int) -> Response:
        job = get_object_or_404(
            SyncJob.objects.for_user(request.user).select_related("connection__service"),
            pk=jobId,
        )
        incoming = s.JobControlSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        name = incoming.validated_data["action"]
        result: dict[str, Any] = {"action": name, "undo": None, "sent_again": None}
        if name == actions.UNDO:
            result["undo"] = undo(job, request)
        elif name == s.SEND_AGAIN:
            result["sent_again"] = send_again(job, request)
        else:
            services.control_job(job, name, request=request)
        job.refresh_from_db()
        result["job"] = s.JobSerializer(job).data
        return Response(result)


def undo(job: SyncJob, request: Request) -> dict[str, Any]:
    """As the page's undo, once the job allows it: a preview or an unfinished job does not."""
    actions.require(job, actions.UNDO)
    report = repair.undo_job(job.pk, user=request.user, request=request)
    skipped = s.without_secrets(report.skipped)
    return {"reverted": report.reverted, "skipped": skipped, "unlinked": report.unlinked}


def send_again(job: SyncJob, request: Request) -> dict[str, Any]:
    """As the page's "send these again", when the job's undo left items apart."""
    if not repair.undone_links(job).exists():
        raise actions.JobActionRefused(s.SEND_AGAIN, f"Job {job.pk} left nothing to send again")
    sent = repair.send_again(job.pk, user=request.user, request=request)
    return {"sent": sent.sent, "failed": s.without_secrets(sent.failed)}


@extend_schema_view(
    list=extend_schema(
        summary="Your conflicts",
        examples=[
            OpenApiExample(
                "An open conflict",
                value={k: v for k, v in CONFLICT_EXAMPLE.items() if k != "comparison"},
                response_only=True,
            )
        ],
    ),
    retrieve=extend_schema(
        summary="One conflict, field by field",
        examples=[
            OpenApiExample(
                "A title changed on both sides", value=CONFLICT_EXAMPLE, response_only=True
            )
        ],
    ),
)
class ConflictViewSet(OwnedObjects, viewsets.ReadOnlyModelViewSet):
    """Items changed on both sides that the sync left for you to settle."""

    model = Conflict
    serializer_class = s.ConflictSerializer
    filterset_class = ConflictFilter
    ordering_fields = ["id", "created_at"]

    def narrow(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("link__connection__service")

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return s.ConflictSerializer if self.action == "list" else s.ConflictDetailSerializer

    @extend_schema(
        summary="Resolve a conflict: decide the clashing fields for one side, or per field",
        description="Both sides end up holding the result, as on the conflict's page, and the "
        "next sync finds nothing to do. `resolution` local (or remote) gives every clashing "
        "field DayFlow's (or the service's) value; `fields` chooses per field, or types a "
        "value in. Either way the changes made on one side only are kept. 400 when a choice "
        "does not fit this conflict (nothing changes); 409 when it is resolved already or the "
        "service changed the item again since (sync first).",
        request=s.ResolveSerializer,
        responses={200: s.ConflictDetailSerializer, 404: NOT_FOUND, 409: REFUSED},
        examples=[
            OpenApiExample("Keep DayFlow's", value={"resolution": "local"}, request_only=True),
            OpenApiExample(
                "Per field",
                value={"fields": {"title": "local", "due": "remote", "notes": {"value": "Typed"}}},
                request_only=True,
            ),
        ],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        conflict = self.get_object()
        incoming = s.ResolveSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        if conflict.status != Conflict.Status.OPEN:
            raise repair.CannotResolve("the conflict is resolved already")
        choices = incoming.validated_data.get("fields")
        resolution = incoming.validated_data.get("resolution", Conflict.Resolution.MERGED)
        if choices:
            choices = checked_choices(conflict, choices)
        try:
            repair.resolve_conflict(
                conflict.pk, resolution, user=request.user, choices=choices, request=request
            )
        except Conflict.DoesNotExist:  # resolved meanwhile, by another request
            raise repair.CannotResolve("the conflict is resolved already") from None
        except repair.CannotResolve as error:
            if error.status != 400:
                raise
            problems = getattr(error.__cause__, "problems", {"fields": str(error)})
            raise serializers.ValidationError(
                {"fields": {name: [why] for name, why in problems.items()}}
            ) from error
        return Response(s.ConflictDetailSerializer(self.get_object()).data)

    @extend_schema(
        summary="Resolve several conflicts the same way",
        operation_id="conflicts_resolve_many",
        description="Named by `ids`, or all your open conflicts a filter (`connection`, "
        f"`item_type`) finds, oldest first, at most {s.MAX_BULK_RESOLVE} per request: "
        "`remaining` says how many the filter still finds. Every clashing field takes the "
        "chosen side's value; changes made on one side only are kept. An id that is not one "
        "of your open conflicts is a 400 and nothing changes; a conflict the service changed "
        "again is listed in `failed` (sync, then resolve it).",
        request=s.BulkResolveSerializer,
        responses={200: s.BulkResolveResultSerializer},
        examples=[
            OpenApiExample(
                "The service's values, for one connection's tasks",
                value={"resolution": "remote", "connection": 7, "item_type": "task"},
                request_only=True,
            ),
            OpenApiExample(
                "Settled",
                value={"resolved": [5, 6], "failed": [], "remaining": 0},
                response_only=True,
            ),
        ],
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="resolve",
        filter_backends=[],
        pagination_class=None,
    )
    def resolve_many(self, request: Request) -> Response:
        incoming = s.BulkResolveSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        open_ones = Conflict.objects.for_user(request.user).filter(status=Conflict.Status.OPEN)
        if "ids" in data:
            chosen = list(open_ones.filter(pk__in=data["ids"]).values_list("pk", flat=True))
            missing = sorted(set(data["ids"]) - set(chosen))
            if missing:
                raise serializers.ValidationError(
                    {"ids": [f"Not open conflicts of yours: {missing[:20]}."]}
                )
        else:
            if "connection" in data:
                open_ones = open_ones.filter(link__connection_id=data["connection"])
            if "item_type" in data:
                open_ones = open_ones.filter(link__item_type=data["item_type"])
            chosen = list(
                open_ones.order_by("created_at", "pk").values_list("pk", flat=True)[
                    : s.MAX_BULK_RESOLVE
                ]
            )
        resolved, failed = [], []
        for pk in sorted(chosen):
            try:
                repair.resolve_conflict(pk, data["resolution"], user=request.user, request=request)
            except (repair.CannotResolve, Conflict.DoesNotExist) as error:
                failed.append({"id": pk, "why": str(error) or "resolved already"})
            else:
                resolved.append(pk)
        remaining = 0 if "ids" in data else open_ones.count()
        body = {"resolved": resolved, "failed": s.without_secrets(failed), "remaining": remaining}
        return Response(body)


def checked_choices(conflict: Conflict, choices: dict[str, Any]) -> dict[str, Any]:
    """Typed values checked against the field they are for (`conflicts.read_edit`): text
    bounded, dates and times read strictly (a time with its offset). 400 naming the field."""
    sides = {**(conflict.remote or {}), **(conflict.local or {})}
    problems: dict[str, list[str]] = {}
    checked: dict[str, Any] = {}
    all_day = None
    if conflict.link.item_type == ItemType.EVENT:
        all_day = bool(_merged_value(conflict, choices, "all_day"))
    for name, choice in choices.items():
        if not isinstance(choice, settling.Edited) or name not in sides:
            checked[name] = choice  # a side, or a name settle() refuses as unknown
            continue
        try:
            value = settling.read_edit(
                name,
                "" if choice.value is None else choice.value,
                sides={
                    "local": (conflict.local or {}).get(name),
                    "remote": (conflict.remote or {}).get(name),
                },
                all_day=all_day,
                zone=None,
            )
        except ValueError as error:
            problems[name] = [str(error).capitalize() + "."]
        else:
            checked[name] = settling.Edited(value)
    if problems:
        raise serializers.ValidationError({"fields": problems})
    return checked


def _merged_value(conflict: Conflict, choices: dict[str, Any], name: str) -> Any:
    choice = choices.get(name)
    if choice in (settling.LOCAL, settling.REMOTE):
        side = conflict.local if choice == settling.LOCAL else conflict.remote
        return (side or {}).get(name)
    try:
        merged = settling.settle(conflict.base, conflict.local, conflict.remote, settling.LOCAL)
    except settling.Unsettled:
        return (conflict.local or {}).get(name)
    return merged.get(name)


# --- deletions waiting for the person (the "ask" deletion policy) ------------------------------
DELETION_EXAMPLE = {
    "id": 31,
    "item_type": "task",
    "title": "Book the venue",
    "local_id": 12,
    "remote_id": "r-345",
    "deleted_on": "service",
    "deleted_at": "2030-06-01T12:00:03Z",
}


@extend_schema_view(
    get=extend_schema(
        summary="A connection's deletions waiting for you",
        description="Under the `ask` deletion policy, an item deleted on one side only waits "
        "here; syncs leave it alone until it is confirmed or restored. 404: not your "
        "connection.",
        responses={200: s.DeletionSerializer(many=True), 404: NOT_FOUND},
        examples=[OpenApiExample("Deleted at the service", value=DELETION_EXAMPLE)],
    ),
    post=extend_schema(
        summary="Confirm or restore one waiting deletion, or all of a connection's",
        description="As the connection's Deletions page: confirm deletes the other copy too "
        "and unlinks; restore brings the deleted copy back. 404: not your connection, or no "
        "such item of it; 409: that item's deletion does not wait (any more).",
        request=s.SettleDeletionsSerializer,
        responses={200: s.SettledSerializer, 404: NOT_FOUND, 409: REFUSED},
        examples=[
            OpenApiExample(
                "Restore one", value={"action": "restore", "link": 31}, request_only=True
            ),
            OpenApiExample(
                "Confirm all", value={"action": "confirm", "all": True}, request_only=True
            ),
            OpenApiExample("Done", value={"done": 1, "failed": []}, response_only=True),
        ],
    ),
)
class ConnectionDeletionsView(generics.ListAPIView):
    serializer_class = s.DeletionSerializer

    def connection(self) -> Connection:
        return get_object_or_404(
            Connection.objects.for_user(self.request.user), pk=self.kwargs["pk"]
        )

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # the schema is built with no user
            return ItemLink.objects.none()
        return deletions.waiting(self.connection())

    def post(self, request: Request, pk: int) -> Response:
        connection = self.connection()
        incoming = s.SettleDeletionsSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        report = deletions.settle(
            connection, data["action"], data.get("link"), user=request.user, request=request
        )
        return Response({"done": report.done, "failed": s.without_secrets(report.failed)})
