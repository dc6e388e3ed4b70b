from django.urls import path

from security import views

app_name = "security"

urlpatterns = [
    path("", views.compliance_report, name="compliance"),
]
