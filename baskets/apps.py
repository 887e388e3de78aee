from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BasketsConfig(AppConfig):
    """Themed grocery baskets (our product), their compositions and the €5 per person-day rule."""

    name = "baskets"
    verbose_name = _("Baskets")
