"""DayFlow's own resources in the API: the person's API tokens (and, beside them, the planner's
tasks and events)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from dayflow.api.tokens import ApiTokenViewSet

router = SimpleRouter(trailing_slash=False)
router.register("tokens", ApiTokenViewSet, basename="api-token")

urlpatterns = router.urls
