from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:key>/connect/", views.connect, name="connect"),
    path("<slug:key>/callback/", views.callback, name="callback"),
    path("connections/<int:pk>/reconnect/", views.reconnect, name="reconnect"),
    path("connections/<int:pk>/pause/", views.pause, name="pause"),
    path("connections/<int:pk>/resume/", views.resume, name="resume"),
    path("connections/<int:pk>/disconnect/", views.disconnect, name="disconnect"),
    path("connections/<int:pk>/settings/", views.connection_settings, name="settings"),
    path("connections/<int:pk>/card/", views.card, name="card"),
    path("connections/<int:pk>/rules-preview/", views.rules_preview_part, name="rules-preview"),
]
