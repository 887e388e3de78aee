"""The point of sale: a checkout order reserves its supply, or is refused before it exists.

Called by the checkout (``baskets.services.subscribe.subscriptions_create_from_order``) inside
the order's transaction: raising rolls the order back with it.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from oscar.apps.order.models import Order

from baskets.models import BasketSubscription, BasketVariant
from delivery.models import OrderDelivery
from supply.models import SupplyOrderReservation
from supply.services.caps import variant_cap_reason
from supply.services.reservations import SupplyShortError, basket_needs, supply_reserve
from supply.services.weeks import supply_horizon


class SupplyRefused(Exception):
    """The sale cannot be supplied; ``message`` is for the shopper (translated)."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def waitlist_url(*, variant_id: int) -> str:
    return reverse("supply:waitlist", kwargs={"variant_id": variant_id})


def order_supply_reserve(
    *, order: Order, subscriptions: list[BasketSubscription], now: datetime | None = None
) -> bool:
    """Reserve the order's baskets for its delivery date and, for each subscription it starts,
    every delivery it will have within the forecast horizon. Refuses (SupplyRefused, nothing
    reserved) a new subscription to a capped basket, or any sale a coming week cannot supply.
    Idempotent per order. Returns False when there was nothing to do."""
    from baskets.services.subscriptions import subscription_due_dates

    if not settings.SUPPLY_PROTECT_SALES:
        return False
    if SupplyOrderReservation.objects.filter(order=order).exists():
        return False
    delivery = OrderDelivery.objects.filter(order=order).first()
    if delivery is None:
        return False
    variants = dict(
        BasketVariant.objects.filter(
            product_id__in=[line.product_id for line in order.lines.all()]
        ).values_list("product_id", "pk")
    )
    triples = [
        (variants[line.product_id], line.quantity, delivery.delivery_date)
        for line in order.lines.all()
        if line.product_id in variants
    ]
    if not triples:
        return False
    for subscription in subscriptions:
        reason = variant_cap_reason(variant_id=subscription.variant_id)
        if reason:
            raise SupplyRefused(
                reason
                + " "
                + _("Choose “Just once”, or join the waiting list: %(url)s")
                % {"url": waitlist_url(variant_id=subscription.variant_id)}
            )
        _start, end = supply_horizon(now=now)
        for day in subscription_due_dates(
            subscription=subscription, count=settings.SUPPLY_FORECAST_WEEKS + 1, now=now
        ):
            if day <= end:
                triples.append((subscription.variant_id, subscription.quantity, day))
    try:
        supply_reserve(needs=basket_needs(variant_quantities=triples), now=now)
    except SupplyShortError as exc:
        raise SupplyRefused(
            exc.message
            + " "
            + _("Try a later delivery, or join the waiting list: %(url)s")
            % {"url": waitlist_url(variant_id=triples[0][0])}
        ) from exc
    SupplyOrderReservation.objects.create(order=order)
    return True
