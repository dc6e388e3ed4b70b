from django.urls import path

from sync import deletion_views, link_views, list_views, views

app_name = "sync"

urlpatterns = [
    path("connections/<int:connection_id>/sync/", views.start, name="start"),
    path(
        "connections/<int:connection_id>/deletions/",
        deletion_views.deletion_list,
        name="deletions",
    ),
    path(
        "connections/<int:connection_id>/deletions/settle/",
        deletion_views.deletion_settle,
        name="deletions-settle",
    ),
    path("lists/", list_views.list_page, name="lists"),
    path("lists/<slug:kind>/<int:pk>/", list_views.list_rename, name="list-rename"),
    path("lists/<slug:kind>/<int:pk>/delete/", list_views.list_delete, name="list-delete"),
    path("lists/<slug:kind>/destination/", list_views.list_destination, name="list-destination"),
    path("links/<int:pk>/", list_views.link_settings, name="link"),
    path("links/<int:pk>/settings/", link_views.link_settings_page, name="link-settings"),
    path("links/<int:pk>/rules-preview/", link_views.link_rules_preview, name="link-rules-preview"),
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/live/", views.job_live, name="job-live"),
    path(
        "jobs/<int:pk>/<slug:action>/",
        views.job_control,
        name="job-control",
    ),
    path("conflicts/", views.conflict_list, name="conflicts"),
    path("conflicts/settle/", views.conflict_bulk, name="conflicts-bulk"),
    path("conflicts/<int:pk>/", views.conflict_detail, name="conflict"),
    path("conflicts/<int:pk>/resolve/", views.conflict_resolve, name="conflict-resolve"),
]
