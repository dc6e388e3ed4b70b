from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("<int:pk>/read/", views.read_one, name="read"),
    path("read/", views.read_all, name="read-all"),
    path("settings/", views.email_settings, name="settings"),
]
