from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    """Districts with a fixed weekday, delivery dates and capacities, bus routes and manifests."""

    name = "delivery"
    verbose_name = _("Delivery")

    def ready(self) -> None:
        from delivery import receivers  # noqa: F401 — connects the order_placed receiver
