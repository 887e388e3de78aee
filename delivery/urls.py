from django.urls import path

from delivery import views

app_name = "delivery"

# French paths in every language: /livraison/ and /en/livraison/ (as Oscar's own are English).
urlpatterns = [
    path("", views.postcode_check_page, name="check"),
    path("verifier/", views.postcode_check_fragment, name="check-fragment"),
    path("liste-attente/", views.waitlist_join_page, name="waitlist"),
]
