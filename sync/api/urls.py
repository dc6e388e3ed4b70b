"""The sync app's API under /api/: the seed's exact paths, then the plain resources."""

from __future__ import annotations

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from sync.api import lists, views

router = SimpleRouter(trailing_slash=False)
router.register("jobs", views.JobViewSet, basename="api-job")
router.register("conflicts", views.ConflictViewSet, basename="api-conflict")
router.register("lists", lists.TaskListViewSet, basename="api-list")
router.register("calendars", lists.CalendarViewSet, basename="api-calendar")
router.register("sync-links", lists.SyncLinkViewSet, basename="api-sync-link")

urlpatterns = [
    path("integrations/jobs", views.ActiveJobList.as_view(), name="api-active-jobs"),
    path("integrations/sync", views.StartSyncView.as_view(), name="api-sync-start"),
    path("integrations/sync/<int:jobId>", views.ControlJobView.as_view(), name="api-sync-control"),
    path("destinations", lists.DestinationsView.as_view(), name="api-destinations"),
    re_path(
        r"^connections/(?P<pk>[0-9]{1,18})/deletions$",
        views.ConnectionDeletionsView.as_view(),
        name="api-connection-deletions",
    ),
    *router.urls,
]
