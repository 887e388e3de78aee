"""Builders for supply tests: placed orders on a delivery date, commitments, stock."""

from __future__ import annotations

from datetime import date

from oscar.test.factories import OrderFactory, OrderLineFactory

from delivery.models import OrderDelivery
from essentiels.oscar_forks.partner.models import StockRecord
from supply.models import SupplyCommitment
from supply.services.weeks import week_of


def order_placed_create(*, variant, quantity: int, district, delivery_date: date, **order):
    """An order of ``quantity`` baskets of ``variant`` booked on ``delivery_date``."""
    placed = OrderFactory(**order)
    placed.lines.all().delete()
    OrderLineFactory(order=placed, product=variant.product, quantity=quantity)
    OrderDelivery.objects.create(
        order=placed,
        district=district,
        delivery_date=delivery_date,
        requested_date=delivery_date,
        baskets=quantity,
    )
    return placed


def stock_set(product, units: int) -> None:
    StockRecord.objects.filter(product=product).update(num_in_stock=units)


def commitment_set(product, day: date, units: int) -> SupplyCommitment:
    commitment, _ = SupplyCommitment.objects.update_or_create(
        product=product, week=week_of(day), defaults={"quantity": units}
    )
    return commitment
