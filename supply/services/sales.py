"""The point of sale: a checkout order reserves its supply, or is refused before it exists.

Called by the checkout (``baskets.services.subscribe.subscriptions_create_from_order``) inside
the order's transaction: raising rolls the order back with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from oscar.apps.order.models import Order

from baskets.models import BasketComponent, BasketSubscription, BasketVariant
from delivery.calendar import local_today
from delivery.models import OrderDelivery
from supply.models import SupplyOrderReservation
from supply.services.caps import variant_cap_reason
from supply.services.reservations import SupplyShortError, basket_needs, supply_reserve
from supply.services.weeks import supply_horizon, supply_weeks, week_of


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


def cart_supply_check(*, cart, now: datetime | None = None) -> Callable[[date], str] | None:
    """For the checkout's choice of date: a function saying, for a delivery date, which
    component of the cart's baskets cannot be supplied that week (``""`` when all can) — the
    point of sale's check, made without reserving, so the shopper is offered the first date it
    will accept. None when sales are not protected or the cart holds no basket. Two queries,
    then one more on the first call."""
    from supply.selectors import component_short, component_weeks

    if not settings.SUPPLY_PROTECT_SALES:
        return None
    lines = [(line.product_id, line.quantity) for line in cart.all_lines()]
    variants = dict(
        BasketVariant.objects.filter(
            product_id__in=[product_id for product_id, _q in lines]
        ).values_list("product_id", "pk")
    )
    baskets: dict[int, int] = defaultdict(int)
    for product_id, quantity in lines:
        if product_id in variants:
            baskets[variants[product_id]] += quantity
    if not baskets:
        return None
    units: dict[int, int] = defaultdict(int)
    titles: dict[int, str] = {}
    for variant_id, product_id, quantity, title in BasketComponent.objects.filter(
        variant_id__in=list(baskets)
    ).values_list("variant_id", "product_id", "quantity", "product__title"):
        units[product_id] += quantity * baskets[variant_id]
        titles[product_id] = title
    components = [(product_id, units[product_id], titles[product_id]) for product_id in units]
    # The forecast's weeks, stretched over every date the shop may offer.
    weeks = supply_weeks(now=now)
    last = week_of(local_today(now=now) + timedelta(weeks=settings.DELIVERY_HORIZON_WEEKS + 1))
    while weeks[-1] < last:
        weeks.append(weeks[-1] + timedelta(weeks=1))
    coverage: dict[int, list] = {}

    def short_component(day: date) -> str:
        if not coverage:
            coverage.update(component_weeks(components=components, weeks=weeks))
        week = week_of(day)
        if week < weeks[0] or week > weeks[-1]:
            return ""
        return component_short(coverage=coverage, components=components, index=weeks.index(week))

    return short_component
