from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("<str:service>/", views.receive, name="receive"),
    path("<str:service>/<str:public_id>/", views.receive, name="receive-subscription"),
]
