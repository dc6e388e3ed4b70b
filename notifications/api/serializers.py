"""Notices as a script reads them."""

from __future__ import annotations

from rest_framework import serializers

from notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "connection_id",
            "title",
            "body",
            "link",
            "count",
            "created_at",
            "read_at",
            "emailed_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "link": {"help_text": "Where to act, a path of the pages."},
            "count": {"help_text": "How many things the notice stands for (conflicts)."},
        }
