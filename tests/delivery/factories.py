from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone
from oscar.apps.catalogue.models import ProductClass
from oscar.test.factories import (
    BasketFactory,
    CountryFactory,
    ProductFactory,
    ShippingAddressFactory,
    create_order,
)

from delivery.models import (
    ClosedDate,
    DeliveryDate,
    District,
    OrderDelivery,
    Postcode,
    WaitlistEntry,
    Weekday,
)


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District
        django_get_or_create = ("insee_code",)
        skip_postgeneration_save = True

    name = "Paris 13e Arrondissement"
    insee_code = factory.Sequence(lambda n: f"{75200 + n}")
    department = "75"
    latitude = Decimal("48.828718")
    longitude = Decimal("2.362468")
    weekday = Weekday.TUESDAY
    capacity = 100
    is_active = True
    shipping_fee = Decimal("4.90")

    @factory.post_generation
    def postcodes(self, create, extracted, **kwargs):
        if create:
            for code in extracted or ():
                Postcode.objects.get_or_create(code=code, district=self)


def paris_13e(**kwargs) -> District:
    return DistrictFactory(
        name="Paris 13e Arrondissement", insee_code="75113", postcodes=["75013"], **kwargs
    )


class ClosedDateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClosedDate

    district = factory.SubFactory(DistrictFactory)
    reason = "Grève"


class DeliveryDateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryDate

    district = factory.SubFactory(DistrictFactory)
    capacity = 10
    booked = 0


class WaitlistEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WaitlistEntry

    email = factory.Sequence(lambda n: f"voisin{n}@example.org")
    postcode = "93100"
    consent_text = "J'accepte…"
    consented_at = factory.LazyFunction(timezone.now)


def basket_product_class() -> ProductClass:
    product_class, _ = ProductClass.objects.get_or_create(
        slug="panier", defaults={"name": "Panier", "requires_shipping": True, "track_stock": False}
    )
    return product_class


def basket_product(**kwargs):
    """A basket (our product) sold in the shop, with a stock record and a price."""
    kwargs.setdefault("title", "Panier essentiel 2 personnes")
    kwargs.setdefault("stockrecords__price", Decimal("49.90"))
    kwargs.setdefault("stockrecords__price_currency", "EUR")  # Oscar's factory says GBP
    kwargs.setdefault("stockrecords__num_in_stock", 1000)
    return ProductFactory(product_class=basket_product_class(), **kwargs)


def order_in(
    district: District | None,
    *,
    baskets: int = 1,
    email: str = "client@example.org",
    postcode: str | None = None,
    commune: str | None = None,
):
    """An Oscar order of ``baskets`` baskets shipped to the district's first postcode.

    Placing it sends order_placed, so it is booked like any order (district None: an address
    we do not serve, so nothing is booked).
    """
    cart = BasketFactory()
    cart.add_product(basket_product(), quantity=baskets)
    if postcode is None:
        postcode = district.postcodes.first().code if district else "00000"
    address = ShippingAddressFactory(
        postcode=postcode,
        line4=commune if commune is not None else (district.name if district else "Nulle part"),
        country=CountryFactory(iso_3166_1_a2="FR", printable_name="France", name="France"),
    )
    return create_order(basket=cart, shipping_address=address, guest_email=email)


def order_delivery(district: District, *, day, baskets: int = 1, email="client@example.org"):
    """A booked order on ``day`` (booked count included)."""
    order = order_in(None, baskets=baskets, email=email)
    row, _ = DeliveryDate.objects.get_or_create(
        district=district, date=day, defaults={"capacity": district.capacity}
    )
    DeliveryDate.objects.filter(pk=row.pk).update(booked=row.booked + baskets)
    return OrderDelivery.objects.create(
        order=order,
        district=district,
        delivery_date=day,
        requested_date=day,
        baskets=baskets,
    )
