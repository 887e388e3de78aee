from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("webhook/stripe/", views.stripe_webhook, name="stripe-webhook"),
    path("remboursement/", views.refund, name="refund"),
]
