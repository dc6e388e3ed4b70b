"""The audit app's resources in the API: the person's own activity."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from audit.api.views import ActivityViewSet

router = SimpleRouter(trailing_slash=False)
router.register("activity", ActivityViewSet, basename="api-activity")

urlpatterns = router.urls
