from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BasketsConfig(AppConfig):
    """Themed grocery baskets (our product), their compositions and the €5 per person-day rule."""

    name = "baskets"
    verbose_name = _("Baskets")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from baskets import receivers  # noqa: F401 — connects the re-check signals

        post_migrate.connect(
            _subscription_option_attach, sender=self, dispatch_uid="baskets.subscription_option"
        )


def _subscription_option_attach(sender, **kwargs) -> None:
    # A basket product class created before the « Chaque semaine » option existed gets it.
    from baskets.services.subscribe import subscription_option_attach

    subscription_option_attach()
