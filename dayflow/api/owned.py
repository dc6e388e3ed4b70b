"""Every API view reads the requesting person's own objects only, through the model's
`for_user`: another person's object is then not found (404) for every method, and nothing
of theirs can change."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet


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
