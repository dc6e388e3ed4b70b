from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from dayflow.api.strict import StrictModelSerializer
from privacy.export import is_expired
from privacy.models import ExportRequest


class ExportSerializer(StrictModelSerializer):
    download_url = serializers.SerializerMethodField(
        help_text="Where to download the archive while it is ready and not expired; else null."
    )

    class Meta:
        model = ExportRequest
        fields = ["id", "status", "created_at", "finished_at", "expires_at", "size", "download_url"]
        read_only_fields = fields

    def get_download_url(self, export: ExportRequest) -> str | None:
        if export.status != ExportRequest.Status.READY or is_expired(export):
            return None
        path = reverse("api-export-download", args=[export.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path
