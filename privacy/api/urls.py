"""The privacy app's resources in the API."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from privacy.api.views import ExportViewSet

router = SimpleRouter(trailing_slash=False)
router.register("exports", ExportViewSet, basename="api-export")

urlpatterns = router.urls
