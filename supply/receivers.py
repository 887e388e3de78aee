"""Changes that move the forecast (stock on hand included) schedule a (debounced) refresh once
their transaction commits;
a cancelled subscription or a released order also gives its reserved supply back at once, in
its own transaction (``supply.services.release``)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save

from baskets.models import BasketComponent, BasketSubscription, SubscriptionSkip, SubscriptionStatus
from delivery.models import ClosedDate, OrderDelivery
from essentiels.oscar_forks.partner.models import StockRecord
from supply.models import ComponentSubstitution, SupplyCommitment, VariantSupplyCap

logger = logging.getLogger(__name__)


def _schedule() -> None:
    from supply.tasks import supply_forecast_refresh_schedule

    try:
        supply_forecast_refresh_schedule()
    except Exception:  # noqa: BLE001 — the nightly run catches up; a sale must not fail for it
        logger.exception("could not schedule the supply forecast refresh")


def _changed(sender, raw=False, **kwargs) -> None:
    if raw:
        return
    transaction.on_commit(_schedule)


for _model in (
    BasketSubscription,
    SubscriptionSkip,
    OrderDelivery,
    BasketComponent,
    ClosedDate,
    SupplyCommitment,
    ComponentSubstitution,
    # staff lifting a manual cap: the refresh then tells the basket's waiting list
    VariantSupplyCap,
):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"supply.refresh.{_model.__name__}")
    post_delete.connect(
        _changed, sender=_model, dispatch_uid=f"supply.refresh.del.{_model.__name__}"
    )


def _stock_changed(sender, raw=False, update_fields=None, **kwargs) -> None:
    # Stock on hand feeds the coverage and the automatic caps; a save of other fields (a price,
    # a cost) does not move them.
    if raw or (update_fields is not None and "num_in_stock" not in update_fields):
        return
    transaction.on_commit(_schedule)


post_save.connect(_stock_changed, sender=StockRecord, dispatch_uid="supply.refresh.stock")
post_delete.connect(_changed, sender=StockRecord, dispatch_uid="supply.refresh.del.stock")


# --- freeing reservations at once -------------------------------------------------------------


def _subscription_before_save(sender, instance, raw=False, **kwargs) -> None:
    # Only a save that turns the subscription cancelled frees anything; the state before the
    # change (pause, skips) says which deliveries were counted.
    if raw or instance.pk is None or instance.status != SubscriptionStatus.CANCELLED:
        return
    before = BasketSubscription.objects.filter(pk=instance.pk).select_related("district").first()
    if before is None or before.status == SubscriptionStatus.CANCELLED:
        return
    from supply.services.release import subscription_release_dates

    instance._supply_release = (
        before.variant_id,
        before.quantity,
        subscription_release_dates(subscription=before),
    )


def _subscription_saved(sender, instance, raw=False, **kwargs) -> None:
    release = instance.__dict__.pop("_supply_release", None)
    if raw or release is None:
        return
    from supply.services.release import subscription_supply_release

    variant_id, quantity, dates = release
    try:
        subscription_supply_release(variant_id=variant_id, quantity=quantity, dates=dates)
    except Exception:  # noqa: BLE001 — a cancellation must not fail for it; the refresh frees it
        logger.exception("could not free the supply of subscription %s", instance.pk)


def _delivery_before_save(sender, instance, raw=False, **kwargs) -> None:
    if raw or instance.pk is None or instance.status != OrderDelivery.Status.RELEASED:
        return
    before = OrderDelivery.objects.filter(pk=instance.pk).values_list("status", flat=True).first()
    if before == OrderDelivery.Status.BOOKED:
        instance._supply_release = True


def _delivery_saved(sender, instance, raw=False, **kwargs) -> None:
    if raw or not instance.__dict__.pop("_supply_release", False):
        return
    from supply.services.release import order_supply_release

    try:
        order_supply_release(order_id=instance.order_id, delivery_date=instance.delivery_date)
    except Exception:  # noqa: BLE001 — a cancellation must not fail for it; the refresh frees it
        logger.exception("could not free the supply of order %s", instance.order_id)


pre_save.connect(
    _subscription_before_save, sender=BasketSubscription, dispatch_uid="supply.release.sub.pre"
)
post_save.connect(
    _subscription_saved, sender=BasketSubscription, dispatch_uid="supply.release.sub.post"
)
pre_save.connect(_delivery_before_save, sender=OrderDelivery, dispatch_uid="supply.release.od.pre")
post_save.connect(_delivery_saved, sender=OrderDelivery, dispatch_uid="supply.release.od.post")
