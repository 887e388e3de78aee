"""Builders for subscription tests: a shopper in Paris 13e (delivered on Tuesdays) subscribed
to a published basket, with a fixed "now" around the cutoff of Tuesday 8 December 2026."""

from __future__ import annotations

from datetime import date, datetime

from oscar.test.factories import CountryFactory, UserFactory

from baskets.models import BasketSubscription
from delivery.calendar import PARIS
from tests.baskets.conftest import make_grocery, make_variant
from tests.delivery.factories import paris_13e

DELIVERY = date(2026, 12, 8)  # a Tuesday; cutoff: Sunday 6 December, 12:00 Paris
NEXT_DELIVERY = date(2026, 12, 15)
BEFORE_CUTOFF = datetime(2026, 12, 4, 10, 0, tzinfo=PARIS)  # Friday before
AFTER_CUTOFF = datetime(2026, 12, 6, 13, 0, tzinfo=PARIS)  # Sunday, one hour after


def subscription_create(
    *,
    price: str = "60.00",
    customer_id: str = "cus_test",
    payment_method_id: str = "pm_test",
    quantity: int = 1,
    starts_on: date = date(2026, 12, 1),
    district=None,
    variant=None,
    **fields,
) -> BasketSubscription:
    CountryFactory(iso_3166_1_a2="FR", printable_name="France", name="France")
    district = district or paris_13e()
    variant = variant or make_variant(components={make_grocery(): 2}, price=price)
    user = UserFactory()
    return BasketSubscription.objects.create(
        user=user,
        variant=variant,
        quantity=quantity,
        first_name="Léa",
        last_name="Martin",
        line1="12 rue de Tolbiac",
        line4="Paris",
        postcode="75013",
        country_id="FR",
        district=district,
        starts_on=starts_on,
        stripe_customer_id=customer_id,
        stripe_payment_method_id=payment_method_id,
        **fields,
    )


# --- Changing basket, size and address (tests/baskets/test_subscription_change*.py) ------------

THURSDAY_DELIVERY = date(2026, 12, 10)  # Paris 5e's first Thursday; cutoff Tuesday 8, 12:00


def size_of(variant, *, persons: int, price: str = "110.00", publish: bool = True):
    """Another household size of ``variant``'s basket, with the same composition scaled."""
    from decimal import Decimal

    from baskets.services.catalogue import basket_variant_compose, basket_variant_save
    from baskets.services.rules import basket_variant_publish

    sized = basket_variant_save(
        themed_basket=variant.themed_basket, persons=persons, price=Decimal(price)
    )
    basket_variant_compose(
        variant=sized,
        quantities={c.product_id: c.quantity * persons for c in variant.components.all()},
    )
    if publish:
        basket_variant_publish(variant_id=sized.pk)
    sized.refresh_from_db()
    return sized


def paris_5e_thursday(**kwargs):
    """A district delivered on Thursdays (postcode 75005)."""
    from delivery.models import Weekday
    from tests.delivery.factories import DistrictFactory

    kwargs.setdefault("weekday", Weekday.THURSDAY)
    return DistrictFactory(
        name="Paris 5e Arrondissement", insee_code="75105", postcodes=["75005"], **kwargs
    )


def district_not_open_yet():
    """A commune in our area that we do not deliver yet (postcode 93200)."""
    from tests.delivery.factories import DistrictFactory

    return DistrictFactory(
        name="Saint-Denis",
        insee_code="93066",
        department="93",
        postcodes=["93200"],
        is_active=False,
    )


def new_address(**fields):
    """The address a shopper types when moving (Paris 5e unless told)."""
    from baskets.services.subscriptions import SubscriptionAddress

    values = {
        "first_name": "Léa",
        "last_name": "Martin",
        "line1": "3 rue Mouffetard",
        "line4": "Paris",
        "postcode": "75005",
        "notes": "Code 1234",
    }
    values.update(fields)
    return SubscriptionAddress(**values)
