"""The API's schema (/api/schema/) and its Swagger UI (/api/docs/): for signed-in people (a
session, or a token for the schema) unless DAYFLOW_PUBLIC_API_DOCS makes them public.

The docs page is drf-spectacular's "split" Swagger view: its start-up script is a file of its
own (`?script`), not inline, so the Content-Security-Policy needs no exception for scripts;
the page's one inline <style> is allowed on this view alone.
"""

from __future__ import annotations

from typing import Any

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny, BasePermission


def public() -> bool:
    return bool(getattr(settings, "DAYFLOW_PUBLIC_API_DOCS", False))


class SchemaReader(BasePermission):
    """Anyone signed in (session or token); everyone when the docs are public."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return public() or bool(request.user and request.user.is_authenticated)


schema = SpectacularAPIView.as_view(permission_classes=[SchemaReader])

_swagger = csp_update({"style-src": [UNSAFE_INLINE]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=[AllowAny])
)


def swagger(request: HttpRequest) -> HttpResponse:
    """GET /api/docs/: the sign-in page first for someone not signed in."""
    if not public() and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return _swagger(request)
