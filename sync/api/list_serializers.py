"""Lists, calendars and sync links as the API reads and writes them. A list's or calendar's
name is checked by the model's own `clean()` (trimmed, not empty, not "Inbox" or "My
calendar", not taken, at most `MAX_LISTS`); a sync link's list, calendar and destination are
checked field by field here and changed only through `sync.links`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dayflow.api.owned import OwnedId
from dayflow.api.strict import StrictBooleanField, StrictModelSerializer
from dayflow.models import NAME_CHARS, Calendar, TaskList
from integrations.models import Connection, summed_up
from sync.models import ItemType, SyncLink
from sync.rules import rule_errors


class DestinationSerializer(serializers.Serializer):
    """The sync link where the new items of a list (or calendar) are created."""

    id = serializers.IntegerField(read_only=True, help_text="The sync link's id.")
    connection = serializers.IntegerField(read_only=True, source="connection_id")
    service = serializers.CharField(read_only=True, source="connection.service.display_name")
    container = serializers.CharField(
        read_only=True,
        source="container_words",
        help_text="The project, team or calendar at the service, by its name.",
    )


def destination_of(side: TaskList | Calendar) -> SyncLink | None:
    """Its destination link, from the prefetched `destinations` when the view made them."""
    found = getattr(side, "destinations", None)
    if found is None:
        links = side.sync_links.filter(user_id=side.user_id).destinations()
        found = links.select_related("connection__service")
    return next(iter(found), None)


class NamedSerializer(StrictModelSerializer):
    name = serializers.CharField(max_length=NAME_CHARS)
    destination = serializers.SerializerMethodField(
        help_text="The sync link its new items are created in; null: they stay in DayFlow. "
        "Change it at `/api/sync-links/{id}`."
    )

    class Meta:
        fields = ["id", "name", "created_at", "destination"]
        read_only_fields = ["id", "created_at"]

    @extend_schema_field(DestinationSerializer(allow_null=True))
    def get_destination(self, side: TaskList | Calendar) -> dict[str, Any] | None:
        link = destination_of(side)
        return DestinationSerializer(link).data if link is not None else None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The model's own rules, on a copy: a refused name leaves the stored one alone."""
        if "name" not in attrs:
            return attrs
        model = self.Meta.model
        user = self.context["request"].user
        candidate = model(pk=getattr(self.instance, "pk", None), user=user, name=attrs["name"])
        try:
            candidate.clean()
        except DjangoValidationError as error:
            if not hasattr(error, "error_dict"):
                raise serializers.ValidationError({"non_field_errors": error.messages}) from None
            raise serializers.ValidationError(error.message_dict) from None
        return {**attrs, "name": candidate.name}


class TaskListSerializer(NamedSerializer):
    class Meta(NamedSerializer.Meta):
        model = TaskList


class CalendarSerializer(NamedSerializer):
    class Meta(NamedSerializer.Meta):
        model = Calendar


class SyncLinkSerializer(StrictModelSerializer):
    service = serializers.CharField(read_only=True, source="connection.service.display_name")
    container = serializers.CharField(
        read_only=True,
        source="container_words",
        help_text="The project, team or calendar at the service, by its name.",
    )
    dayflow = serializers.CharField(
        read_only=True,
        source="dayflow_words",
        help_text='The DayFlow list or calendar its items live in, by name ("Inbox", "My '
        'calendar" when none).',
    )
    task_list = OwnedId(
        TaskList,
        "No such list.",
        required=False,
        allow_null=True,
        help_text="A task link: the id of your list its tasks live in; null: the Inbox.",
    )
    calendar = OwnedId(
        Calendar,
        "No such calendar.",
        required=False,
        allow_null=True,
        help_text='An event link: the id of your calendar its events live in; null: "My calendar".',
    )
    is_destination = StrictBooleanField(
        required=False,
        help_text="Whether the new items of its list (or calendar) are created here. True "
        "takes it from the link that was; false leaves them in DayFlow.",
    )
    sync_rules = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="What syncs from this container, as a connection's `sync_rules` but of the "
        'link\'s kind only: {"task": {"status": "open"}}. null: the connection\'s rules; {}: '
        "everything. An item that stops matching is unlinked, never deleted.",
    )
    deletion_policy = serializers.ChoiceField(
        choices=[("", "As the connection"), *Connection.DeletionPolicy.choices],
        required=False,
        help_text="When an item of this container is deleted on one side: `propagate`, "
        "`unlink` or `ask`, as a connection's; \"\": the connection's policy.",
    )
    rules_in_force = serializers.JSONField(
        read_only=True, help_text="Its own rules, else its connection's."
    )
    policy_in_force = serializers.CharField(
        read_only=True, help_text="Its own deletion policy, else its connection's."
    )

    class Meta:
        model = SyncLink
        fields = [
            "id",
            "connection",
            "service",
            "item_type",
            "collection",
            "name",
            "container",
            "task_list",
            "calendar",
            "dayflow",
            "is_destination",
            "sync_rules",
            "deletion_policy",
            "rules_in_force",
            "policy_in_force",
            "created_at",
        ]
        read_only_fields = ["id", "connection", "item_type", "collection", "name", "created_at"]
        extra_kwargs = {
            "collection": {"help_text": "The container's id at the service; empty: its default."},
            "name": {"help_text": "The container's name at the service, when known."},
        }

    def validate_sync_rules(self, value: Any) -> Any:
        if value is None:
            return None
        problems = rule_errors((str(self.instance.item_type),), value)
        if problems:
            raise serializers.ValidationError(summed_up(problems))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """A task link feeds a list, an event link a calendar: the other field is refused."""
        is_task = self.instance.item_type == ItemType.TASK
        other = "calendar" if is_task else "task_list"
        if attrs.get(other) is not None:
            why = "A task link feeds a list." if is_task else "An event link feeds a calendar."
            raise serializers.ValidationError({other: [why]})
        attrs.pop(other, None)
        return attrs


class DestinationRowSerializer(serializers.Serializer):
    """A list or calendar (the Inbox and "My calendar" too) and its destination."""

    item_type = serializers.ChoiceField(choices=ItemType.choices, read_only=True)
    id = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="The list's or calendar's id; null: the Inbox (tasks) or \"My calendar\" "
        "(events).",
    )
    name = serializers.CharField(read_only=True)
    destination = DestinationSerializer(
        read_only=True,
        allow_null=True,
        help_text="The sync link its new items are created in; null: they stay in DayFlow.",
    )
