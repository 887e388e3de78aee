from django.urls import path

from supply import views

app_name = "supply"

urlpatterns = [
    path("liste-attente/<int:variant_id>/", views.waitlist_view, name="waitlist"),
]
