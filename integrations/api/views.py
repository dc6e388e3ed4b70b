"""The integrations' endpoints: the seed's `/api/integrations` (the catalog and your
connections; connect, sync, settings, disconnect) and the plain `/api/connections` resource.

Every action calls what the pages call: `integrations.lifecycle` (connect, pause, resume,
settings, disconnect), the settings page's form, the CalDAV connect form, and
`sync.api.starting.start_sync` (as the sync button does, with `Idempotency-Key`). Refusals are
typed errors the handler turns into 409s; a service's own failure is a 502, never a 500."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.db.models import OuterRef, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dayflow.api.owned import OwnedObjects
from dayflow.api.throttling import SyncStart
from integrations import lifecycle, service_urls
from integrations.actions import SETTINGS, ConnectionActionRefused, require
from integrations.api import serializers as s
from integrations.api.rules_preview import answer as answer_rules_preview
from integrations.catalog import enabled_services
from integrations.clients import provider_for
from integrations.forms import CalDAVConnectForm, ConnectionSettingsForm
from integrations.models import Connection, Service
from integrations.oauth import handoff
from integrations.providers.errors import AuthExpired, ProviderError, RateLimited
from sync.api.starting import start_sync
from sync.models import SyncJob
from sync.rules_preview import count as count_matching
from webhooks.subscriptions import delivery_mode

CONTAINERS = "containers"


# --- the connections a person owns, and what the pages do with them ---------------------------
def owned_connections(user: Any) -> QuerySet[Connection]:
    return shown(Connection.objects.for_user(user))


def shown(connections: QuerySet[Connection]) -> QuerySet[Connection]:
    """With their service and their latest job's status: one query however many there are."""
    latest = SyncJob.objects.filter(connection=OuterRef("pk")).order_by("-created_at", "-pk")
    return connections.select_related("service").annotate(
        last_sync_status=Subquery(latest.values("status")[:1])
    )


def own_connection(request: Request, pk: int) -> Connection:
    return get_object_or_404(owned_connections(request.user), pk=pk)


def change_settings(request: Request, connection: Connection, values: dict[str, Any]) -> None:
    """Validate as the settings page does (its form, over the current settings) and save as
    it saves; a 400 naming each field at fault."""
    require(connection, SETTINGS)
    form = ConnectionSettingsForm.from_values(connection, values)
    if not form.is_valid():
        raise exceptions.ValidationError(form_errors(form))
    lifecycle.save_settings(form, request=request)


def form_errors(form: Any) -> dict[str, list[str]]:
    errors = {name: list(messages) for name, messages in form.errors.items()}
    if "__all__" in errors:
        errors["non_field_errors"] = errors.pop("__all__")
    return errors


def fresh(request: Request, connection: Connection) -> Connection:
    """The connection as it is now, with the annotations the serializers show."""
    return own_connection(request, connection.pk)


# --- /api/integrations ----------------------------------------------------------------------------
POST_BODY = PolymorphicProxySerializer(
    component_name="IntegrationsPost",
    serializers=[s.OAuthStartSerializer, s.CalDAVConnectSerializer, s.SyncStartSerializer],
    resource_type_field_name=None,
)
DISCONNECT_PARAMETERS = [
    OpenApiParameter("connection", OpenApiTypes.INT, OpenApiParameter.QUERY, required=True),
    OpenApiParameter(
        "keep_items",
        OpenApiTypes.BOOL,
        OpenApiParameter.QUERY,
        required=True,
        description="true: keep the synced items in DayFlow; false: remove them. The same "
        "two fields may come as a JSON body instead.",
    ),
]
EXAMPLE_CONNECTION = {
    "id": 7,
    "service": "todoist",
    "service_name": "Todoist",
    "label": "alice@example.com",
    "status": "connected",
    "status_display": "Connected",
    "last_error": "",
    "allowed_actions": ["disconnect", "pause", "settings", "sync"],
    "last_sync_at": "2030-06-01T12:00:00Z",
    "last_sync_status": "succeeded",
    "created_at": "2030-05-01T09:30:00Z",
    "auto_sync": True,
    "conflict_resolution": "manual",
    "deletion_policy": "propagate",
    "field_mapping": {"project_id": "2203306141"},
    "sync_direction": "two_way",
    "sync_events": True,
    "sync_interval": 15,
    "sync_tasks": True,
}


