from __future__ import annotations

from datetime import time
from decimal import Decimal

import factory
from oscar.test.factories import (
    BasketFactory,
    CountryFactory,
    ShippingAddressFactory,
    create_order,
)

from delivery.models import DeliveryDate, OrderDelivery, Weekday
from delivery.routing.models import Bus, Depot
from tests.delivery.factories import basket_product

RUNGIS = (Decimal("48.754600"), Decimal("2.348800"))


class DepotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Depot

    name = "Rungis"
    address = "1 rue de la Tour, 94150 Rungis"
    latitude = RUNGIS[0]
    longitude = RUNGIS[1]
    loading_minutes = 30


class BusFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bus

    name = factory.Sequence(lambda n: f"Bus {n:02d}")
    plate = factory.Sequence(lambda n: f"AB-{n:03d}-CD")
    depot = factory.SubFactory(DepotFactory)
    capacity = 100
    weekdays = factory.LazyFunction(lambda: [Weekday.TUESDAY])
    shift_start = time(9, 0)
    shift_end = time(18, 0)


def order_at(
    district,
    *,
    day,
    line1: str,
    baskets: int = 1,
    postcode: str | None = None,
    email: str = "client@example.org",
    first_name: str = "Camille",
) -> OrderDelivery:
    """A booked order on ``day`` shipped to ``line1`` in the district. The postcode defaults to
    one no district serves, so placing the order books nothing by itself."""
    cart = BasketFactory()
    cart.add_product(basket_product(), quantity=max(baskets, 1))
    address = ShippingAddressFactory(
        first_name=first_name,
        line1=line1,
        line4=district.name,
        postcode=postcode or "75013",
        country=CountryFactory(iso_3166_1_a2="FR", printable_name="France", name="France"),
    )
    order = create_order(basket=cart, shipping_address=address, guest_email=email)
    # order_placed booked it through the postcode lookup when the district serves the postcode;
    # tests want exactly this date and basket count.
    existing = OrderDelivery.objects.filter(order=order).first()
    if existing is not None:
        existing.delete()
    row, _ = DeliveryDate.objects.get_or_create(
        district=district, date=day, defaults={"capacity": 100_000}
    )
    return OrderDelivery.objects.create(
        order=order, district=district, delivery_date=day, requested_date=day, baskets=baskets
    )
