from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("", views.my_data, name="my-data"),
    path("consentement/", views.consent_update, name="consent"),
    path("export.json", views.data_export, name="export"),
    path("fermer/", views.account_close_view, name="close"),
]
