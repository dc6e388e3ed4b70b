"""DayFlow's own resources in the API: the person's API tokens (and, beside them, the planner's
tasks and events)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from dayflow.api.planner import EventViewSet, TaskViewSet
from dayflow.api.tokens import ApiTokenViewSet

router = SimpleRouter(trailing_slash=False)
router.register("tokens", ApiTokenViewSet, basename="api-token")
router.register("tasks", TaskViewSet, basename="api-task")
router.register("events", EventViewSet, basename="api-event")

urlpatterns = router.urls
