"""The integrations' REST endpoints (mounted under /api/ by dayflow/urls.py).

`integrations` is an exact path: `/api/integrations/jobs` and `/api/integrations/sync...`
belong to the sync engine's API (sync/api/urls.py) and must not be swallowed here."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from integrations.api.views import ConnectionViewSet, IntegrationsView

router = SimpleRouter(trailing_slash=False)
router.register("connections", ConnectionViewSet, basename="api-connection")

urlpatterns = [
    path("integrations", IntegrationsView.as_view(), name="api-integrations"),
    *router.urls,
]
