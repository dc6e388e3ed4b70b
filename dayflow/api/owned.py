"""Every API view reads the requesting person's own objects only, through the model's
`for_user`: another person's object is then not found (404) for every method, and nothing
of theirs can change."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from dayflow.api.bounds import LARGEST_ID


# A comment, not a docstring: drf-spectacular describes each endpoint by the first docstring in
# its view's classes, and this one would otherwise be every endpoint's description in the schema.
class OwnedObjects:
    # A view over `model.objects.for_user(request.user)`; `narrow()` adds joins and filters.

    model: Any
    request: Any

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # the schema is built with no user
            return self.model.objects.none()
        return self.narrow(self.model.objects.for_user(self.request.user))

    def narrow(self, queryset: QuerySet) -> QuerySet:
        return queryset


class OwnedId(serializers.PrimaryKeyRelatedField):
    """The id of one of the requesting person's own objects (`model.objects.for_user`): a
    whole number in the database's range, not a string or a boolean; another person's id is
    answered as one that does not exist (`missing`), so nothing of theirs leaks."""

    def __init__(self, model: Any, missing: str, **kwargs: Any) -> None:
        self.model = model
        kwargs.setdefault("error_messages", {})["does_not_exist"] = missing
        super().__init__(queryset=model.objects.all(), **kwargs)

    def get_queryset(self) -> QuerySet:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.model.objects.none()
        return self.model.objects.for_user(user)

    def to_internal_value(self, data: Any) -> Any:
        if type(data) is not int:
            raise serializers.ValidationError("Give an id: a whole number.")
        if not 1 <= data <= LARGEST_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)
