from django.urls import path

from baskets import views

app_name = "baskets"

# French paths in every language (/paniers/, /en/paniers/), as for delivery's pages.
urlpatterns = [
    path("", views.basket_list, name="list"),
    path("<slug:slug>-<int:pk>/", views.basket_detail, name="detail"),
]
