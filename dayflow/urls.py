from django.contrib import admin
from django.urls import include, path

from audit import views as audit_views
from dayflow import health, metrics, views
from dayflow.api import docs

# The admin's registrations: settings.py installs the admin without autodiscovery, so the
# processes that never route a request (worker, beat, commands) do not import them.
admin.autodiscover()

urlpatterns = [
    path("", views.home, name="home"),
    path("tasks/", views.task_list, name="task-list"),
    path("tasks/new/", views.task_new, name="task-new"),
    path("tasks/<int:pk>/edit/", views.task_edit, name="task-edit"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task-complete"),
    path("tasks/<int:pk>/delete/", views.task_delete, name="task-delete"),
    path("events/", views.event_list, name="event-list"),
    path("events/new/", views.event_new, name="event-new"),
    path("events/<int:pk>/", views.event_detail, name="event-detail"),
    path("events/<int:pk>/edit/", views.event_edit, name="event-edit"),
    path("events/<int:pk>/delete/", views.event_delete, name="event-delete"),
    path("events/<int:pk>/occurrence/", views.occurrence_edit, name="occurrence-edit"),
    path("events/<int:pk>/occurrence/skip/", views.occurrence_skip, name="occurrence-skip"),
    path("profile/", views.profile, name="profile"),
    path("account/tokens/", views.api_tokens, name="api-tokens"),
    path("account/tokens/<int:pk>/revoke/", views.revoke_api_token, name="revoke-api-token"),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/", include("django.contrib.auth.urls")),
    # A staff page of our own under the admin's address, linked from its index.
    path("admin/compliance/", include("security.urls")),
    path("admin/", admin.site.urls),
    path("integrations/", include("integrations.urls")),
    path("sync/", include("sync.urls")),
    path("notifications/", include("notifications.urls")),
    path("account/data/", include("privacy.urls")),
    path("activity/", audit_views.activity_page, name="activity"),
    path("api/webhooks/", include("webhooks.urls")),
    path("sandbox/", include("integrations.sandbox.urls")),
    # The REST API: each app's own `api/` package, then the schema and its offline docs.
    path(
        "api/",
        include(
            [
                path("", include("dayflow.api.urls")),
                path("", include("integrations.api.urls")),
                path("", include("sync.api.urls")),
                path("", include("audit.api.urls")),
                path("", include("notifications.api.urls")),
                path("", include("privacy.api.urls")),
            ]
        ),
    ),
    # A sign-in (session or token) needed unless DAYFLOW_PUBLIC_API_DOCS (dayflow/api/docs.py).
    path("api/schema/", docs.schema, name="api-schema"),
    path("api/docs/", docs.swagger, name="api-docs"),
]

handler404 = views.not_found
