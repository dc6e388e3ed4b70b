"""/sandbox/<service>/…: one emulator per service, each with its own URL module; the console."""

from django.urls import include, path

from integrations.sandbox import (
    clickup,
    console,
    google_calendar,
    linear,
    notion,
    outlook,
    todoist,
)

app_name = "sandbox"

urlpatterns = [
    path("", include(console)),  # /sandbox/console/ and /sandbox/<service>/console/…
    path("todoist/", include(todoist)),
    path("google-calendar/", include(google_calendar)),
    path("notion/", include(notion)),
    path("linear/", include(linear)),
    path("clickup/", include(clickup)),
    path("outlook/", include(outlook)),
]
