"""Audit events as the person who acted reads them: their own activity."""

from __future__ import annotations

from rest_framework import serializers

from audit.models import AuditEvent


class ActivitySerializer(serializers.ModelSerializer):
    details = serializers.DictField(
        read_only=True, help_text="What the action concerned; secrets are never recorded."
    )

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "action",
            "resource",
            "connection_id",
            "connection_label",
            "success",
            "channel",
            "details",
            "ip_address",
            "user_agent",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "channel": {"help_text": 'How you acted: "web", "api: <token name>", "api: session".'},
            "ip_address": {"help_text": "The address your request came from."},
        }
