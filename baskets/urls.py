from django.urls import path

from baskets import views, views_account, views_payment

app_name = "baskets"

# French paths in every language (/paniers/, /en/paniers/), as for delivery's pages.
urlpatterns = [
    path("", views.basket_list, name="list"),
    path("<slug:slug>-<int:pk>/", views.basket_detail, name="detail"),
    # The shopper's subscriptions, in "Mon compte".
    path("compte/abonnements/", views_account.subscription_list, name="subscriptions"),
    path(
        "compte/abonnements/<int:pk>/",
        views_account.subscription_detail,
        name="subscription-detail",
    ),
    path(
        "compte/abonnements/<int:pk>/sauter/",
        views_account.subscription_skip_view,
        name="subscription-skip",
    ),
    path(
        "compte/abonnements/<int:pk>/pause/",
        views_account.subscription_pause_view,
        name="subscription-pause",
    ),
    path(
        "compte/abonnements/<int:pk>/reprendre/",
        views_account.subscription_resume_view,
        name="subscription-resume",
    ),
    path(
        "compte/abonnements/<int:pk>/resilier/",
        views_account.subscription_cancel_view,
        name="subscription-cancel",
    ),
    # Changing basket, household size or address (the address in two steps: see, then confirm).
    path(
        "compte/abonnements/<int:pk>/changer-panier/",
        views_account.subscription_variant_view,
        name="subscription-change-basket",
    ),
    path(
        "compte/abonnements/<int:pk>/changer-adresse/",
        views_account.subscription_address_view,
        name="subscription-change-address",
    ),
    path(
        "compte/abonnements/<int:pk>/changer-adresse/confirmer/",
        views_account.subscription_address_confirm_view,
        name="subscription-change-address-confirm",
    ),
    # The payment page of a weekly order whose charge did not go through (emailed link).
    path(
        "compte/abonnements/paiements/<int:pk>/",
        views_payment.renewal_payment,
        name="renewal-payment",
    ),
]