class IntegrationsView(APIView):
    """The seed's one route for the integrations page's whole life."""

    def get_throttles(self) -> list[Any]:
        throttles = super().get_throttles()
        if self.request.method == "POST":  # a sync, or a connect that calls the service
            throttles.append(SyncStart())
        return throttles

    @extend_schema(
        summary="The service catalog and your connections",
        responses=s.IntegrationsSerializer,
        examples=[
            OpenApiExample(
                "One service, one connection",
                value={
                    "services": [
                        {
                            "key": "todoist",
                            "name": "Todoist",
                            "kind": "tasks",
                            "configured": True,
                            "sandbox": False,
                            "connects_with": "oauth",
                            "capabilities": {"item_types": ["task"], "webhooks": True},
                            "field_mapping_keys": {"project_id": "str"},
                        }
                    ],
                    "connections": [EXAMPLE_CONNECTION],
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        connections = owned_connections(request.user).order_by("service__display_name", "label")
        body = {"services": enabled_services(), "connections": connections}
        return Response(s.IntegrationsSerializer(body).data)

    @extend_schema(
        summary="Connect a service, or start a sync of a connection",
        description="`{service}`: an OAuth service's consent page and state, kept in your "
        "session as the connect page keeps them, so the callback page finishes the flow in "
        "the browser holding that session. `{service, username, password[, server_url]}`: a "
        "CalDAV account, checked against the server. `{connection, action: sync[, mode]}`: "
        "a sync, a preview or a full resync (an `Idempotency-Key` header returns the same "
        "job for a day).",
        request=POST_BODY,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={
            200: s.AuthorizeSerializer,
            201: s.ConnectionSerializer,
            202: s.StartedJobSerializer,
            404: OpenApiResponse(description="Not your connection."),
            409: OpenApiResponse(description="The connection cannot sync now."),
        },
        examples=[
            OpenApiExample("Connect Todoist", value={"service": "todoist"}, request_only=True),
            OpenApiExample(
                "Connect Fastmail",
                value={"service": "fastmail", "username": "me@fastmail.com", "password": "…"},
                request_only=True,
            ),
            OpenApiExample(
                "Preview a sync",
                value={"connection": 7, "action": "sync", "mode": "preview"},
                request_only=True,
            ),
            OpenApiExample(
                "The consent page",
                value={"authorize_url": "https://todoist.com/oauth/authorize?…", "state": "…"},
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "The job",
                value={
                    "id": 42,
                    "status": "queued",
                    "kind": "incremental",
                    "dry_run": True,
                    "url": "/api/jobs/42",
                },
                response_only=True,
                status_codes=["202"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = request.data
        if isinstance(data, dict) and "connection" in data:
            return self._sync(request)
        if isinstance(data, dict) and "service" in data:
            return self._connect(request, data)
        raise exceptions.ValidationError(
            {"service": ["Give a service to connect, or a connection and action to sync."]}
        )

    def _sync(self, request: Request) -> Response:
        incoming = s.SyncStartSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        connection = own_connection(request, incoming.validated_data["connection"])
        job, _ = start_sync(request, connection, incoming.validated_data["mode"])
        return Response(s.StartedJobSerializer(job).data, status=202)

    def _connect(self, request: Request, data: dict[str, Any]) -> Response:
        key = data["service"]
        service = enabled_services().filter(key=key).first() if isinstance(key, str) else None
        if service is None:
            raise exceptions.ValidationError({"service": ["No such service here."]})
        if s.connects_with(service) == s.CALDAV:
            return self._connect_caldav(request, service)
        s.OAuthStartSerializer(data=data).is_valid(raise_exception=True)
        before = handoff.flow_entries(request.session, service.key)
        try:
            url = lifecycle.start_oauth(request, service)
        except lifecycle.NotConfigured as exc:
            raise exceptions.ValidationError({"service": [str(exc)]}) from None
        state = parse_qs(urlsplit(url).query).get("state", [""])[0]
        if request.auth is not None:  # a token: its person finishes the flow in their browser
            after = handoff.flow_entries(request.session, service.key)
            handoff.hand_off(request.user, service.key, state, before, after)
            for key in after.keys() - before.keys():
                del request.session[key]
        return Response(s.AuthorizeSerializer({"authorize_url": url, "state": state}).data)

    def _connect_caldav(self, request: Request, service: Service) -> Response:
        incoming = s.CalDAVConnectSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        values = incoming.validated_data
        sandbox = service_urls.base_url(service.key)
        preset = (sandbox and f"{sandbox}/") or service.provider.server_url
        form = CalDAVConnectForm(
            {**values, "server_url": values.get("server_url") or preset}, service=service.key
        )
        connected = form.connect(service, request=request)
        if connected is None:
            raise exceptions.ValidationError(form_errors(form))
        return Response(s.ConnectionSerializer(fresh(request, connected[0])).data, status=201)

    @extend_schema(
        summary="Change a connection's settings",
        description="Validated as the settings page validates them; the settings left out "
        "stay as they are.",
        request=s.IntegrationSettingsSerializer,
        responses={200: s.ConnectionSerializer},
        examples=[
            OpenApiExample(
                "Every half hour, the service wins",
                value={"connection": 7, "sync_interval": 30, "conflict_resolution": "source"},
                request_only=True,
            ),
            OpenApiExample("The connection", value=EXAMPLE_CONNECTION, response_only=True),
        ],
    )
    def put(self, request: Request) -> Response:
        incoming = s.IntegrationSettingsSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        values = dict(incoming.validated_data)
        connection = own_connection(request, values.pop("connection"))
        change_settings(request, connection, values)
        return Response(s.ConnectionSerializer(fresh(request, connection)).data)

    @extend_schema(
        summary="Disconnect a connection",
        description="Keeping or removing the items it synced. The fields come as query "
        "parameters or as a JSON body (some clients drop a DELETE's body).",
        parameters=DISCONNECT_PARAMETERS,
        request=None,
        responses={200: s.DisconnectedSerializer},
        examples=[
            OpenApiExample(
                "Disconnected",
                value={
                    "connection": {**EXAMPLE_CONNECTION, "status": "disconnected"},
                    "revoked": True,
                },
                response_only=True,
            )
        ],
    )
    def delete(self, request: Request) -> Response:
        data = request.data or request.query_params.dict()
        incoming = s.DisconnectSerializer(data=data)
        incoming.is_valid(raise_exception=True)
        connection = own_connection(request, incoming.validated_data["connection"])
        revoked = lifecycle.disconnect(
            connection, keep_items=incoming.validated_data["keep_items"], request=request
        )
        body = {"connection": fresh(request, connection), "revoked": revoked}
        return Response(s.DisconnectedSerializer(body).data)


# --- /api/connections -----------------------------------------------------------------------------
class ConnectionFilter(filters.FilterSet):
    service = filters.CharFilter(field_name="service__key", max_length=40)
    status = filters.ChoiceFilter(choices=Connection.Status.choices)

    class Meta:
        model = Connection
        fields = ["service", "status"]


ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        summary="Your connections",
        examples=[OpenApiExample("A connection", value=EXAMPLE_CONNECTION, response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One of your connections",
        parameters=[ID],
        responses=s.ConnectionDetailSerializer,
        examples=[
            OpenApiExample(
                "A connection",
                value={**EXAMPLE_CONNECTION, "delivery": "push"},
                response_only=True,
            )
        ],
    ),
)
class ConnectionViewSet(
    OwnedObjects, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    model = Connection
    serializer_class = s.ConnectionSerializer
    filterset_class = ConnectionFilter
    ordering_fields = ["id", "created_at", "last_sync_at", "label", "status"]
    lookup_value_regex = "[0-9]{1,18}"

    def narrow(self, queryset: QuerySet) -> QuerySet:
        return shown(queryset)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        connection = self.get_object()
        connection.delivery = delivery_mode(connection)
        return Response(s.ConnectionDetailSerializer(connection).data)

    @extend_schema(
        summary="Change a connection's settings",
        description="Validated as the settings page validates them; the settings left out "
        "stay as they are.",
        parameters=[ID],
        request=s.SettingsSerializer,
        responses={200: s.ConnectionSerializer},
        examples=[
            OpenApiExample(
                "Import only, by hand",
                value={"sync_direction": "one_way", "auto_sync": False},
                request_only=True,
            ),
            OpenApiExample("The connection", value=EXAMPLE_CONNECTION, response_only=True),
        ],
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        connection = self.get_object()
        incoming = s.SettingsSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        change_settings(request, connection, dict(incoming.validated_data))
        return Response(s.ConnectionSerializer(fresh(request, connection)).data)

    @extend_schema(
        summary="Count DayFlow's items that rules would let through (nothing is saved)",
        description="The settings page's preview: per kind of item the service syncs, how many "
        "of DayFlow's items match `sync_rules`, of how many, and how many synced ones would be "
        "unlinked. The rules are validated as the settings are. The service's items are "
        "counted at the next sync, not here.",
        parameters=[ID],
        request=s.RulesPreviewSerializer,
        responses={200: s.RulesPreviewResultSerializer},
        examples=[
            OpenApiExample(
                "Open tasks only",
                value={"sync_rules": {"task": {"status": "open"}}},
                request_only=True,
            ),
            OpenApiExample(
                "The count",
                value={
                    "counts": [{"kind": "task", "matching": 12, "total": 40, "let_go": 3}],
                    "sentence": "12 of 40 tasks in DayFlow match.",
                },
                response_only=True,
            ),
        ],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="rules-preview",
        pagination_class=None,
        filter_backends=[],
    )
    def rules_preview(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        connection = self.get_object()
        return answer_rules_preview(
            request.data,
            connection.offered_fields(),
            lambda rules, today: count_matching(connection, rules, today),
            request.user.pk,
        )

    @extend_schema(
        summary="Pause a connection (its syncs stop until resumed)",
        parameters=[ID],
        request=None,
        responses={200: s.ConnectionSerializer},
        examples=[
            OpenApiExample(
                "Paused",
                value={**EXAMPLE_CONNECTION, "status": "paused", "status_display": "Paused"},
                response_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._lifecycle(lifecycle.pause)

    @extend_schema(
        summary="Resume a paused connection",
        parameters=[ID],
        request=None,
        responses={200: s.ConnectionSerializer},
        examples=[OpenApiExample("Resumed", value=EXAMPLE_CONNECTION, response_only=True)],
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._lifecycle(lifecycle.resume)

    def _lifecycle(self, change: Any) -> Response:
        connection = self.get_object()
        change(connection, request=self.request)
        return Response(s.ConnectionSerializer(fresh(self.request, connection)).data)

    @extend_schema(
        summary="The lists, projects, databases or calendars the service offers",
        description="Asked of the service now. 409 when the account must be connected "
        "again; 502 when the service fails or cannot be reached.",
        parameters=[ID],
        responses={
            200: s.ContainersSerializer,
            409: OpenApiResponse(description="The account must be connected again."),
            502: OpenApiResponse(description="The service failed or could not be reached."),
        },
        examples=[
            OpenApiExample(
                "Todoist's projects",
                value={
                    "containers": [
                        {
                            "id": "2203306141",
                            "name": "Inbox",
                            "kind": "project",
                            "parent": "",
                            "item_types": ["task"],
                        }
                    ]
                },
                response_only=True,
            )
        ],
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def containers(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        connection = self.get_object()
        require(connection, SETTINGS)
        if connection.status == Connection.Status.NEEDS_REAUTH:
            raise ConnectionActionRefused(CONTAINERS, MUST_RECONNECT)
        return Response(s.ContainersSerializer({"containers": offered(connection)}).data)


MUST_RECONNECT = "the account must be connected again"


class ServiceFailed(exceptions.APIException):
    status_code = 502
    default_code = "service_failed"


class ServiceBusy(exceptions.APIException):
    status_code = 503
    default_code = "service_busy"


def offered(connection: Connection) -> list[Any]:
    """The provider's `list_containers`, its failures in words: a refused token is a 409
    (reconnect), a rate limit a 503 with Retry-After, anything else the service did a 502."""
    name = connection.service.display_name
    try:
        return provider_for(connection, someone_waits=True).list_containers()
    except AuthExpired:
        raise ConnectionActionRefused(CONTAINERS, MUST_RECONNECT) from None
    except RateLimited as exc:
        busy = ServiceBusy(f"{name} asks us to slow down; try again later.")
        busy.wait = max(1, int(exc.retry_after))
        raise busy from None
    except ProviderError:
        raise ServiceFailed(f"{name} failed or could not be reached; try again later.") from None
