"""What the integrations' endpoints read and write: the service catalog, a connection (its
state, what it allows now, and its settings), the containers a service offers, and the request
bodies of `/api/integrations`. No credential ever appears in any of them."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from dayflow.api.strict import StrictSerializer
from integrations import service_urls
from integrations.models import Connection, Service
from integrations.providers import PROVIDERS
from integrations.providers.base import AuthStyle
from sync.api.starting import MODES, SYNC

# Ids are 64-bit integers; beyond them a number is a mistake, not a connection.
MAX_ID = 2**63 - 1
OAUTH, CALDAV = "oauth", "caldav"


def connects_with(service: Service) -> str:
    """How the service is connected: the OAuth consent page, or a CalDAV server form."""
    return CALDAV if service.provider.auth is AuthStyle.APP_PASSWORD else OAUTH


class ServiceSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name")
    configured = serializers.BooleanField(
        source="is_configured", help_text="False: no OAuth client on this server yet."
    )
    sandbox = serializers.SerializerMethodField(help_text="Reached at its emulator.")
    connects_with = serializers.SerializerMethodField(
        help_text="`oauth`: POST its key for a consent page; `caldav`: POST a server form."
    )
    field_mapping_keys = serializers.SerializerMethodField(
        help_text="The settings this service takes in `field_mapping`, with their types."
    )

    class Meta:
        model = Service
        fields = [
            "key",
            "name",
            "kind",
            "configured",
            "sandbox",
            "connects_with",
            "capabilities",
            "field_mapping_keys",
        ]
        read_only_fields = fields

    def get_sandbox(self, service: Service) -> bool:
        return service_urls.sandboxed(service.key)

    def get_connects_with(self, service: Service) -> str:
        return connects_with(service)

    def get_field_mapping_keys(self, service: Service) -> dict[str, str]:
        schema = PROVIDERS[service.key].mapping_schema if service.key in PROVIDERS else {}
        return {
            name: " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            for name, kind in schema.items()
        }


class ConnectionSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="key", read_only=True)
    service_name = serializers.CharField(source="service.display_name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    allowed_actions = serializers.SerializerMethodField(
        help_text="What you may do with it now: pause, resume, reconnect, disconnect, "
        "settings, sync."
    )
    last_sync_status = serializers.CharField(
        read_only=True, allow_null=True, help_text="The status of its latest sync job."
    )
    setup_needed = serializers.CharField(
        read_only=True,
        help_text='What must still be chosen in its settings before it can sync ("choose a '
        'Notion database"); empty when it is ready. Until then it does not sync.',
    )
    offered_fields = serializers.SerializerMethodField(
        help_text="The fields you may give a direction (`field_directions`), per kind of item "
        "it syncs; the service lacks the others (Notion's tags until a tags property is named)."
    )

    class Meta:
        model = Connection
        fields = [
            "id",
            "service",
            "service_name",
            "label",
            "status",
            "status_display",
            "last_error",
            "allowed_actions",
            "setup_needed",
            "last_sync_at",
            "last_sync_status",
            "created_at",
            "offered_fields",
            *sorted(Connection.SETTINGS_FIELDS),
        ]
        read_only_fields = fields

    def get_allowed_actions(self, connection: Connection) -> list[str]:
        return sorted(connection.allowed_actions)

    def get_offered_fields(self, connection: Connection) -> dict[str, list[str]]:
        return {kind: list(names) for kind, names in connection.offered_fields().items()}


class ConnectionDetailSerializer(ConnectionSerializer):
    delivery = serializers.ChoiceField(
        choices=["push", "polling"],
        read_only=True,
        help_text="`push`: the service tells us of changes; `polling`: synced on its schedule.",
    )

    class Meta(ConnectionSerializer.Meta):
        fields = [*ConnectionSerializer.Meta.fields, "delivery"]
        read_only_fields = fields


class IntegrationsSerializer(serializers.Serializer):
    services = ServiceSerializer(many=True)
    connections = ConnectionSerializer(many=True)


# --- settings -----------------------------------------------------------------------------------
class SettingsSerializer(StrictSerializer):
    """A connection's settings, by type only: the settings page's form validates the values
    (`integrations.forms.ConnectionSettingsForm`). What is left out stays as it is."""

    auto_sync = serializers.BooleanField(required=False)
    sync_interval = serializers.IntegerField(required=False, help_text="Minutes.")
    sync_direction = serializers.ChoiceField(
        choices=Connection.SyncDirection.choices, required=False
    )
    sync_tasks = serializers.BooleanField(required=False)
    sync_events = serializers.BooleanField(required=False)
    conflict_resolution = serializers.ChoiceField(
        choices=Connection.ConflictResolution.choices, required=False
    )
    field_mapping = serializers.JSONField(
        required=False,
        help_text="An object of the service's settings (its `field_mapping_keys`).",
    )
    field_directions = serializers.JSONField(
        required=False,
        help_text='Per kind of item, the direction of some fields: {"task": {"due": '
        '"from_service"}}; one of two_way (the default for a field not named), from_service, '
        "to_service, off. Fields the service lacks are refused.",
    )
    deletion_policy = serializers.ChoiceField(
        choices=Connection.DeletionPolicy.choices,
        required=False,
        help_text="When an item is deleted on one side: `propagate` deletes the other copy "
        "too, `unlink` keeps it and stops syncing the item, `ask` waits for you "
        "(`/api/connections/{id}/deletions`).",
    )
    sync_rules = serializers.JSONField(
        required=False,
        help_text='What syncs, per kind of item: {"task": {"status": "any"|"open", '
        '"due_within_days": 0-3650 or null, "undated": bool, "tags": [names]}, "event": '
        '{"past_days": 0-3650, "future_days": 0-3650}}. An item that stops matching is '
        "unlinked, never deleted. {} syncs everything.",
    )


class RulesPreviewSerializer(StrictSerializer):
    """`POST /api/connections/{id}/rules-preview`: the rules to count with (not saved)."""

    sync_rules = serializers.JSONField(help_text="As in the connection's settings.")


class RulesCountSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="task or event")
    matching = serializers.IntegerField(help_text="DayFlow's items of this kind that match.")
    total = serializers.IntegerField(help_text="All of DayFlow's items of this kind.")
    let_go = serializers.IntegerField(
        help_text="Synced now, and DayFlow's copy does not match: would be unlinked (kept on "
        "both sides). A lower bound: the service's copies are judged at the next sync."
    )


class RulesPreviewResultSerializer(serializers.Serializer):
    counts = RulesCountSerializer(many=True)
    sentence = serializers.CharField()


class ConnectionRef(StrictSerializer):
    connection = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class IntegrationSettingsSerializer(ConnectionRef, SettingsSerializer):
    """`PUT /api/integrations`: the connection and the settings to change."""


# --- starting things --------------------------------------------------------------------------
class OAuthStartSerializer(StrictSerializer):
    service = serializers.SlugField(max_length=40)


class CalDAVConnectSerializer(OAuthStartSerializer):
    server_url = serializers.CharField(max_length=500, required=False)
    username = serializers.CharField(max_length=255)
    password = serializers.CharField(max_length=1000, write_only=True)


class SyncStartSerializer(ConnectionRef):
    action = serializers.ChoiceField(choices=["sync"])
    mode = serializers.ChoiceField(choices=MODES, default=SYNC)


class AuthorizeSerializer(serializers.Serializer):
    authorize_url = serializers.URLField(help_text="Open it in the browser signed in here.")
    state = serializers.CharField()


class StartedJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    kind = serializers.CharField()
    dry_run = serializers.BooleanField()
    url = serializers.SerializerMethodField()

    def get_url(self, job: Any) -> str:
        return f"/api/jobs/{job.pk}"


class DisconnectSerializer(ConnectionRef):
    keep_items = serializers.BooleanField(
        help_text="true: keep the synced items in DayFlow (they stop syncing); false: remove them."
    )


class DisconnectedSerializer(serializers.Serializer):
    connection = ConnectionSerializer()
    revoked = serializers.BooleanField(
        help_text="false: the service did not confirm; remove DayFlow's access there too."
    )


class ContainerSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField(help_text="database, list, team, project, calendar…")
    parent = serializers.CharField()
    item_types = serializers.ListField(child=serializers.CharField())


class ContainersSerializer(serializers.Serializer):
    containers = ContainerSerializer(many=True)
