from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BasketsConfig(AppConfig):
    """Themed grocery baskets (our product), their compositions and the €5 per person-day rule."""

    name = "baskets"
    verbose_name = _("Baskets")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from baskets import receivers  # noqa: F401 — connects the re-check signals

        post_migrate.connect(_roles_sync, sender=self, dispatch_uid="baskets.roles_sync")


def _roles_sync(sender, **kwargs) -> None:
    # After migrate, when every app's permissions exist.
    from baskets.roles import roles_sync

    roles_sync()
