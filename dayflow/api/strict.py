"""Serializers that refuse what they do not know: a field the resource does not have is a 400
naming it, not silently dropped (a typo in a script would otherwise change nothing, quietly)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictFieldsMixin:
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key)[:100] for key in data if key not in writable)
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Unknown or read-only field."] for key in unknown[:20]}
                )
        return super().to_internal_value(data)


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    pass


class StrictBooleanField(serializers.BooleanField):
    """JSON's `true` or `false` only: DRF's own also takes "yes", "on", 1 or "0", and a
    script sending one of those by mistake deserves to hear of it."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            raise serializers.ValidationError("Say true or false.")
        return data
