from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupplyConfig(AppConfig):
    """Secured supply: component demand forecast from subscriptions, committed supply, per-week
    reservations refused atomically at the point of sale, capped baskets and substitutions."""

    name = "supply"
    verbose_name = _("Supply")

    def ready(self) -> None:
        from supply import receivers  # noqa: F401 — schedules the forecast refresh on changes
