"""Giving reserved supply back at once when a sale goes away.

A cancelled subscription or a released order (cancelled, unpaid at the deadline, a skipped
week's renewal) frees its units in the same transaction as the change, so the next shopper can
buy them straight away instead of waiting for the debounced forecast refresh (which then
recomputes the reservations from scratch, so nothing is ever freed twice for long).

Only what the reservation actually counted is freed: a subscription's coming deliveries still
before their cutoff, within the horizon, not skipped, not paused and not already renewed (a
renewed week is counted by its order, freed when that order is released); an order's baskets
on its delivery date, by the composition recorded with the order, with that date's
substitutions applied. A row never goes below zero.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from baskets.models import BasketComponent, BasketSubscription, BasketVariant, OrderLineCost
from delivery.calendar import local_today
from supply.models import ComponentSubstitution, SupplyReservation
from supply.services.reservations import Needs, basket_needs
from supply.services.weeks import supply_horizon, week_of


@transaction.atomic
def supply_release(*, needs: Needs) -> None:
    """Take ``needs`` ({(component id, week Monday): units}) off the reservations, rows locked
    in primary-key order (as a sale locks them), never below zero."""
    needs = {key: units for key, units in needs.items() if units > 0}
    if not needs:
        return
    rows = list(
        SupplyReservation.objects.select_for_update()
        .filter(
            product_id__in={product_id for product_id, _week in needs},
            week__in={week for _product, week in needs},
        )
        .order_by("pk")
        .values_list("pk", "product_id", "week")
    )
    for pk, product_id, week in rows:
        units = needs.get((product_id, week))
        if units:
            SupplyReservation.objects.filter(pk=pk).update(
                reserved=Greatest(F("reserved") - units, Value(0)), updated_at=timezone.now()
            )


def subscription_release_dates(
    *, subscription: BasketSubscription, now: datetime | None = None
) -> list[date]:
    """The deliveries of ``subscription`` (as it stands, before a cancellation) that the
    reservations count for it: before their cutoff, within the horizon, not renewed yet."""
    from django.conf import settings

    from baskets.services.subscriptions import subscription_due_dates

    _start, end = supply_horizon(now=now)
    renewed = set(subscription.renewals.values_list("delivery_date", flat=True))
    return [
        day
        for day in subscription_due_dates(
            subscription=subscription, count=settings.SUPPLY_FORECAST_WEEKS + 1, now=now
        )
        if day <= end and day not in renewed
    ]


def subscription_supply_release(*, variant_id: int, quantity: int, dates: list[date]) -> Needs:
    """Free a cancelled subscription's coming deliveries; returns what was freed."""
    needs = basket_needs(variant_quantities=[(variant_id, quantity, day) for day in dates])
    supply_release(needs=needs)
    return needs


def order_supply_release(
    *, order_id: int, delivery_date: date, now: datetime | None = None
) -> Needs:
    """Free the baskets of an order no longer delivered on ``delivery_date``; returns what was
    freed. A date already past frees nothing."""
    from oscar.apps.order.models import Line

    if delivery_date < local_today(now=now):
        return {}
    lines = list(Line.objects.filter(order_id=order_id).values_list("pk", "product_id", "quantity"))
    variants = dict(
        BasketVariant.objects.filter(product_id__in=[p for _l, p, _q in lines]).values_list(
            "product_id", "pk"
        )
    )
    recorded = {
        line_id: composition
        for line_id, composition in OrderLineCost.objects.filter(
            line_id__in=[pk for pk, _p, _q in lines]
        ).values_list("line_id", "composition")
        if isinstance(composition, list) and composition
    }
    current: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for variant_id, product_id, quantity in BasketComponent.objects.filter(
        variant_id__in=variants.values()
    ).values_list("variant_id", "product_id", "quantity"):
        current[variant_id].append((product_id, quantity))
    swapped = dict(
        ComponentSubstitution.objects.filter(delivery_date=delivery_date).values_list(
            "product_id", "substitute_id"
        )
    )
    week = week_of(delivery_date)
    needs: dict[tuple[int, date], int] = defaultdict(int)
    for line_id, product_id, baskets in lines:
        if product_id not in variants:
            continue
        if line_id in recorded:
            parts = [
                (int(item["product_id"]), int(item.get("quantity", 0)))
                for item in recorded[line_id]
                if item.get("product_id") is not None
            ]
        else:
            parts = current[variants[product_id]]
        for component_id, quantity in parts:
            needs[(swapped.get(component_id, component_id), week)] += quantity * baskets
    supply_release(needs=needs)
    return dict(needs)
