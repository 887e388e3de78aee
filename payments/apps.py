from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    """Stripe PaymentIntents, saved cards, webhooks and refunds, recorded as Oscar sources."""

    name = "payments"
    verbose_name = _("Payments")
