"""Booking capacity on delivery dates, for orders; releasing it.

Capacity is counted in baskets. Booking is a conditional UPDATE
(``SET booked = booked + n WHERE booked + n <= capacity``): PostgreSQL serialises concurrent
updates of one row and re-checks the condition on the row as committed by the previous writer,
so a date can never be overbooked, whatever the number of app servers. A CHECK constraint on
the table (``booked <= capacity``) is the last line of defence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oscar.apps.order.models import Order

from delivery.calendar import delivery_dates_upcoming
from delivery.models import DeliveryDate, District, OrderDelivery
from delivery.postcodes import postcode_lookup

logger = logging.getLogger(__name__)


class DeliveryFullError(Exception):
    """No delivery date with room for this many baskets within the booking horizon."""

    def __init__(self, district: District, quantity: int):
        self.district = district
        self.quantity = quantity
        super().__init__(
            _(
                "Every delivery date in %(district)s is full for the coming weeks. "
                "Please try again later."
            )
            % {"district": district.short_name}
        )


@dataclass(frozen=True)
class Booking:
    district_id: int
    date: date
    # The first date that was asked for; ``date`` is later when that one was full.
    requested_date: date

    @property
    def was_postponed(self) -> bool:
        return self.date != self.requested_date


def _lock_district_for_share(*, district_id: int) -> District:
    """Read the district under a share lock, so a reschedule (which takes FOR UPDATE on the
    district) waits for bookings in flight, and bookings after it see its new weekday."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {District._meta.db_table} WHERE id = %s FOR SHARE",  # noqa: S608
                [district_id],
            )
    # (SQLite, the one-command demo, locks the whole database on write anyway.)
    return District.objects.get(pk=district_id)


def delivery_date_ensure(*, district: District, day: date) -> None:
    """Create the (district, day) row with the district's capacity, unless it exists.

    INSERT ... ON CONFLICT DO NOTHING: two first bookings racing create it once.
    """
    DeliveryDate.objects.bulk_create(
        [DeliveryDate(district=district, date=day, capacity=district.capacity)],
        ignore_conflicts=True,
    )


def delivery_date_book(*, district_id: int, day: date, quantity: int) -> bool:
    """Book ``quantity`` baskets on one date. True if booked, False if it has no room left."""
    district = District.objects.get(pk=district_id)
    delivery_date_ensure(district=district, day=day)
    if quantity == 0:
        return True
    updated = DeliveryDate.objects.filter(
        district_id=district_id, date=day, booked__lte=F("capacity") - quantity
    ).update(booked=F("booked") + quantity, updated_at=timezone.now())
    return updated == 1


def delivery_date_release(*, district_id: int, day: date, quantity: int) -> None:
    """Give ``quantity`` places back on one date (never below zero)."""
    if quantity == 0:
        return
    DeliveryDate.objects.filter(district_id=district_id, date=day, booked__gte=quantity).update(
        booked=F("booked") - quantity, updated_at=timezone.now()
    )


@transaction.atomic
def delivery_book(
    *,
    district_id: int,
    quantity: int,
    now: datetime | None = None,
    requested_date: date | None = None,
) -> Booking:
    """Book the first delivery date with room, from ``requested_date`` (or the next one) on.

    Raises DeliveryFullError when every date within the horizon is full.
    """
    district = _lock_district_for_share(district_id=district_id)
    days = delivery_dates_upcoming(district=district, now=now, not_before=requested_date)
    if not days:
        raise DeliveryFullError(district, quantity)
    for day in days:
        if delivery_date_book(district_id=district_id, day=day, quantity=quantity):
            return Booking(
                district_id=district_id, date=day, requested_date=requested_date or days[0]
            )
    raise DeliveryFullError(district, quantity)


def order_baskets_count(*, order: Order) -> int:
    """Baskets in an order: quantities of lines whose product (or its parent) is a basket."""
    slug = settings.DELIVERY_BASKET_PRODUCT_CLASS_SLUG
    total = order.lines.filter(
        Q(product__product_class__slug=slug) | Q(product__parent__product_class__slug=slug)
    ).aggregate(total=Sum("quantity"))["total"]
    return total or 0


def shipping_code_date(code: str | None) -> date | None:
    """The delivery date a shipping method code carries ("livraison-2026-12-01")."""
    prefix = settings.DELIVERY_SHIPPING_CODE_PREFIX
    if not code or not code.startswith(prefix):
        return None
    try:
        return date.fromisoformat(code.removeprefix(prefix))
    except ValueError:
        return None


@transaction.atomic
def order_delivery_book(*, order_id: int, now: datetime | None = None) -> OrderDelivery | None:
    """Book the order's baskets in its shipping address's district; store where and when.

    Idempotent (one OrderDelivery per order). The date is the one the shopper chose in
    checkout (carried by the shipping method code) or, when it filled up meanwhile or its
    cutoff passed, the next date with room. Returns None for an order without a served
    address. Raises DeliveryFullError when no date has room.
    """
    existing = OrderDelivery.objects.filter(order_id=order_id).first()
    if existing is not None:
        return existing
    order = Order.objects.select_related("shipping_address").get(pk=order_id)
    address = order.shipping_address
    if address is None:
        return None
    lookup = postcode_lookup(postcode=address.postcode, commune=address.line4)
    if lookup.district is None:
        logger.warning(
            "Order %s: no district for postcode %r / %r (%s): not booked",
            order.number,
            address.postcode,
            address.line4,
            lookup.status,
        )
        return None
    baskets = order_baskets_count(order=order)
    booking = delivery_book(
        district_id=lookup.district.pk,
        quantity=baskets,
        now=now,
        requested_date=shipping_code_date(order.shipping_code),
    )
    return OrderDelivery.objects.create(
        order=order,
        district_id=booking.district_id,
        delivery_date=booking.date,
        requested_date=booking.requested_date,
        baskets=baskets,
    )


@transaction.atomic
def order_delivery_release(*, order_delivery_id: int) -> bool:
    """Give an order's places back (cancellation, skipped week). False if already released."""
    delivery = OrderDelivery.objects.select_for_update().get(pk=order_delivery_id)
    if delivery.status != OrderDelivery.Status.BOOKED:
        return False
    delivery_date_release(
        district_id=delivery.district_id, day=delivery.delivery_date, quantity=delivery.baskets
    )
    delivery.status = OrderDelivery.Status.RELEASED
    delivery.save(update_fields=["status", "updated_at"])
    return True
