from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("", views.data_page, name="data"),
    path("exports/", views.export_new, name="export-new"),
    path("exports/<int:pk>/download/", views.export_download, name="export-download"),
    path("delete/", views.delete_account, name="delete-account"),
    path("deleted/", views.erased, name="erased"),
]
