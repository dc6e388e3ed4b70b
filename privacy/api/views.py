"""`/api/exports`: ask for an export of your data, follow it, download it."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle

from audit.writer import record
from dayflow.api.owned import OwnedObjects
from dayflow.api.strict import StrictSerializer
from dayflow.api.throttling import PerToken, PerUser
from privacy.api.serializers import ExportSerializer
from privacy.export import ExportInProgress, request_export
from privacy.models import ExportRequest
from privacy.views import download_response

NOT_FOUND = OpenApiResponse(OpenApiTypes.OBJECT, description="Not one of yours.")
IN_PROGRESS = OpenApiResponse(
    OpenApiTypes.OBJECT, description="An export of yours is already being built."
)


class NoFields(StrictSerializer):
    pass


class ExportRequests(UserRateThrottle):
    """Asking for exports: each one reads all of a person's rows."""

    scope = "exports"


@extend_schema_view(
    list=extend_schema(summary="Your exports", responses={200: ExportSerializer(many=True)}),
    retrieve=extend_schema(
        summary="One export: its status and, when ready, its download link",
        responses={200: ExportSerializer, 404: NOT_FOUND},
    ),
)
class ExportViewSet(
    OwnedObjects, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Exports of everything DayFlow holds about you: a zip of JSON files, built in the
    background, downloadable until its link expires (no passwords, tokens or secrets in it)."""

    model = ExportRequest
    serializer_class = ExportSerializer
    lookup_value_regex = "[0-9]+"
    filter_backends: list = []

    def get_throttles(self) -> list:
        if self.action == "create":
            return [PerUser(), PerToken(), ExportRequests()]
        return super().get_throttles()

    @extend_schema(
        summary="Ask for an export of your data",
        request=None,
        responses={202: ExportSerializer, 409: IN_PROGRESS},
    )
    def create(self, request: Request) -> Response:
        # It takes nothing: a body naming fields is a 400, not silently ignored.
        NoFields(data=request.data if request.data else {}).is_valid(raise_exception=True)
        try:
            export = request_export(request.user)
        except ExportInProgress as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        record("privacy.export_requested", request=request)
        data = ExportSerializer(export, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Download an export",
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            404: NOT_FOUND,
            410: OpenApiResponse(description="The link has expired; the file is deleted."),
        },
    )
    @action(detail=True, methods=["get"], url_path="download", url_name="download")
    def download(self, request: Request, pk: str | None = None) -> HttpResponse:
        return download_response(request, self.get_object())
