from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ops_group_after_migrate(sender, **kwargs) -> None:
    from delivery.services.districts import ops_group_ensure

    ops_group_ensure()


class DeliveryConfig(AppConfig):
    """Districts with a fixed weekday, delivery dates and capacities, bus routes and manifests."""

    name = "delivery"
    verbose_name = _("Delivery")

    def ready(self) -> None:
        from delivery import receivers  # noqa: F401 — connects the order_placed receiver

        # The "Ops" group is (re)built after every migrate, once permissions exist; also after a
        # test database flush, which emits post_migrate too.
        post_migrate.connect(
            _ops_group_after_migrate, sender=self, dispatch_uid="delivery_ops_group"
        )
