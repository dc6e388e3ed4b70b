"""The notifications app's resources in the API."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from notifications.api.views import NotificationViewSet

router = SimpleRouter(trailing_slash=False)
router.register("notifications", NotificationViewSet, basename="api-notification")

urlpatterns = router.urls
